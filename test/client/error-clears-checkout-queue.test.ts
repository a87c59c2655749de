import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CancelledError, WorkerError } from '@forkd/client'
import { outcomes, startEnv, type TestEnv } from '../support/harness.js'

describe('an error on a checkout (scenario 3 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('fails that call once and drops the calls queued behind it, unexecuted', async () => {
    const client = env.client({ name: 'q', reforkAfterError: false })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const results = await outcomes([c.counter(), c.counter(), c.fail('third fails'), c.counter(), c.counter()])
    expect(results).toEqual([
      'ok 1',
      'ok 2',
      'WorkerError: q -> fail: third fails',
      'CancelledError: q -> counter: not run, an earlier call on this checkout failed',
      'CancelledError: q -> counter: not run, an earlier call on this checkout failed',
    ])
    // the two last calls never ran in the worker: the counter continues from 2
    expect(await c.counter()).toBe(3)
    c.release()
  })

  it('gives each dropped call the error that caused it as cause', async () => {
    const client = env.client({ name: 'q2' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const failing = c.failAsync('async failure')
    const dropped = c.echo('never')
    const [failure, cancelled] = await Promise.all([failing.catch((e: unknown) => e), dropped.catch((e: unknown) => e)])
    expect(failure).toBeInstanceOf(WorkerError)
    expect(cancelled).toBeInstanceOf(CancelledError)
    expect((cancelled as CancelledError).cause).toBe(failure)
    expect((cancelled as CancelledError).code).toBe('FORKD_ERR_CANCELLED')
    c.release()
  })

  it('leaves the checkout usable: later calls go to the same worker', async () => {
    const client = env.client({ name: 'q3' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    await expect(c.fail('oops')).rejects.toThrow('q3 -> fail: oops')
    expect(await c.pid()).toBe(c.worker.pid)
    expect(await c.echo('still here')).toBe('still here')
    c.release()
  })
})
