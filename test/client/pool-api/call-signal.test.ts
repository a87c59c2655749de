/**
 * Per-call signals through `c.with({ signal })`: aborting the signal while a call made through that
 * view is outstanding aborts the checkout (the worker is killed); once the call settled, the
 * signal no longer matters, and calls made through other views never listen to it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AbortedError } from '@forkd/client'
import { isAlive, startEnv, waitForExit, type TestEnv } from '../../support/harness.js'

describe('c.with({ signal })', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('aborted while its call runs: that call rejects with AbortedError, the worker is killed, the checkout is fatal', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const controller = new AbortController()
    const running = c.with({ signal: controller.signal }).sleep(5_000)
    setTimeout(() => controller.abort(new Error('request cancelled')), 100)
    const error = await running.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as AbortedError).message).toBe('request cancelled')
    expect(((error as AbortedError).cause as Error).message).toBe('request cancelled')
    await expect(c.echo('after')).rejects.toBe(error)
    await waitForExit([pid])
    c.release()
    expect(client.stats().retired.fatal).toBe(1)
  })

  it('aborted after its call settled: nothing happens; the checkout and the worker keep working', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const controller = new AbortController()
    expect(await c.with({ signal: controller.signal }).echo('done')).toBe('done')
    // A call made through the plain checkout does not listen to the view's signal.
    const other = c.sleep(200)
    controller.abort('too late')
    expect(await other).toBe(200)
    expect(await c.pid()).toBe(pid)
    c.release()
    expect(isAlive(pid)).toBe(true)
    expect(client.stats().retired.fatal).toBe(0)
  })

  it('already aborted: the call is not sent and the checkout is aborted at once', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const error = await c.with({ signal: AbortSignal.abort('no') }).echo('x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as AbortedError).message).toBe('no')
    await waitForExit([pid])
    c.release()
  })
})

describe('run(fn, { signal })', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('aborted while waiting for a worker: rejects with AbortError and never calls fn', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const held = await client.checkout()
    env.pids.add(held.worker.pid)
    const controller = new AbortController()
    let called = false
    const waiting = client.run(() => (called = true), { signal: controller.signal })
    controller.abort('gave up')
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError', code: 'FORKD_ERR_ABORT', cause: 'gave up' })
    expect(called).toBe(false)
    held.release()
    expect(client.stats()).toMatchObject({ pending: 0, checkouts: 1 })
  })

  it('aborted while fn awaits a call: rejects with AbortedError, the worker is killed and replaced', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const controller = new AbortController()
    let pid = 0
    const running = client.run(async (c) => {
      pid = c.worker.pid
      env.pids.add(pid)
      setTimeout(() => controller.abort('shutting down'), 100)
      return c.sleep(5_000)
    }, { signal: controller.signal })
    const error = await running.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as AbortedError).message).toBe('shutting down')
    await waitForExit([pid])
    const next = await client.run((c) => c.pid())
    env.pids.add(next)
    expect(next).not.toBe(pid)
  })
})
