/** The server's logger interface and the default one, which writes one line per record to stderr. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/**
 * Where the server's records go. Compatible with pino, console-like wrappers and the like through a
 * small adapter. Calls must not throw; a logger that throws is caught and ignored, because logging
 * happens in background paths that have nobody to report to.
 */
export interface Logger {
  debug(message: string, fields?: object): void
  info(message: string, fields?: object): void
  warn(message: string, fields?: object): void
  error(message: string, fields?: object): void
  /**
   * Optional: true while the logger's destination is backed up. Worker output is dropped (and the
   * drop counted) while it returns true, so a worker printing in a loop cannot grow the server's
   * memory without bound.
   */
  congested?(): boolean
}

/** Bytes waiting in stderr's buffer beyond which the default logger reports congestion. */
const stderrHighWater = 1024 * 1024

/**
 * The default logger: `TITLE LEVEL message {"field":...}` on process.stderr, one line per record.
 * `debug` records are dropped unless FORKD_DEBUG is set in the environment.
 */
export function createStderrLogger(title: string): Logger {
  const debug = Boolean(process.env.FORKD_DEBUG)
  const write = (level: LogLevel, message: string, fields?: object) => {
    if (level === 'debug' && !debug) return
    let line = `${title} ${level}: ${message}`
    if (fields !== undefined) {
      try {
        line += ' ' + JSON.stringify(fields)
      } catch {
        // unserialisable fields: the message alone still says what happened
      }
    }
    process.stderr.write(line + '\n')
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
