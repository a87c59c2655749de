import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, type TestEnv } from '../support/harness.js'

describe('checkoutDone', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('runs in the worker on every release, before the next checkout of that worker', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1 })
    for (let round = 0; round < 3; round++) {
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      expect(await c.doneRuns()).toBe(round)
      c.release()
    }
    expect(env.pids.size).toBe(1)
  })

  it('runs after calls that were still in flight when release() was called', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1 })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const before = await c.doneRuns()
    const slow = c.sleep(50)
    c.release()
    expect(await slow).toBe(50)
    const next = await client.checkout()
    expect(next.worker.pid).toBe(c.worker.pid)
    expect(await next.doneRuns()).toBe(before + 1)
    next.release()
  })
})
