/**
 * `checkout({ signal })`: aborted while the checkout waits, it leaves the queue and rejects with
 * AbortError (cause: the signal's reason) without disturbing the other waiters; aborted while a
 * call runs, the checkout is aborted as `c.abort(reason)` does (the worker is killed); already
 * aborted, it rejects at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AbortError, AbortedError, ForkdError } from '@forkd/client'
import { isAlive, outcomes, startEnv, waitFor, waitForExit, warm, type TestEnv } from '../../support/harness.js'

describe('checkout({ signal })', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('aborted while waiting: rejects with AbortError whose cause is the reason; the waiters before and after it are served in order', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const held = await client.checkout()
    env.pids.add(held.worker.pid)
    const controller = new AbortController()
    const served: string[] = []
    const serve = (name: string, options = {}) => client.checkout(options).then((c) => {
      served.push(`${name} ${c.worker.pid === held.worker.pid ? 'same worker' : c.worker.pid}`)
      c.release()
      return name
    })
    const before = serve('before')
    const aborted = serve('aborted', { signal: controller.signal })
    const after = serve('after')
    expect(client.stats().pending).toBe(3)

    const reason = new Error('the user left')
    controller.abort(reason)
    const error = await aborted.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toBeInstanceOf(ForkdError)
    expect(error).toMatchObject({ name: 'AbortError', code: 'FORKD_ERR_ABORT', message: 'checkout aborted while waiting for a worker: the user left' })
    expect((error as AbortError).cause).toBe(reason)
    // It left the queue at once; the other two still wait, untouched.
    expect(client.stats().pending).toBe(2)

    held.release()
    expect(await outcomes([before, after])).toEqual(['ok "before"', 'ok "after"'])
    expect(served).toEqual(['before same worker', 'after same worker'])
    expect(client.stats()).toMatchObject({ pending: 0, busy: 0, checkouts: 3 })
  })

  it('aborted while a call runs: the call rejects with AbortedError (the reason as message and cause), the worker process is killed, the checkout is fatal', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const controller = new AbortController()
    const c = await client.checkout({ signal: controller.signal })
    const pid = c.worker.pid
    env.pids.add(pid)
    const running = c.sleep(5_000)
    const queued = c.echo('never')
    // Both calls are on the wire (sent at the end of this turn) well before the signal fires.
    setTimeout(() => controller.abort('operator cancelled'), 100)
    const error = await running.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect(error).toMatchObject({ code: 'FORKD_ERR_ABORTED', message: 'operator cancelled', cause: 'operator cancelled' })
    // Sent before the abort, so it may have started: it rejects with the same error.
    await expect(queued).rejects.toBe(error)
    await expect(c.echo('later')).rejects.toBe(error)
    await waitForExit([pid])
    c.release()
    const next = await client.run((d) => d.pid())
    env.pids.add(next)
    expect(next).not.toBe(pid)
    expect(client.stats().retired.fatal).toBe(1)
  })

  it('already aborted: rejects at once with AbortError, even with an idle worker, and checks nothing out', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    await warm(client)
    // The default reason: a DOMException named AbortError.
    const signal = AbortSignal.abort()
    const error = await client.checkout({ signal }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toMatchObject({ name: 'AbortError', code: 'FORKD_ERR_ABORT', message: 'checkout aborted before it was made: This operation was aborted' })
    expect((error as AbortError).cause).toBe(signal.reason)
    // run() refuses the same way, without calling its function.
    let called = false
    await expect(client.run(() => (called = true), { signal })).rejects.toBeInstanceOf(AbortError)
    expect(called).toBe(false)
    expect(client.stats()).toMatchObject({ checkouts: 0, pending: 0, idle: 1 })
  })

  it('aborted after the checkout was released: nothing happens, the worker is reused', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    const controller = new AbortController()
    const c = await client.checkout({ signal: controller.signal })
    const pid = await c.pid()
    env.pids.add(pid)
    c.release()
    controller.abort('after the fact')
    await waitFor(() => client.stats().idle === 1, 'the worker back in the pool')
    expect(await client.run((d) => d.pid())).toBe(pid)
    expect(isAlive(pid)).toBe(true)
    expect(client.stats().retired).toMatchObject({ fatal: 0, error: 0 })
  })
})
