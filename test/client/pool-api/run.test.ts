/**
 * `client.run(fn)`: checks a worker out, calls `fn` with it, releases it and resolves with `fn`'s
 * value. A throw releases with the error, so refork-after-error replaces the worker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkerError } from '@forkd/client'
import { startEnv, waitFor, waitForExit, type TestEnv } from '../../support/harness.js'

describe('client.run(fn)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it("resolves with fn's value, and releases: the next checkout reuses the same worker", async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    const first = await client.run(async (c) => {
      env.pids.add(c.worker.pid)
      return { pid: await c.pid(), sum: await c.add(2, 3) }
    })
    expect(first.sum).toBe(5)
    expect(client.stats()).toMatchObject({ busy: 0, pending: 0, checkouts: 1 })
    // Synchronous values work too.
    const pid = await client.run((c) => c.worker.pid)
    expect(pid).toBe(first.pid)
    expect(client.stats()).toMatchObject({ workers: 1, checkouts: 2, retired: { error: 0 } })
  })

  it('rejects with what fn threw and releases with it: refork after error gives the next checkout another worker', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    let seen: number | undefined
    const thrown = new Error('caller gave up')
    await expect(client.run(async (c) => {
      seen = c.worker.pid
      env.pids.add(seen)
      await c.echo('ok')
      throw thrown
    })).rejects.toBe(thrown)
    await waitForExit([seen!])
    const next = await client.run((c) => c.pid())
    env.pids.add(next)
    expect(next).not.toBe(seen)
    expect(client.stats().retired.error).toBe(1)
  })

  it("a WorkerError from a call inside fn rejects run() with it, and that worker is replaced too", async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    let seen: number | undefined
    const error = await client.run(async (c) => {
      seen = c.worker.pid
      env.pids.add(seen)
      return c.fail('boom')
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerError)
    expect((error as WorkerError).message).toBe('-> fail: boom')
    await waitFor(() => client.stats().retired.error === 1, 'the worker to be retired')
    const next = await client.run((c) => c.pid())
    env.pids.add(next)
    expect(next).not.toBe(seen)
  })

  it('rejects a first argument that is not a function with a TypeError, checking nothing out', async () => {
    const client = env.client({ minWorkers: 0, maxWorkers: 1 })
    await expect(client.run(42 as never)).rejects.toThrow(new TypeError('forkd run: the first argument must be a function, got number'))
    expect(client.stats()).toMatchObject({ checkouts: 0, pending: 0 })
  })
})
