/**
 * `log` and `emit` for code running inside a worker. They reach the session through a global slot
 * so that a worker module which resolved its own copy of @forkd/server still talks to the session
 * the entry started. A worker runs one call at a time, so "the current call" is well defined.
 */
import type { LogLevel } from '@forkd/protocol'

export interface CallContextSink {
  log(level: LogLevel, message: string, fields: Record<string, unknown> | null): void
  emit(name: string, data: unknown): void
}

const slot = Symbol.for('forkd.worker.sink')
type Slot = { [slot]?: CallContextSink }

export function installSink(sink: CallContextSink | undefined): void {
  ;(globalThis as Slot)[slot] = sink
}

/** The installed sink, if any. */
export function currentSink(): CallContextSink | undefined {
  return (globalThis as Slot)[slot]
}

function write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  const s = currentSink()
  if (s !== undefined) s.log(level, String(message), fields ?? null)
  else if (level !== 'debug') process.stderr.write(`${level}: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}\n`)
}

/** A running timer from `log.timer(name)`. */
export interface Timer {
  /** Records the time since the timer started; returns it in milliseconds. */
  end(fields?: Record<string, unknown>): number
}

/**
 * The worker's logger. During a call whose caller attached a log sink, records travel back to the
 * caller with the worker's pid, number, the method and a timestamp; otherwise they cost nothing
 * (outside a call they go to the server's log through stderr).
 */
export const log = {
  /** A `debug` record: detail for debugging. */
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  /** An `info` record: normal operation. */
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  /** A `warn` record: something went wrong and the worker coped. */
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  /** An `error` record: something went wrong. */
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
  /** Starts a named timer; `end()` records its duration as a `timer` record. */
  timer(name: string): Timer {
    const start = performance.now()
    return {
      end(fields) {
        const ms = performance.now() - start
        write('timer', name, { ...fields, ms })
        return ms
      },
    }
  },
}

/**
 * Sends an event to the caller of the running call (progress, partial results). Events arrive in
 * order and before the call's result. Throws UnencodableError if `data` cannot be encoded.
 */
export function emit(name: string, data?: unknown): void {
  currentSink()?.emit(String(name), data)
}
