/** Asking a running server for its status, through a worker (what `forkd status` does). */
import { Codec, MessageType, STATUS_PATH, SUBPROTOCOL } from '@forkd/protocol'
import { ws as wsPackage } from '@forkd/protocol/internal'

/**
 * Connects to the server at `target` (a socket path or `{ host, port }`), asks for its status and
 * resolves with it. The server hands the status connection to a spare worker, which forwards the
 * question to the server over IPC and answers with one `[11, status]` message.
 *
 * @example
 * ```ts
 * const status = await fetchStatus('/run/app/forkd.sock')
 * console.log(status.active, status.spares)
 * ```
 */
export function fetchStatus(target: string | { host: string; port: number }, timeout = 5_000): Promise<Record<string, unknown>> {
  const url = typeof target === 'string' ? `ws+unix://${target}:${STATUS_PATH}` : `ws://${target.host}:${target.port}${STATUS_PATH}`
  return new Promise((resolve, reject) => {
    const ws = new wsPackage.WebSocket(url, SUBPROTOCOL, { perMessageDeflate: false })
    const timer = setTimeout(() => fail(new Error(`no status from ${url} within ${timeout} ms`)), timeout)
    const fail = (error: Error) => {
      clearTimeout(timer)
      ws.terminate()
      reject(error)
    }
    ws.on('error', (error) => fail(new Error(`cannot get the status of ${typeof target === 'string' ? target : url}: ${error.message}`, { cause: error })))
    ws.on('message', (data) => {
      let messages: unknown[]
      try {
        messages = new Codec().decodeFrame(data as Buffer)
      } catch (error) {
        return fail(error as Error)
      }
      const status = messages.find((m): m is [number, Record<string, unknown>] => Array.isArray(m) && m[0] === MessageType.Status)
      if (status === undefined) return
      clearTimeout(timer)
      ws.close()
      resolve(status[1])
    })
    ws.on('close', (code, reason) => fail(new Error(`status connection closed (${code} ${String(reason)}) before an answer`)))
  })
}
