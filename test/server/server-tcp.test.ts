import { Codec, SUBPROTOCOL } from '@forkd/protocol'
import WebSocket from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { Server } from '@forkd/server'
import { fixture, quietLogger, workerChildren } from '../support/harness.js'

describe('Server on TCP', () => {
  let server: Server | undefined
  afterEach(async () => {
    await server?.close({ drain: false })
    expect(workerChildren()).toEqual([])
  })

  it('listens on the host and port given, reporting the real port for port 0', async () => {
    server = await Server.start({ listen: { host: '127.0.0.1', port: 0 }, insecure: true, worker: fixture('plain-worker.mjs'), logger: quietLogger, spares: 1 })
    const address = server.address as { host: string; port: number }
    expect(address.host).toBe('127.0.0.1')
    expect(address.port).toBeGreaterThan(0)
    const ws = new WebSocket(`ws://127.0.0.1:${address.port}/forkd`, SUBPROTOCOL)
    const hello = await new Promise<unknown>((resolve, reject) => {
      ws.once('message', (data) => resolve(new Codec().decodeFrame(data as Buffer)[0]))
      ws.once('error', reject)
    })
    expect(hello).toMatchObject([0, { serverPid: process.pid }])
    ws.close()
  })
})
