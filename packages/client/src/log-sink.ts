/**
 * Where a checkout's worker logs go: a function, or a pino-style logger. Records carry the worker's
 * pid and number, the method, the time and the level.
 */
import type { LogLevel } from '@forkd/protocol'

/** One log record of a checkout's worker, or the `done` record that ends a checkout's logs. */
export interface LogRecord {
  /** The worker's level (`timer` for a `ctx.timer` record), or `done` when the checkout ended. */
  level: LogLevel | 'done'
  /** Epoch ms, from the worker's clock for worker records. */
  time: number
  /** The text the worker logged (the timer's name for a timer record). */
  message: string
  /** `method` or `()`; undefined for the `done` record. */
  method: string | undefined
  /** Process id of the worker. */
  pid: number
  /** The worker's number, unique within its server. */
  worker: number
  /** Structured fields the worker logged with the message, or null. */
  fields: Record<string, unknown> | null
}

/** A pino (or any logger with info/warn/error/debug taking `(fields, message)`). */
export interface StructuredLogger {
  /** Receives the `debug` records (and timer and done records). */
  debug(fields: object, message: string): void
  /** Receives the `info` records. */
  info(fields: object, message: string): void
  /** Receives the `warn` records. */
  warn(fields: object, message: string): void
  /** Receives the `error` records. */
  error(fields: object, message: string): void
}

/** The `log` option: a function called with every record, or a pino-style logger. */
export type LogSink = ((record: LogRecord) => void) | StructuredLogger

/** Normalizes a sink to a function; user code errors are kept away from the connection. */
export function toSinkFunction(sink: LogSink): (record: LogRecord) => void {
  if (typeof sink === 'function') return sink
  if (typeof sink === 'object' && sink !== null && typeof sink.info === 'function') {
    return (r) => {
      const fields = { ...r.fields, workerPid: r.pid, worker: r.worker, method: r.method, workerTime: r.time }
      const level = r.level === 'timer' || r.level === 'done' ? 'debug' : r.level
      sink[level](fields, r.level === 'timer' ? `timer ${r.message}` : r.message)
    }
  }
  throw new TypeError(`forkd checkout: option "log" must be a function or a logger with info/warn/error/debug, got ${typeof sink}`)
}
