/**
 * Where a checkout's worker logs go: a function, or a pino-style logger. Records carry the worker's
 * pid and number, the method, the time and the level.
 */
import type { LogLevel } from '@forkd/protocol'

/** One record of a checkout's log: a worker's log line, a timer, or the `done` that closes the log. */
export interface LogRecord {
  /** The worker's level, `timer` (fields carry `ms`), or `done` at release. */
  level: LogLevel | 'done'
  /** Epoch ms, from the worker's clock for worker records. */
  time: number
  /** The worker's message (a timer's name). */
  message: string
  /** `method` or `()`; undefined for the `done` record. */
  method: string | undefined
  /** The worker process's pid. */
  pid: number
  /** The worker's number within its server. */
  worker: number
  /** The fields the worker gave, or null. */
  fields: Record<string, unknown> | null
}

/** A pino (or any logger with info/warn/error/debug taking `(fields, message)`). */
export interface StructuredLogger {
  /** Receives `debug`, `timer` and `done` records. */
  debug(fields: object, message: string): void
  /** Receives `info` records. */
  info(fields: object, message: string): void
  /** Receives `warn` records. */
  warn(fields: object, message: string): void
  /** Receives `error` records. */
  error(fields: object, message: string): void
}

/** Where a checkout's log goes: a function receiving each record, or a pino-style logger. */
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
