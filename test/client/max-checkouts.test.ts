import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import { startEnv, waitForExit, type TestEnv } from '../support/harness.js'

describe('maxCheckouts (scenario 6 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('retires a worker after N checkouts; the server keeps working after the worker exits', async () => {
    const client = env.client({ maxCheckouts: 2, maxWorkers: 1, minWorkers: 1 })
    const pids: number[] = []
    for (let i = 0; i < 5; i++) {
      const c = await client.checkout()
      pids.push(await c.pid())
      env.pids.add(c.worker.pid)
      c.release()
    }
    expect(pids[0]).toBe(pids[1])
    expect(pids[2]).not.toBe(pids[1])
    expect(pids[2]).toBe(pids[3])
    expect(pids[4]).not.toBe(pids[3])
    await waitForExit([pids[0]!, pids[2]!])
    // an exiting worker never removes the server's socket file
    expect(existsSync(env.path)).toBe(true)
    expect(client.stats().retired.maxCheckouts).toBe(2)
  })
})
