/**
 * A fake worker: a WebSocket server on a Unix socket that speaks the forkd protocol by hand, so a
 * test can see exactly what the client sends and answer whatever it likes (including garbage).
 */
import { Codec, MessageType, PROTOCOL_VERSION, SUBPROTOCOL, type HelloInfo } from '@forkd/protocol'
import { WebSocketServer, type WebSocket } from 'ws'
import { join } from 'node:path'
import { tempDir } from './harness.js'
import { rmSync } from 'node:fs'
import { createServer } from 'node:http'

export interface FakeConnection {
  ws: WebSocket
  /** Every message received, decoded. */
  received: unknown[]
  /** The messages of each frame received, frame by frame. */
  frames: unknown[][]
  send(...messages: unknown[]): void
  sendRaw(data: Buffer | string): void
  /** Resolves once `count` messages have been received in total. */
  waitForMessages(count: number): Promise<unknown[]>
}

export interface FakeWorker {
  path: string
  connections: FakeConnection[]
  nextConnection(): Promise<FakeConnection>
  close(): Promise<void>
}

export async function startFakeWorker(hello: Partial<HelloInfo> = {}, options: { sendHello?: boolean } = {}): Promise<FakeWorker> {
  const dir = tempDir()
  const path = join(dir, 'f.sock')
  const codec = new Codec()
  const http = createServer()
  const wss = new WebSocketServer({ server: http, path: '/forkd', handleProtocols: () => SUBPROTOCOL })
  await new Promise<void>((resolve) => http.listen(path, () => resolve()))
  const connections: FakeConnection[] = []
  const waiting: ((c: FakeConnection) => void)[] = []
  let fakePid = 900_000
  wss.on('connection', (ws) => {
    const received: unknown[] = []
    const frames: unknown[][] = []
    const watchers: (() => void)[] = []
    ws.on('message', (data) => {
      try {
        const messages = codec.decodeFrame(data as Buffer)
        frames.push(messages)
        received.push(...messages)
      } catch (error) {
        frames.push([{ undecodable: (error as Error).message }])
        received.push({ undecodable: (error as Error).message })
      }
      for (const w of watchers.splice(0)) w()
    })
    const conn: FakeConnection = {
      ws,
      received,
      frames,
      send: (...messages) => ws.send(codec.frame(messages.map((m) => codec.encode(m)))),
      sendRaw: (data) => ws.send(data),
      waitForMessages: (count) =>
        new Promise((resolve) => {
          const check = () => (received.length >= count ? resolve(received) : watchers.push(check))
          check()
        }),
    }
    connections.push(conn)
    if (options.sendHello !== false)
      conn.send([MessageType.Hello, { v: PROTOCOL_VERSION, pid: ++fakePid, id: connections.length, name: 'fake', serverPid: process.pid, checkoutDone: false, ...hello }])
    waiting.shift()?.(conn)
  })
  return {
    path,
    connections,
    nextConnection: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const c of connections) c.ws.terminate()
      await new Promise((r) => wss.close(() => r(undefined)))
      await new Promise((r) => http.close(() => r(undefined)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
