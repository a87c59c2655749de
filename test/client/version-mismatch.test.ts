import { afterEach, describe, expect, it } from 'vitest'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { Client, ProtocolError, TimeoutError, VersionMismatchError } from '@forkd/client'
import { startFakeWorker } from '../support/fake-worker.js'
import { tempDir } from '../support/harness.js'

describe('a client and a worker of incompatible protocol versions', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('refuse each other at the upgrade: the checkout times out with VersionMismatchError as its cause', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'v2.sock')
    // What a worker that speaks only forkd.v2 answers to a client offering forkd.v1.
    const offered: string[] = []
    const http = createServer()
    http.on('upgrade', (req, socket) => {
      offered.push(String(req.headers['sec-websocket-protocol']))
      const why = `protocol version mismatch: this worker speaks forkd.v2, the client offered ${req.headers['sec-websocket-protocol']}`
      socket.end(`HTTP/1.1 426 Upgrade Required\r\nX-Forkd-Error: ${why}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    })
    await new Promise<void>((resolve) => http.listen(path, resolve))
    cleanups.push(() => new Promise((r) => http.close(r)))
    const client = new Client({ connect: path, minWorkers: 0, timeout: 500 })
    cleanups.push(() => client.close())
    const error = await client.checkout().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).cause).toBeInstanceOf(VersionMismatchError)
    expect(((error as TimeoutError).cause as VersionMismatchError).code).toBe('FORKD_ERR_VERSION_MISMATCH')
    expect(((error as TimeoutError).cause as Error).message).toContain('this worker speaks forkd.v2, the client offered forkd.v1')
    expect(offered[0]).toBe('forkd.v1')
  })

  it('refuse each other when the hello names another version', async () => {
    const fake = await startFakeWorker({ v: 2 })
    cleanups.push(() => fake.close())
    const client = new Client({ connect: fake.path, minWorkers: 0, timeout: 500 })
    cleanups.push(() => client.close())
    const error = await client.checkout().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    // One class per code: the same VersionMismatchError as at the upgrade, not a ProtocolError.
    expect((error as TimeoutError).cause).toBeInstanceOf(VersionMismatchError)
    expect((error as TimeoutError).cause).not.toBeInstanceOf(ProtocolError)
    expect(((error as TimeoutError).cause as VersionMismatchError).code).toBe('FORKD_ERR_VERSION_MISMATCH')
    expect(((error as TimeoutError).cause as Error).message).toBe('worker speaks protocol version 2, this client 1')
  })
})
