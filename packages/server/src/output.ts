/**
 * Worker stdout/stderr → the server's logger, one record per line.
 *
 * The server always reads (never pauses) the pipes: a paused pipe would block a worker that prints,
 * stalling its calls. Memory stays bounded instead by splitting long lines at 16 KiB and by dropping
 * lines, with a counted "dropped N lines" record, while the logger is congested or a stream exceeds
 * its per-second line budget.
 */
import type { Readable } from 'node:stream'
import type { Logger } from './logger.js'
import type { OutputLevel } from './options.js'

/** Longest record; longer lines are split into several. */
export const maxLineBytes = 16 * 1024
/** Lines per second per stream passed to the logger before dropping (protects slow custom loggers). */
const lineBudget = 5_000
/** Last lines kept per worker, to explain a worker that died before it was ready. */
const tailLines = 5

export interface OutputPipe {
  /** The last few lines seen on this stream, including ignored and dropped ones. */
  tail(): string[]
}

export function pipeOutput(stream: Readable, logger: Logger, level: OutputLevel, prefix: string, fields: object): OutputPipe {
  const tail: string[] = []
  let pending: Buffer[] = []
  let pendingBytes = 0
  let dropped = 0
  let windowStart = 0
  let windowLines = 0

  const reportDropped = () => {
    if (dropped === 0) return
    logger.warn(`${prefix} dropped ${dropped} lines of output (logger congested or more than ${lineBudget} lines/s)`, fields)
    dropped = 0
  }

  const emit = (bytes: Buffer) => {
    let line = bytes.toString('utf8')
    if (line.endsWith('\r')) line = line.slice(0, -1)
    tail.push(line)
    if (tail.length > tailLines) tail.shift()
    if (level === 'ignore') return
    const now = Date.now()
    if (now - windowStart >= 1000) {
      windowStart = now
      windowLines = 0
    }
    if (++windowLines > lineBudget || logger.congested?.() === true) {
      dropped++
      return
    }
    reportDropped()
    logger[level](`${prefix} ${line}`, fields)
  }

  // Splits at most maxLineBytes off the front, backing off to a UTF-8 character boundary so no
  // record ends in half a character.
  const splitLong = (buf: Buffer): Buffer => {
    let cut = maxLineBytes
    while (cut > maxLineBytes - 4 && (buf[cut]! & 0xc0) === 0x80) cut--
    emit(buf.subarray(0, cut))
    return buf.subarray(cut)
  }

  stream.on('data', (chunk: Buffer) => {
    let start = 0
    for (;;) {
      const nl = chunk.indexOf(0x0a, start)
      if (nl === -1) break
      let line = chunk.subarray(start, nl)
      if (pendingBytes > 0) {
        line = Buffer.concat([...pending, line])
        pending = []
        pendingBytes = 0
      }
      while (line.length > maxLineBytes) line = splitLong(line)
      emit(line)
      start = nl + 1
    }
    if (start < chunk.length) {
      // Copy: the rest of the chunk would otherwise be kept alive by a small view into it.
      pending.push(Buffer.from(chunk.subarray(start)))
      pendingBytes += chunk.length - start
      if (pendingBytes > maxLineBytes) {
        let rest: Buffer = Buffer.concat(pending)
        while (rest.length > maxLineBytes) rest = splitLong(rest)
        pending = rest.length > 0 ? [rest] : []
        pendingBytes = rest.length
      }
    }
  })
  stream.on('end', () => {
    if (pendingBytes > 0) emit(Buffer.concat(pending))
    pending = []
    pendingBytes = 0
    reportDropped()
  })
  // A broken pipe from a dying worker is not worth a record of its own; its exit is logged.
  stream.on('error', () => {})

  return { tail: () => [...tail] }
}
