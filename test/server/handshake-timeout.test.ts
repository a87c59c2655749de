import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startEnv, waitFor, waitForExit, workerChildren, type TestEnv } from '../support/harness.js'
import WebSocket from 'ws'

const handshakeTimeout = 1_000

interface Ended {
  /** Everything the worker wrote before the connection ended. */
  text: string
  /** Milliseconds from connecting until the socket closed. */
  after: number
}

/** Opens a bare socket to the server, writes `send` (if any) once connected, and reports how it ended. */
function openRaw(path: string, send?: string): Promise<Ended> {
  const startedAt = Date.now()
  return new Promise((resolve) => {
    const socket: Socket = connect(path, () => {
      if (send !== undefined) socket.write(send)
    })
    let text = ''
    socket.on('data', (d) => (text += d))
    socket.on('error', () => {})
    socket.on('close', () => resolve({ text, after: Date.now() - startedAt }))
  })
}

/** Waits until the server has exactly one ready spare and nothing else, and returns its pid. */
async function theOneSpare(env: TestEnv): Promise<number> {
  await waitFor(() => {
    const s = env.server.status()
    return s.spares === 1 && s.active === 0 && s.starting === 0 && s.ending === 0 && s.pending === 0 && workerChildren().length === 1
  }, 'one ready spare and nothing else')
  return workerChildren()[0]!
}

describe('handshakeTimeout', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  /** After a bad connection: its worker is gone, the server is back to one spare, and a real client is served. */
  async function expectRecovered(badPid: number): Promise<void> {
    await waitForExit([badPid])
    const spare = await theOneSpare(env!)
    expect(spare).not.toBe(badPid)
    const client = env!.client<{ echo(x: string): string }>({ minWorkers: 0 })
    const c = await client.checkout({ timeout: 10_000 })
    try {
      expect(await c.echo('served')).toBe('served')
    } finally {
      c.release()
    }
    await client.close()
  }

  it.each([
    ['connects and never speaks', undefined],
    ['sends half an HTTP upgrade', 'GET /forkd HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n'],
    ['sends a request line and stops mid-line', 'GET /fo'],
  ])('closes a connection that %s after about handshakeTimeout, and its worker exits', async (_what, send) => {
    env = await startEnv('plain-worker.mjs', { spares: 1, maxWorkers: 4, handshakeTimeout })
    const pid = await theOneSpare(env)
    const ended = await openRaw(env.path, send)
    expect(ended.text).toBe('')
    // The deadline, not something else, closed it: not before handshakeTimeout, and not much after.
    expect(ended.after).toBeGreaterThanOrEqual(handshakeTimeout * 0.9)
    expect(ended.after).toBeLessThan(handshakeTimeout + 5_000)
    await expectRecovered(pid)
    expect(env.server.status().refused).toBe(0)
  })

  it.each([
    ['a wrong subprotocol', '/forkd', 'forkd.v999', /^HTTP\/1\.1 426 Upgrade Required\r\nX-Forkd-Error: protocol version mismatch: this worker speaks forkd\.v1, the client offered forkd\.v999\r\n/],
    ['no subprotocol', '/forkd', undefined, /^HTTP\/1\.1 426 Upgrade Required\r\nX-Forkd-Error: protocol version mismatch: this worker speaks forkd\.v1, the client offered nothing\r\n/],
    ['a wrong path', '/elsewhere', 'forkd.v1', /^HTTP\/1\.1 404 Not Found\r\nX-Forkd-Error: no such forkd endpoint: \/elsewhere\r\n/],
  ])('refuses an upgrade with %s at once, and its worker exits', async (_what, path, protocol, response) => {
    env = await startEnv('plain-worker.mjs', { spares: 1, maxWorkers: 4, handshakeTimeout: 20_000 })
    const pid = await theOneSpare(env)
    const key = Buffer.from('0123456789abcdef').toString('base64')
    const ended = await openRaw(env.path, `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`)
    expect(ended.text).toMatch(response)
    // Refused on the spot: the 20 s handshakeTimeout plays no part.
    expect(ended.after).toBeLessThan(10_000)
    await expectRecovered(pid)
  })

  it('refuses an upgrade ws itself rejects (no Sec-WebSocket-Key) with 400, and its worker exits', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1, maxWorkers: 4, handshakeTimeout: 20_000 })
    const pid = await theOneSpare(env)
    const ended = await openRaw(env.path, 'GET /forkd HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: forkd.v1\r\n\r\n')
    expect(ended.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
    expect(ended.after).toBeLessThan(10_000)
    await expectRecovered(pid)
  })

  it('lets a worker whose client hung up before the upgrade exit at once, without waiting for handshakeTimeout', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1, maxWorkers: 4, handshakeTimeout: 60_000 })
    const pid = await theOneSpare(env)
    const socket = connect(env.path)
    socket.on('error', () => {})
    await waitFor(() => env!.server.status().active === 1, 'the connection to be handed to the worker')
    socket.destroy()
    // 60 s handshakeTimeout: an exit within the wait below can only come from noticing the hang-up.
    await waitForExit([pid], 15_000)
    await expectRecovered(pid)
  })

  it('still serves a client that completes the upgrade just before the deadline', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1, maxWorkers: 4, handshakeTimeout: 3_000 })
    const pid = await theOneSpare(env)
    const socket = connect(env.path)
    socket.on('error', () => {})
    await new Promise((r) => socket.once('connect', r))
    await new Promise((r) => setTimeout(r, 500))
    // Upgrade over the already-open socket.
    const ws = new WebSocket('ws://localhost/forkd', 'forkd.v1', { createConnection: () => socket })
    const hello = await new Promise<Buffer>((resolve, reject) => {
      ws.once('message', (d) => resolve(d as Buffer))
      ws.once('error', reject)
    })
    expect(hello[0]).toBe(0x82) // CBOR array of two: [0, {...}]
    // Past the deadline, the upgraded connection is still open.
    await new Promise((r) => setTimeout(r, 3_000))
    expect(ws.readyState).toBe(WebSocket.OPEN)
    ws.close()
    await waitForExit([pid])
  })
})
