/**
 * The server's logger interface and the default one, which writes one line per record to stderr:
 * text for people, or JSON lines for a log shipper.
 */

/** Severity of a server log record, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** How the default logger writes a record: `text` for people, `json` (one object per line) for log shippers. */
export type LogFormat = 'text' | 'json'

/**
 * Where the server's records go. Compatible with pino, console-like wrappers and the like through a
 * small adapter. Calls must not throw; a logger that throws is caught and ignored, because logging
 * happens in background paths that have nobody to report to.
 */
export interface Logger {
  /** Detail for debugging: worker starts, exits of spares, IPC oddities. */
  debug(message: string, fields?: object): void
  /** Normal operation: listening, reloading, closed; a worker's stdout. */
  info(message: string, fields?: object): void
  /** Something went wrong and forkd coped: a worker died or was killed; a worker's stderr. */
  warn(message: string, fields?: object): void
  /** Something went wrong that forkd could not cope with. */
  error(message: string, fields?: object): void
  /**
   * Optional: true while the logger's destination is backed up. Worker output is dropped (and the
   * drop counted) while it returns true, so a worker printing in a loop cannot grow the server's
   * memory without bound.
   */
  congested?(): boolean
}

/** Options of {@link createStderrLogger}. */
export interface StderrLoggerOptions {
  /** Records below this level are dropped. Default `'info'`, or `'debug'` when FORKD_DEBUG is set. */
  level?: LogLevel
  /** Default `'text'`. */
  format?: LogFormat
  /** The `name` key of JSON records. Default: the title. */
  name?: string
}

/** Bytes waiting in stderr's buffer beyond which the default logger reports congestion. */
const stderrHighWater = 1024 * 1024

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

/** The keys every JSON record starts with; a field of the same name is written as `_NAME`. */
const recordKeys = new Set(['time', 'level', 'msg', 'pid', 'name'])

/** Whether FORKD_DEBUG asks for debug records: set to anything but '', '0' or 'false'. */
export function debugRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.FORKD_DEBUG
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false'
}

function textLine(title: string, level: LogLevel, message: string, fields: object | undefined): string {
  let line = `${title} ${level}: ${message}`
  if (fields !== undefined) {
    try {
      line += ' ' + JSON.stringify(fields)
    } catch {
      // unserialisable fields: the message alone still says what happened
    }
  }
  return line
}

function jsonLine(name: string, level: LogLevel, message: string, fields: object | undefined): string {
  const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message, pid: process.pid, name }
  const base = JSON.stringify(record)
  if (fields === undefined) return base
  for (const [key, value] of Object.entries(fields)) record[recordKeys.has(key) ? `_${key}` : key] = value
  try {
    return JSON.stringify(record)
  } catch {
    // unserialisable fields (a BigInt, a cycle): the record without them is still one valid line
    return base
  }
}

/**
 * The default logger: one record per line on process.stderr, either `TITLE LEVEL: message
 * {"field":...}` (text) or a JSON object `{"time","level","msg","pid","name",...fields}` (json).
 * Records below `level` are dropped.
 */
export function createStderrLogger(title: string, options: StderrLoggerOptions = {}): Logger {
  const threshold = rank[options.level ?? (debugRequested() ? 'debug' : 'info')]
  const json = options.format === 'json'
  const name = options.name ?? title
  const write = (level: LogLevel, message: string, fields?: object) => {
    if (rank[level] < threshold) return
    process.stderr.write((json ? jsonLine(name, level, message, fields) : textLine(title, level, message, fields)) + '\n')
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    congested: () => process.stderr.writableLength > stderrHighWater,
  }
}

/** Wraps a user logger so that a throwing logger can never break a background path. */
export function safeLogger(logger: Logger): Logger {
  const guard = (level: LogLevel) => (message: string, fields?: object) => {
    try {
      logger[level](message, fields)
    } catch {
      // nothing sensible to do: reporting the failure would need the logger that just failed
    }
  }
  return {
    debug: guard('debug'),
    info: guard('info'),
    warn: guard('warn'),
    error: guard('error'),
    congested: () => {
      try {
        return logger.congested?.() ?? false
      } catch {
        return false
      }
    },
  }
}
