/**
 * The per-worker rows of `status().workers` and the server's call total, built from what each
 * worker last reported (see WorkerReport in ipc.ts). Kept apart from the pool: the pool says which
 * workers exist, this file says how one is shown.
 */
import type { WorkerProcess, WorkerState } from './worker-process.js'

/** The call a worker is running now, as a status row shows it. */
export interface RunningCallRow {
  /** The method; `()` for a call of a function interface, `(checkoutDone)` for the hook. */
  method: string
  /** Milliseconds it has been running, at the time of the status. */
  running: number
}

/** One live worker process in `status().workers`. */
export interface WorkerRow {
  /** Its number within the server, from 1 (the `N` of `forkd-worker:NAME(N)`). */
  id: number
  /** Its process id (undefined only when the process could not be spawned). */
  pid: number | undefined
  /**
   * `starting` (loading its module, running setup), `spare`, `active` (serving connections),
   * `draining` (retired: finishing its connections, taking no new one) or `ending`.
   */
  state: Exclude<WorkerState, 'exited'>
  /** Connections it serves now (at most the server's `concurrency`). */
  connections: number
  /** Milliseconds since it was started. */
  age: number
  /** Resident set size in bytes, as last reported; null before the worker is ready. */
  rss: number | null
  /** Calls it has run. */
  calls: number
  /**
   * The running call (or checkoutDone hook), or null when idle or serving a status connection; with
   * concurrency above 1, the oldest of its connections' running calls.
   */
  call: RunningCallRow | null
  /** It serves a status connection (`forkd status`, `forkd top`), not a client. */
  status: boolean
}

/** The row of one worker at `now` (epoch ms). */
export function workerRow(worker: WorkerProcess, now: number): WorkerRow {
  const report = worker.report
  const running = report?.running.reduce<typeof report.running[number] | undefined>((oldest, r) => (oldest === undefined || r.since < oldest.since ? r : oldest), undefined)
  return {
    id: worker.id,
    pid: worker.pid,
    state: worker.state as WorkerRow['state'],
    connections: worker.connections,
    age: now - worker.startedAt,
    rss: report?.rss ?? null,
    calls: report?.calls ?? 0,
    call: running === undefined ? null : { method: running.method, running: Math.max(0, now - running.since) },
    status: (report?.statusQueries ?? 0) > 0,
  }
}

/** Rows for `workers`, ordered by worker number. */
export function workerRows(workers: Iterable<WorkerProcess>, now = Date.now()): WorkerRow[] {
  return [...workers].map((w) => workerRow(w, now)).sort((a, b) => a.id - b.id)
}
