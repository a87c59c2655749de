/**
 * The HTTP answers that refuse a connection before any WebSocket exists (server at capacity, version
 * mismatch, unknown path, missing credentials). The reason travels in `X-Forkd-Error`, which clients
 * read; the body repeats it for people with curl.
 */
import { STATUS_CODES } from 'node:http'

/** The header that carries forkd's reason for refusing an upgrade. */
export const ERROR_HEADER = 'X-Forkd-Error'

/** Header values must be one line of visible ASCII: anything else is replaced, nothing is lost silently. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?')
}

/** The full HTTP/1.1 response refusing an upgrade with `status`; `Connection: close`. */
export function refusalResponse(status: number, reason: string, headers: Record<string, string> = {}): string {
  const body = headerSafe(reason)
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${ERROR_HEADER}: ${body}\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${headerSafe(value)}\r\n`
  return `${head}Connection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/**
 * Writes a refusal and ends the socket; `onDone` runs once it is flushed. `headers` are sent too
 * (a 401 carries `WWW-Authenticate`).
 */
export function writeRefusal(
  socket: { end(data: string, callback?: () => void): unknown },
  status: number,
  reason: string,
  onDone?: () => void,
  headers: Record<string, string> = {},
): void {
  socket.end(refusalResponse(status, reason, headers), onDone)
}
