/** Following a running server's status: one status connection, one status every `interval` ms. */
import { Codec, MessageType, STATUS_PATH, SUBPROTOCOL } from '@forkd/protocol'
import { ws as wsPackage } from '@forkd/protocol/ws'

/** A status watch started by `watchStatus`. */
export interface StatusWatch {
  /** Closes the status connection; `onEnd` is not called for it. Idempotent. */
  close(): void
}

/** What `watchStatus` reports. */
export interface StatusWatchHandlers {
  /** Each status, as the server sent it. */
  onStatus(status: Record<string, unknown>): void
  /** The watch ended: the connection failed or closed (the server is gone, or was replaced). Called once. */
  onEnd(error: Error): void
}

/**
 * Opens one status connection to the server at `target` (a socket path or `{ host, port }`) on
 * `/forkd/status?interval=MS` and reports a status every `interval` ms (100 to 3 600 000) until
 * closed: what `forkd top` shows. The connection holds one worker for as long as it is open, like
 * a client's; a status includes that worker, marked `status: true` in its row.
 *
 * @example
 * ```ts
 * const watch = watchStatus('/run/app/forkd.sock', 1000, {
 *   onStatus: (status) => console.log(status.active, status.spares),
 *   onEnd: (error) => console.error(error.message),
 * })
 * // later
 * watch.close()
 * ```
 */
export function watchStatus(target: string | { host: string; port: number }, interval: number, handlers: StatusWatchHandlers): StatusWatch {
  if (!Number.isInteger(interval) || interval < 100 || interval > 3_600_000)
    throw new TypeError(`forkd watchStatus: interval must be an integer from 100 to 3600000 ms, got ${String(interval)}`)
  const where = typeof target === 'string' ? target : `${target.host}:${target.port}`
  const url = typeof target === 'string' ? `ws+unix://${target}:${STATUS_PATH}?interval=${interval}` : `ws://${where}${STATUS_PATH}?interval=${interval}`
  const ws = new wsPackage.WebSocket(url, SUBPROTOCOL, { perMessageDeflate: false })
  const codec = new Codec()
  let ended = false
  const end = (error: Error) => {
    if (ended) return
    ended = true
    ws.terminate()
    handlers.onEnd(error)
  }
  ws.on('error', (error) => end(new Error(`cannot watch the status of ${where}: ${error.message}`, { cause: error })))
  ws.on('close', (code, reason) => end(new Error(`the status connection to ${where} closed (${code}${reason.length > 0 ? ` ${String(reason)}` : ''})`)))
  ws.on('message', (data) => {
    let messages: unknown[]
    try {
      messages = codec.decodeFrame(data as Buffer)
    } catch (error) {
      return end(error as Error)
    }
    for (const m of messages) if (Array.isArray(m) && m[0] === MessageType.Status) handlers.onStatus(m[1] as Record<string, unknown>)
  })
  return {
    close() {
      if (ended) return
      ended = true
      ws.close()
    },
  }
}
