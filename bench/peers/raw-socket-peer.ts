/**
 * The coalescing floor of pipelining: a plain Unix socket server (no WebSocket) answering CBOR
 * `['call', id, 'echo', x]` with `['ok', id, x]`, each message prefixed by its length (4 bytes, big
 * endian). Every reply made from one read goes out in one write, as the client sends every call
 * made in one tick in one write.
 *
 *   node raw-socket-peer.js SOCKET_PATH     → IPC { type: 'ready' }, stops on IPC { type: 'stop' }
 */
import { unlinkSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { Decoder, Encoder } from 'cbor-x'
import { LengthPrefixed, lengthPrefix } from '../baselines/length-prefixed.js'

const path = process.argv[2]
if (path === undefined) throw new Error('usage: raw-socket-peer.js SOCKET_PATH')

const encoder = new Encoder({ useRecords: false, tagUint8Array: false })
const decoder = new Decoder({ useRecords: false })
const sockets = new Set<Socket>()

const server = createServer((socket) => {
  sockets.add(socket)
  socket.on('close', () => sockets.delete(socket))
  const frames = new LengthPrefixed()
  socket.on('data', (chunk) => {
    const replies: Buffer[] = []
    for (const body of frames.push(chunk)) {
      const message = decoder.decode(body) as [string, number, string, unknown]
      if (message[0] === 'call') replies.push(...lengthPrefix(encoder.encode(['ok', message[1], message[3]])))
    }
    if (replies.length > 0) socket.write(Buffer.concat(replies))
  })
})

function stop(): void {
  for (const socket of sockets) socket.destroy()
  server.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 1000).unref()
}

try {
  unlinkSync(path)
} catch {
  // not there
}
server.listen(path, () => process.send?.({ type: 'ready' }))
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') stop()
})
// The benchmark died: nobody will stop us.
process.on('disconnect', stop)
