/**
 * `propagateConnectError: true`: a failed connection attempt rejects the oldest waiting checkout at
 * once with its ConnectError instead of retrying until the checkout's timeout. Without it, the
 * checkout keeps waiting and times out with the connection error as its cause.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, ConnectError, TimeoutError } from '@forkd/client'
import { tempDir } from '../../support/harness.js'

describe('propagateConnectError', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function noServer(options: { propagateConnectError?: boolean }) {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'nobody.sock')
    const client = new Client({ connect: path, minWorkers: 0, maxWorkers: 2, ...options })
    cleanups.push(() => client.close())
    return { client, path }
  }

  it('true, with no server: each waiting checkout rejects with the ConnectError, oldest first, well under its timeout', async () => {
    const { client, path } = noServer({ propagateConnectError: true })
    const started = Date.now()
    const order: string[] = []
    const first = client.checkout({ timeout: 20_000 }).catch((e: unknown) => (order.push('first'), e))
    const second = client.checkout({ timeout: 20_000 }).catch((e: unknown) => (order.push('second'), e))
    const [a, b] = await Promise.all([first, second])
    for (const error of [a, b]) {
      expect(error).toBeInstanceOf(ConnectError)
      expect((error as ConnectError).code).toBe('FORKD_ERR_CONNECT')
      expect((error as Error).message).toContain(path)
    }
    expect(order).toEqual(['first', 'second'])
    // Loose bound: the timeout is 20 s; the failures come within milliseconds (ENOENT, then a short backoff).
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(client.stats().pending).toBe(0)
  })

  it('false (the default): the checkout keeps waiting, and times out with the ConnectError as cause', async () => {
    const { client, path } = noServer({})
    const error = await client.checkout({ timeout: 600 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).message).toMatch(/^checkout timed out after 0\.6 seconds waiting for the server \(cannot connect to the forkd server at /)
    expect((error as Error).cause).toBeInstanceOf(ConnectError)
    expect(((error as Error).cause as Error).message).toContain(path)
    expect(client.stats().connectFailures).toBeGreaterThanOrEqual(2)
  })
})
