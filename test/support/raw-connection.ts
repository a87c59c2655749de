/**
 * A bare WebSocket connection to a forkd server, without the client package: for server tests that
 * need to see exactly which worker answered and how the connection ended.
 */
import { Codec, SUBPROTOCOL, WORKER_PATH, type HelloInfo } from '@forkd/protocol'
import WebSocket from 'ws'

export interface RawConnection {
  ws: WebSocket
  hello: HelloInfo
  /** Every message received after the hello, decoded. */
  messages: unknown[]
  /** Sends a call and resolves with the worker's reply message. */
  call(method: string, ...args: unknown[]): Promise<unknown>
  /** Resolves once a message matching `match` has arrived. */
  waitFor(match: (m: unknown) => boolean): Promise<unknown>
  /** Resolves with the close code and reason when the connection ends. */
  closed: Promise<{ code: number; reason: string }>
}

export function connectRaw(path: string): Promise<RawConnection> {
  const codec = new Codec()
  const ws = new WebSocket(`ws+unix://${path}:${WORKER_PATH}`, SUBPROTOCOL)
  const messages: unknown[] = []
  const watchers = new Set<() => void>()
  let nextId = 0
  let greeted = false
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })))
  const waitFor = (match: (m: unknown) => boolean) =>
    new Promise<unknown>((resolve, reject) => {
      const check = () => {
        const found = messages.find(match)
        if (found !== undefined) {
          watchers.delete(check)
          resolve(found)
        }
      }
      watchers.add(check)
      check()
      void closed.then(({ code, reason }) => {
        if (watchers.delete(check)) reject(new Error(`connection closed (${code} ${reason}) while waiting`))
      })
    })
  return new Promise((resolve, reject) => {
    ws.once('error', reject)
    ws.on('message', (data) => {
      const decoded = codec.decodeFrame(data as Buffer)
      const [first] = decoded
      if (!greeted && Array.isArray(first) && first[0] === 0) {
        greeted = true
        messages.push(...decoded.slice(1))
        resolve({
          ws,
          hello: first[1] as HelloInfo,
          messages,
          closed,
          waitFor,
          call(method, ...args) {
            const id = ++nextId
            ws.send(codec.encode([1, id, 0, method, args, 0]))
            return waitFor((m) => Array.isArray(m) && (m[0] === 2 || m[0] === 3) && m[1] === id)
          },
        })
      } else {
        messages.push(...decoded)
      }
      for (const check of [...watchers]) check()
    })
  })
}
