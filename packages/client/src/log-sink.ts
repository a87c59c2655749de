/**
 * Where a checkout's worker logs go: a function, or a pino-style logger. Records carry the worker's
 * pid and number, the method, the time and the level.
 */
import type { LogLevel } from '@forkd/protocol'

export interface LogRecord {
  level: LogLevel | 'done'
  /** Epoch ms, from the worker's clock for worker records. */
  time: number
  message: string
  /** `method` or `()`; undefined for the `done` record. */
  method: string | undefined
  pid: number
  worker: number
  fields: Record<string, unknown> | null
}

/** A pino (or any logger with info/warn/error/debug taking `(fields, message)`). */
export interface StructuredLogger {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
  error(fields: object, message: string): void
}

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
