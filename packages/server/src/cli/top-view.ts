/**
 * What `forkd top` draws: a pure function of two consecutive statuses (calls per second is the
 * difference), so it is tested without a terminal. The command (top.ts) owns the terminal.
 */
import type { ServerStatus } from '../server.js'
import type { WorkerRow } from '../worker-rows.js'

export interface TopViewOptions {
  /** ANSI colours (a terminal) or none (a pipe, a file). */
  colour: boolean
  /** Lines are cut to this many columns; Infinity for none. */
  width: number
  /** The status before this one and when it arrived, for calls per second; undefined for the first. */
  previous?: { status: ServerStatus; at: number }
  /** When this status arrived, epoch ms. */
  at: number
}

const ansi = { reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m' }

/** Workers busy on a call come first, the longest running first; then by state; then by number. */
const stateOrder: Record<WorkerRow['state'], number> = { active: 0, draining: 1, starting: 2, spare: 3, ending: 4 }

export function sortRows(rows: readonly WorkerRow[]): WorkerRow[] {
  return [...rows].sort((a, b) =>
    Number(b.call !== null) - Number(a.call !== null) ||
    (b.call?.running ?? 0) - (a.call?.running ?? 0) ||
    stateOrder[a.state] - stateOrder[b.state] ||
    a.id - b.id)
}

/** `850ms`, `12.3s`, `4m05s`, `3h12m`, `2d04h`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const s = ms / 1000
  if (s < 60) return `${s.toFixed(1)}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`
}

/** `512K`, `61.2M`, `1.50G`; `-` when unknown. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '-'
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)}K`
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)}M`
  return `${(bytes / 1024 ** 3).toFixed(2)}G`
}

function rate(now: number, before: number | undefined, seconds: number | undefined): string {
  if (before === undefined || seconds === undefined || seconds <= 0) return '-'
  return (Math.max(0, now - before) / seconds).toFixed(1)
}

function counts(record: Record<string, number>): string {
  const parts = Object.entries(record).filter(([, n]) => n > 0).map(([k, n]) => `${k}:${n}`)
  return parts.length > 0 ? parts.join(' ') : 'none'
}

/** The screen for `status`: a header of the server's totals, then one line per worker. */
export function renderTop(status: ServerStatus, options: TopViewOptions): string {
  const paint = (code: string, text: string) => (options.colour ? `${code}${text}${ansi.reset}` : text)
  const seconds = options.previous === undefined ? undefined : (options.at - options.previous.at) / 1000
  const before = new Map(options.previous?.status.workers.map((w) => [w.id, w.calls]))
  const listen = typeof status.listen === 'string' ? status.listen : 'fd' in status.listen ? `fd ${status.listen.fd}` : `${status.listen.host}:${status.listen.port}`
  const lines: string[] = []
  lines.push(paint(ansi.bold, `forkd-server${status.name ? `:${status.name}` : ''} pid ${status.pid}  ${listen}  ${status.state}  up ${formatDuration(status.uptime)}  v${status.version}`))
  lines.push(`workers: ${status.active} active, ${status.spares} spare, ${status.starting} starting, ${status.ending} ending; ${status.pending} connections waiting, ${status.refused} refused`)
  lines.push(`calls: ${status.calls} total, ${rate(status.calls, options.previous?.status.calls, seconds)}/s   started ${status.started}, exited ${status.exited} (exits ${counts(status.exits)}; killed ${counts(status.killed)})`)
  lines.push('')
  const header = ['ID', 'PID', 'STATE', 'AGE', 'RSS', 'CALLS', 'CALLS/S', 'RUNNING', 'METHOD']
  const table = sortRows(status.workers).map((w) => {
    const state = w.status ? 'status' : w.state
    return {
      row: w,
      cells: [String(w.id), String(w.pid ?? '-'), state, formatDuration(w.age), formatBytes(w.rss), String(w.calls),
        rate(w.calls, before.get(w.id), seconds), w.call === null ? '' : formatDuration(w.call.running), w.call?.method ?? ''],
    }
  })
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t.cells[i]!.length)))
  // Numbers right-aligned, words left-aligned; the method, last, is not padded.
  const right = new Set([0, 1, 3, 4, 5, 6, 7])
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()
  const cut = (text: string) => (Number.isFinite(options.width) && text.length > options.width ? text.slice(0, options.width) : text)
  lines.push(paint(ansi.bold, cut(line(header))))
  for (const { row, cells } of table) {
    const text = cut(line(cells))
    if (row.status) lines.push(paint(ansi.dim, text))
    else if (row.state === 'ending') lines.push(paint(ansi.red, text))
    else if (row.state === 'starting') lines.push(paint(ansi.cyan, text))
    else if (row.call !== null) lines.push(paint(row.call.running >= 1000 ? ansi.yellow : ansi.green, text))
    else lines.push(text)
  }
  return lines.map((l) => (l.startsWith('\x1b') ? l : cut(l))).join('\n') + '\n'
}
