/**
 * The raw-transport peer: a `ws` WebSocket server on a Unix socket answering CBOR
 * `['call', id, 'echo', x]` with `['ok', id, x]`, one frame per message. The floor for forkd's
 * transport: same library, same options (no compression, no UTF-8 check), no protocol on top.
 *
 *   node raw-peer.js SOCKET_PATH     → IPC { type: 'ready' }, stops on IPC { type: 'stop' }
 */
import { createServer } from 'node:http'
import { unlinkSync } from 'node:fs'
import { Decoder, Encoder } from 'cbor-x'
import { WebSocketServer } from 'ws'

const path = process.argv[2]
if (path === undefined) throw new Error('usage: raw-peer.js SOCKET_PATH')

const encoder = new Encoder({ useRecords: false, tagUint8Array: false })
const decoder = new Decoder({ useRecords: false })
const http = createServer((_req, res) => res.writeHead(426).end())
const wss = new WebSocketServer({ server: http, perMessageDeflate: false, skipUTF8Validation: true, maxPayload: 64 * 1024 * 1024 })

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    const message = decoder.decode(data as Buffer) as [string, number, string, unknown]
    if (message[0] === 'call') ws.send(encoder.encode(['ok', message[1], message[3]]))
  })
})

function stop(): void {
  for (const ws of wss.clients) ws.terminate()
  wss.close()
  http.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}

try {
  unlinkSync(path)
} catch {
  // not there
}
http.listen(path, () => process.send?.({ type: 'ready' }))
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') stop()
})
// The benchmark died: nobody will stop us.
process.on('disconnect', stop)
