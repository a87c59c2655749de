import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SetupError } from '@forkd/client'
import { startEnv, waitForExit, type TestEnv } from '../support/harness.js'

describe('a setup that throws (scenario 8 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('setup-error-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('reaches the caller as "setup exception: ..." and the worker is replaced', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1 })
    const seen: number[] = []
    for (let i = 0; i < 2; i++) {
      const c = await client.checkout()
      seen.push(c.worker.pid)
      env.pids.add(c.worker.pid)
      const error = await c.pid().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(SetupError)
      expect((error as SetupError).message).toBe(`setup exception: cannot open the database (pid ${c.worker.pid})`)
      expect((error as SetupError).code).toBe('FORKD_ERR_SETUP')
      // fatal: the next call fails the same way without reaching the worker
      await expect(c.pid()).rejects.toBe(error)
      c.release()
    }
    expect(seen[0]).not.toBe(seen[1])
    await waitForExit(seen)
  })
})
