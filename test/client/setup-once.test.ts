import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, type TestEnv } from '../support/harness.js'

describe('setup (scenario 9 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('runs once per worker process, and its state is seen by every checkout of that worker', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1 })
    const first = await client.checkout()
    const pid = first.worker.pid
    env.pids.add(pid)
    expect(await first.setupRuns()).toBe(1)
    expect(await first.counter()).toBe(1)
    first.release()
    const second = await client.checkout()
    expect(second.worker.pid).toBe(pid)
    expect(await second.setupRuns()).toBe(1)
    expect(await second.counter()).toBe(2)
    second.release()
  })
})
