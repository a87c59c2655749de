/**
 * Close reasons as structured data. When a worker dies (codes 4003 and 4004) the server writes the
 * close frame, and its reason starts with a token a machine reads, then a sentence for people:
 *
 *   code=1; worker exited with code 1
 *   signal=SIGKILL; worker killed: busy for more than 300000 ms (hungWorkerTimeout)
 *
 * Clients parse only the token; nobody parses the sentence.
 */

/** A control frame's payload is at most 125 bytes, 2 of which are the close code. */
export const maxCloseReasonBytes = 123

/** How a worker process ended. */
export interface ExitReason {
  /** The exit code, when the process exited by itself. */
  exitCode?: number | undefined
  /** The signal that ended it (`SIGKILL`...). */
  signal?: string | undefined
}

/** Cuts `text` to at most `maxBytes` of UTF-8, at a character boundary (ws throws past 123 bytes). */
export function truncateUtf8(text: string, maxBytes: number = maxCloseReasonBytes): string {
  if (Buffer.byteLength(text) <= maxBytes) return text
  const bytes = Buffer.from(text, 'utf8')
  let cut = maxBytes
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--
  return bytes.subarray(0, cut).toString('utf8')
}

/** `signal=SIGKILL; <text>` or `code=1; <text>`, cut to fit a close frame. */
export function formatExitReason(exit: ExitReason, text: string): string {
  const token = exit.signal !== undefined ? `signal=${exit.signal}` : `code=${exit.exitCode ?? 0}`
  return truncateUtf8(`${token}; ${text}`)
}

const exitToken = /^(?:code=(\d{1,3})|signal=(SIG[A-Z0-9]+))(?:; ([^]*))?$/

/** Reads a reason written by `formatExitReason`; undefined when the reason has no token. */
export function parseExitReason(reason: string): (ExitReason & {
  /** What follows the token: the reason for people. */
  text: string
}) | undefined {
  const m = exitToken.exec(reason)
  if (m === null) return undefined
  const text = m[3] ?? ''
  return m[1] !== undefined ? { exitCode: Number(m[1]), text } : { signal: m[2]!, text }
}
