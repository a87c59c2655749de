/**
 * `client.drain()`: refuses new checkouts at once (ClientClosedError), serves the ones already
 * waiting, resolves only once every checkout is released, then the client is closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CancelledError, ClientClosedError } from '@forkd/client'
import { startEnv, waitForExit, type TestEnv } from '../../support/harness.js'

describe('client.drain()', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('refuses new checkouts, serves the waiting one, waits for it to be released, then closes', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const held = await client.checkout()
    const pid = held.worker.pid
    env.pids.add(pid)
    const waiting = client.checkout()
    expect(client.stats().pending).toBe(1)

    let drained = false
    const draining = client.drain().then(() => (drained = true))
    expect(client.drain()).toBe(client.drain())

    // A new checkout is refused at once, and the waiting one is not disturbed.
    const refused = await client.checkout().catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(ClientClosedError)
    expect((refused as ClientClosedError).code).toBe('FORKD_ERR_CLIENT_CLOSED')
    await expect(client.run(() => 1)).rejects.toBeInstanceOf(ClientClosedError)
    expect(client.stats().pending).toBe(1)

    held.release()
    const c = await waiting
    expect(c.worker.pid).toBe(pid)
    expect(await c.echo('served while draining')).toBe('served while draining')
    // Nothing happens during this time: drain() waits for this checkout.
    await new Promise((r) => setTimeout(r, 300))
    expect(drained).toBe(false)
    expect(client.stats()).toMatchObject({ busy: 1, workers: 1 })

    c.release()
    await draining
    expect(drained).toBe(true)
    expect(client.stats()).toMatchObject({ workers: 0, pending: 0 })
    await expect(client.checkout()).rejects.toBeInstanceOf(ClientClosedError)
    // Closed: the worker's connection is gone, so the server ended the worker.
    await waitForExit([pid])
  })

  it('with nothing checked out, resolves at once and closes the client', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    const pid = await client.run((c) => c.pid())
    env.pids.add(pid)
    await client.drain()
    expect(client.stats().workers).toBe(0)
    await expect(client.checkout()).rejects.toBeInstanceOf(ClientClosedError)
    await waitForExit([pid])
  })

  it('close() during a drain ends it at once: the held checkout fails and drain() resolves', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const held = await client.checkout()
    env.pids.add(held.worker.pid)
    const running = held.sleep(5_000).catch((e: unknown) => e)
    const draining = client.drain()
    await client.close()
    await draining
    // Closed in the turn the call was made, before it was sent: it never ran (CancelledError).
    const error = await running
    expect(error).toBeInstanceOf(CancelledError)
    expect((error as CancelledError).cause).toBeInstanceOf(ClientClosedError)
    expect(client.stats()).toMatchObject({ workers: 0, busy: 0 })
    held.release()
  })
})
