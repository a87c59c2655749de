import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, waitFor, type TestEnv } from '../support/harness.js'

describe('a surge of checkouts (scenario 10 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('serves 100 checkouts with maxWorkers 5, each with its own argument, on at most 5 workers', async () => {
    const client = env.client({ maxWorkers: 5 })
    let concurrent = 0
    let peak = 0
    const results = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const c = await client.checkout()
        concurrent++
        peak = Math.max(peak, concurrent)
        env.pids.add(c.worker.pid)
        try {
          // long enough that two workers cannot serve the surge alone
          await c.sleep(20)
          return await c.echo({ i, tag: `arg-${i}` })
        } finally {
          concurrent--
          c.release()
        }
      }),
    )
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => ({ i, tag: `arg-${i}` })))
    expect(peak).toBe(5)
    expect(env.pids.size).toBe(5)
    // the last releases wait for the worker's checkoutDone acknowledgement
    await waitFor(() => client.stats().idle === 5, 'every worker back in the pool')
    expect(client.stats()).toMatchObject({ workers: 5, idle: 5, busy: 0, pending: 0, checkouts: 100 })
  })
})
