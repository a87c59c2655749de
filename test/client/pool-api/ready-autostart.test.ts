/**
 * `client.ready()` resolves once `minWorkers` workers are connected and idle; `autostart: false`
 * connects nothing until the first `checkout()` or `ready()`. ready() rejects with
 * ClientClosedError (cause: the last connection error) if the client closes first.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, ClientClosedError, ConnectError } from '@forkd/client'
import { startEnv, tempDir, waitFor, type TestEnv } from '../../support/harness.js'

describe('ready() and autostart', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs', { spares: 3 })
  })
  afterAll(() => env.cleanup())

  it('with autostart: false nothing connects until ready(), which resolves once minWorkers are idle', async () => {
    await waitFor(() => env.server.status().spares === 3, 'three spares')
    const client = env.client({ minWorkers: 2, maxWorkers: 4, autostart: false })
    client.on('connect', (worker) => env.pids.add(worker.pid))
    // Nothing happens during this time: no connection reaches the server.
    await new Promise((r) => setTimeout(r, 300))
    expect(env.server.status()).toMatchObject({ active: 0, spares: 3 })
    expect(client.stats()).toMatchObject({ workers: 0, connecting: 0, connectFailures: 0 })

    await client.ready()
    expect(client.stats()).toMatchObject({ workers: 2, idle: 2, connecting: 0 })
    expect(env.server.status().active).toBe(2)
    // Already ready: resolves again at once.
    await client.ready()
    await client.close()
    await waitFor(() => env.server.status().active === 0, 'the server to see both connections end')
  })

  it('with autostart: false the first checkout() starts connecting, and minWorkers are kept from then on', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 4, autostart: false, timeout: 10_000 })
    client.on('connect', (worker) => env.pids.add(worker.pid))
    await new Promise((r) => setTimeout(r, 100))
    expect(client.stats().workers).toBe(0)
    const pid = await client.run((c) => c.pid())
    env.pids.add(pid)
    await waitFor(() => client.stats().idle === 2, 'minWorkers idle workers')
    expect(env.server.status().active).toBe(2)
    await client.close()
    await waitFor(() => env.server.status().active === 0, 'the server to see both connections end')
  })

  it('with autostart on (the default), ready() resolves once minWorkers are connected and idle', async () => {
    const client = env.client({ minWorkers: 3, maxWorkers: 4 })
    client.on('connect', (worker) => env.pids.add(worker.pid))
    await client.ready()
    expect(client.stats()).toMatchObject({ workers: 3, idle: 3 })
    await client.close()
  })

  it('rejects with ClientClosedError, the last connection error as cause, when the client closes first; and after close at once', async () => {
    const dir = tempDir()
    try {
      const client = new Client({ connect: join(dir, 'nobody.sock'), minWorkers: 1, autostart: false })
      const ready = client.ready().catch((e: unknown) => e)
      await waitFor(() => client.stats().connectFailures > 0, 'a failed connection attempt')
      await client.close()
      const error = await ready
      expect(error).toBeInstanceOf(ClientClosedError)
      expect((error as Error).cause).toBeInstanceOf(ConnectError)
      expect(((error as Error).cause as Error).message).toContain(join(dir, 'nobody.sock'))
      await expect(client.ready()).rejects.toBeInstanceOf(ClientClosedError)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
