/**
 * Issue 18 (1, 11, 8): a worker that exits while its client holds the connection has died, whatever
 * its exit code: the server closes the connection with 4003 and a structured reason, after the
 * worker's own `bye`. A connection that is over (closed by either side, refused) gets no word from
 * the server; every HTTP answer carries X-Forkd-Error.
 */
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { STATUS_PATH, refusalResponse } from '@forkd/protocol'
import { startEnv, waitFor, waitForExit, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'
import { encodeFrame, upgradeRequest } from '../support/raw-websocket.js'

/**
 * Writes `request` (then `after`, once the 101 is in), answers the worker's close frame as a client
 * must, reads until the socket closes, and splits what came back: the HTTP head, the frames, and any
 * bytes after them.
 */
function exchange(path: string, request: string, after?: Buffer): Promise<{ head: string; frames: { opcode: number; payload: Buffer }[]; rest: Buffer }> {
  return new Promise((resolve) => {
    const socket = connect(path, () => socket.write(request))
    let head: string | undefined
    let rest = Buffer.alloc(0)
    const frames: { opcode: number; payload: Buffer }[] = []
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      rest = Buffer.concat([rest, chunk])
      if (head === undefined) {
        const end = rest.indexOf('\r\n\r\n')
        if (end === -1) return
        head = rest.subarray(0, end + 4).toString('latin1')
        rest = rest.subarray(end + 4)
        if (head.startsWith('HTTP/1.1 101 ') && after !== undefined) socket.write(after)
      }
      if (!head.startsWith('HTTP/1.1 101 ')) return
      // Server frames are unmasked, and every frame here is shorter than 64 KiB.
      for (;;) {
        if (rest.length < 2) break
        const short = rest[1]! & 0x7f
        const offset = short === 126 ? 4 : 2
        if (rest.length < offset) break
        const length = short === 126 ? rest.readUInt16BE(2) : short
        if (rest.length < offset + length) break
        const frame = { opcode: rest[0]! & 0x0f, payload: rest.subarray(offset, offset + length) }
        frames.push(frame)
        rest = rest.subarray(offset + length)
        if (frame.opcode === 0x8 && after === undefined) socket.end(closeFrame(1000))
      }
    })
    socket.on('close', () => resolve({ head: head ?? '', frames, rest }))
  })
}

function closeFrame(code: number): Buffer {
  const payload = Buffer.alloc(2)
  payload.writeUInt16BE(code)
  return encodeFrame({ opcode: 0x8, payload })
}

describe('how a worker connection ends', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('closes with 4003 after the bye when the worker calls process.exit(0) during a call', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    void conn.call('exit', 0).catch(() => {})
    expect(await conn.closed).toEqual({ code: 4003, reason: 'code=0; worker exited with code 0' })
    expect(conn.messages).toEqual([[10, { reason: 'worker exited with code 0', exitCode: 0 }]])
    await waitForExit([conn.hello.pid])
    expect(env.server.status().exits).toMatchObject({ '0': 1 })
  })

  it("gives a bye for an uncaught exception the error kind 'uncaught', then 4003", async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    void conn.call('throwLater', 'kaboom in a timer').catch(() => {})
    expect(await conn.closed).toEqual({ code: 4003, reason: 'code=1; worker exited with code 1' })
    expect(conn.messages).toEqual([[10, {
      reason: 'uncaught exception',
      exitCode: 1,
      error: { name: 'Error', message: 'kaboom in a timer', kind: 'uncaught', stack: expect.stringContaining('kaboom in a timer') },
    }]])
  })

  it('adds nothing to a connection its client closed: one close frame, the worker’s', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const { head, frames, rest } = await exchange(env.path, upgradeRequest(), closeFrame(1000))
    expect(head).toMatch(/^HTTP\/1\.1 101 /)
    expect(frames.map((f) => f.opcode)).toEqual([0x2, 0x8])
    expect(frames[1]!.payload.readUInt16BE(0)).toBe(1000)
    expect(rest.length).toBe(0)
    await waitFor(() => env!.server.status().exited === 1, 'the worker to exit')
    expect(env.server.status().exits).toEqual({ '0': 1 })
  })

  it('adds nothing to a status connection: one status message and the worker’s close frame', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const { frames, rest } = await exchange(env.path, upgradeRequest({ path: STATUS_PATH }))
    expect(frames.map((f) => f.opcode)).toEqual([0x2, 0x8])
    expect(frames[1]!.payload.readUInt16BE(0)).toBe(1000)
    expect(rest.length).toBe(0)
  })

  it.each([
    ['an unknown path', upgradeRequest({ path: '/elsewhere' }), refusalResponse(404, 'no such forkd endpoint: /elsewhere')],
    ['no subprotocol', upgradeRequest({ protocol: null }), refusalResponse(426, 'protocol version mismatch: this worker speaks forkd.v1, the client offered nothing')],
    ['a plain HTTP request', 'GET /forkd HTTP/1.1\r\nHost: localhost\r\n\r\n', refusalResponse(426, 'a forkd worker speaks WebSocket only')],
    ['no Sec-WebSocket-Key', upgradeRequest({ key: null }), refusalResponse(400, 'bad WebSocket upgrade: Missing or invalid Sec-WebSocket-Key header')],
    ['a wrong WebSocket version', upgradeRequest({ version: '99' }), refusalResponse(400, 'bad WebSocket upgrade: Missing or invalid Sec-WebSocket-Version header')],
    ['bytes that are not HTTP', 'HELLO\r\n\r\n', refusalResponse(400, 'malformed HTTP request (HPE_INVALID_METHOD)')],
  ])('answers %s with one HTTP refusal carrying X-Forkd-Error, and nothing after it', async (_what, request, answer) => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const { head, rest } = await exchange(env.path, request)
    expect(head + rest.toString('latin1')).toBe(answer)
    expect(answer).toContain('\r\nX-Forkd-Error: ')
    await waitFor(() => env!.server.status().exited === 1, 'the refusing worker to exit')
    expect(env.server.status().exits).toEqual({ '0': 1 })
  })
})
