/**
 * `forkd top`: a live view of a running server's workers, refreshed every second, over one status
 * connection (`/forkd/status?interval=MS`). On a terminal it takes the alternate screen and quits on
 * `q` (or Ctrl-C); otherwise it prints one plain table, with rates, and exits.
 */
import type { ServerStatus } from '../server.js'
import { watchStatus, type StatusWatch } from '../watch-status.js'
import { parseFlags, type Flag } from './flags.js'
import { formatFlags } from './help.js'
import { serverTarget, StatusError } from './status.js'
import { renderTop } from './top-view.js'
import { UsageError } from './usage-error.js'

interface TopConfig {
  help: boolean
  interval: number
  colour: boolean | undefined
}

/** The flags of `forkd top`, one row each. */
export const topFlags: readonly Flag<TopConfig>[] = [
  { name: 'interval', value: 'MS', group: 'Flags', default: '1000', help: 'time between refreshes, 100 to 3600000',
    apply: (c, v) => {
      const n = Number(v)
      if (!Number.isInteger(n) || n < 100 || n > 3_600_000) throw new UsageError(`--interval must be an integer from 100 to 3600000 ms, got ${JSON.stringify(v)}`, 'top')
      c.interval = n
    } },
  { name: 'no-colour', group: 'Flags', default: 'colours on a terminal unless NO_COLOR is set', help: 'no ANSI colours',
    apply: (c) => void (c.colour = false) },
  { name: 'help', short: 'h', group: 'Flags', help: 'show this help', apply: (c) => void (c.help = true) },
]

/** The one-line synopsis shown under usage errors. */
export const topSynopsis = 'forkd top PATH [--interval MS] [--no-colour]'

/** `forkd top --help`. */
export function topHelp(): string {
  return `Usage: ${topSynopsis}

A live view of the forkd server listening on PATH (a Unix socket path, or HOST:PORT): its totals
(workers by state, connections waiting, calls per second, workers started and exited, by exit code
and kill reason) and one line per worker: number, pid, state, age, resident memory, calls run,
calls per second, and the running call's time and method. Busy workers come first, the longest
running first; green is busy, yellow busy for a second or more, red ending, dim the worker serving
this view (it holds one worker while it runs, like any connection).

On a terminal it refreshes every --interval ms until you press q (or Ctrl-C). When stdout is not a
terminal it prints one plain table (after two statuses, so that rates are filled in) and exits.

${formatFlags(topFlags)}Exit status: 0 after q, or after the table when not on a terminal; 1 when no forkd server answers
on PATH or the connection to it ends; 2 for a mistake on the command line.
`
}

const screen = {
  enter: '\x1b[?1049h\x1b[?25l',
  leave: '\x1b[?25h\x1b[?1049l',
  home: '\x1b[H',
  /** Clears from the cursor to the end of the line, and to the end of the screen. */
  clearLine: '\x1b[K',
  clearBelow: '\x1b[J',
}

/** Runs `forkd top`; resolves when the user quits (or, off a terminal, once the table is printed). */
export async function top(args: string[]): Promise<void> {
  const config: TopConfig = { help: false, interval: 1_000, colour: undefined }
  const positionals = parseFlags(args, topFlags, config, 'top')
  if (config.help) {
    process.stdout.write(topHelp())
    return
  }
  const target = serverTarget(positionals, 'top')
  const out = process.stdout
  const live = out.isTTY === true
  const colour = config.colour ?? (live && !process.env.NO_COLOR)

  await new Promise<void>((resolve, reject) => {
    let previous: { status: ServerStatus; at: number } | undefined
    let watch: StatusWatch | undefined
    let entered = false
    const restore = () => {
      if (!entered) return
      entered = false
      if (process.stdin.isTTY) process.stdin.setRawMode(false)
      process.stdin.pause()
      out.write(screen.leave)
    }
    const finish = (error?: Error) => {
      watch?.close()
      restore()
      process.off('SIGTERM', quit)
      if (error === undefined) resolve()
      else reject(error)
    }
    const quit = () => finish()
    process.once('SIGTERM', quit)
    watch = watchStatus(target, config.interval, {
      onStatus(raw) {
        if (typeof raw.error === 'string') return finish(new StatusError(`the server did not give its status: ${raw.error}`))
        const status = raw as unknown as ServerStatus
        const at = Date.now()
        if (!live) {
          // Off a terminal: one table, once a second status gives the rates.
          if (previous === undefined) {
            previous = { status, at }
            return
          }
          out.write(renderTop(status, { colour, width: Infinity, previous, at }))
          return finish()
        }
        if (!entered) enter()
        const view = renderTop(status, { colour, width: out.columns ?? 80, previous, at })
        const rows = out.rows ?? 24
        const lines = view.split('\n').slice(0, rows - 1)
        lines.push(colour ? '\x1b[2mq quits\x1b[0m' : 'q quits')
        out.write(screen.home + lines.map((l) => l + screen.clearLine).join('\n') + screen.clearBelow)
        previous = { status, at }
      },
      onEnd(error) {
        finish(new StatusError(error.message, { cause: error }))
      },
    })
    const enter = () => {
      entered = true
      out.write(screen.enter)
      if (process.stdin.isTTY) process.stdin.setRawMode(true)
      process.stdin.setEncoding('utf8')
      process.stdin.on('data', (key: string) => {
        // q, Q, Ctrl-C (raw mode delivers it as a byte, not a signal), Ctrl-D.
        if (key === 'q' || key === 'Q' || key === '\x03' || key === '\x04') finish()
      })
      process.stdin.resume()
    }
  })
}
