/**
 * Runs one WebSocket upgrade and one frame each way over a throwaway local socket, while the worker
 * is still a spare. A fresh Node process compiles its http, ws, crypto and CBOR paths lazily, on
 * first use; without this the first (and only) client of every worker would wait for that.
 * Best effort: any failure or a slow machine just skips it.
 */
import { createServer } from 'node:http'
import { unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Codec, MessageType, SUBPROTOCOL } from '@forkd/protocol'
import type { WebSocket } from 'ws'
import { ws as wsPackage } from '@forkd/protocol/ws'

export async function prewarm(codec: Codec): Promise<void> {
  const path = join(tmpdir(), `forkd-warm-${process.pid}.sock`)
  const http = createServer()
  const wss = new wsPackage.WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false, handleProtocols: () => SUBPROTOCOL })
  http.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => {
        codec.decodeFrame(data as Buffer)
        ws.send(codec.frame([codec.encode([MessageType.Ok, 1, 'warm'])]))
      })
    }))
  let client: WebSocket | undefined
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())
  try {
    await Promise.race([
      (async () => {
        await new Promise<void>((resolve, reject) => http.once('error', reject).listen(path, resolve))
        client = new wsPackage.WebSocket(`ws+unix://${path}:/forkd`, SUBPROTOCOL, { perMessageDeflate: false, generateMask: (m) => m.fill(0) })
        await new Promise<void>((resolve, reject) => client!.once('open', resolve).once('error', reject))
        const reply = new Promise<void>((resolve) => client!.once('message', (data) => resolve(void codec.decodeFrame(data as Buffer))))
        client.send(codec.encode([MessageType.Call, 1, 0, 'warm', [], 0]))
        await reply
      })(),
      deadline,
    ])
  } catch {
    // nothing to warm is no reason to fail
  } finally {
    client?.terminate()
    http.close()
    try {
      unlinkSync(path)
    } catch {
      // already gone
    }
  }
}
