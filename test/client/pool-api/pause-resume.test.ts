/**
 * `client.pause()` / `client.resume()`: while paused no checkout is granted, even with idle workers;
 * waiting checkouts stay queued with their timeouts running; checkouts already held keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TimeoutError } from '@forkd/client'
import { startEnv, waitFor, warm, type TestEnv } from '../../support/harness.js'

describe('pause() and resume()', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('grants nothing while paused, keeps held checkouts working, lets waiting timeouts run, and serves the rest on resume', async () => {
    const client = env.client({ minWorkers: 3, maxWorkers: 3, timeout: 10_000 })
    await warm(client, 3)
    const held = await client.checkout()
    env.pids.add(held.worker.pid)
    expect(client.stats().paused).toBe(false)

    client.pause()
    expect(client.stats().paused).toBe(true)
    const granted: string[] = []
    const a = client.checkout().then((c) => (granted.push('a'), c))
    const b = client.checkout({ priority: 1 }).then((c) => (granted.push('b'), c))
    const short = client.checkout({ timeout: 300 }).catch((e: unknown) => e)
    // The held checkout is not disturbed: its calls run, and releasing it grants nothing.
    expect(await held.echo('still works')).toBe('still works')
    held.release()
    // Nothing happens while paused: idle workers stay idle, checkouts stay queued.
    const error = await short
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).message).toBe('checkout timed out after 0.3 seconds waiting for a worker: the client is paused (pause())')
    await waitFor(() => client.stats().idle === 3, 'the released worker back in the pool')
    expect(granted).toEqual([])
    expect(client.stats()).toMatchObject({ paused: true, pending: 2, idle: 3, busy: 0 })

    client.resume()
    expect(client.stats().paused).toBe(false)
    const [ca, cb] = await Promise.all([a, b])
    // b has the higher priority: served first.
    expect(granted).toEqual(['b', 'a'])
    for (const c of [ca!, cb!]) env.pids.add(c.worker.pid)
    expect(await ca!.echo('a')).toBe('a')
    ca!.release()
    cb!.release()
    expect(client.stats()).toMatchObject({ pending: 0, checkouts: 3 })
  })

  it('pause() twice and resume() twice are harmless; a checkout made after resume() is granted at once', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    await warm(client)
    client.pause()
    client.pause()
    client.resume()
    client.resume()
    expect(client.stats().paused).toBe(false)
    const pid = await client.run((c) => c.pid())
    env.pids.add(pid)
    expect(client.stats()).toMatchObject({ paused: false, checkouts: 1 })
  })
})
