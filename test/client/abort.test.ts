import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AbortedError } from '@forkd/client'
import { startEnv, waitFor, waitForExit, type TestEnv } from '../support/harness.js'

describe('checkout.abort (scenario 5 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('fails the running call with the abort reason, kills the worker, and is sticky', async () => {
    const client = env.client({ name: 'ab', timeout: 10_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const slow = c.sleep(5_000)
    const queued = c.echo('queued')
    setTimeout(() => c.abort('user pressed cancel'), 50)
    const error = await slow.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as AbortedError).message).toBe('user pressed cancel')
    expect((error as AbortedError).code).toBe('FORKD_ERR_ABORTED')
    await expect(queued).rejects.toBe(error)
    await expect(c.echo('later')).rejects.toBe(error)
    await expect(c.pid()).rejects.toBe(error)
    await waitForExit([pid])
    c.release()
    await waitFor(() => client.stats().workers === 2, 'the pool to refill')
    expect(client.stats()).toMatchObject({ busy: 0, pending: 0 })
  })
})
