import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, type TestEnv } from '../support/harness.js'

describe('pending checkouts (scenario 7 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('are served strictly in the order they were made when maxWorkers is 1', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1 })
    const served: number[] = []
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const c = await client.checkout()
        env.pids.add(c.worker.pid)
        served.push(i)
        await c.echo(i)
        c.release()
      }),
    )
    expect(served).toEqual(Array.from({ length: 30 }, (_, i) => i))
    expect(client.stats()).toMatchObject({ workers: 1, busy: 0, pending: 0, checkouts: 30 })
  })
})
