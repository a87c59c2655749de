/**
 * The hung-worker heartbeat. Every tick the server pings each worker serving connections over IPC;
 * the worker answers with the start time of its oldest running call (a process may serve several
 * connections: killing it ends all of them). A worker is killed with SIGKILL when that call is
 * older than hungWorkerTimeout (busy too long, e.g. awaiting forever), or when it has not answered for
 * that long: a worker stuck in synchronous code (`while (true) {}`) cannot answer at all, which is
 * why a heartbeat from outside the worker is needed (docs/scenarios.md, scenario 12).
 */
import type { KillReason, WorkerProcess } from './worker-process.js'

/** Ping interval: often enough to kill close to the deadline, rarely enough to cost nothing. */
export function pingInterval(hungWorkerTimeout: number): number {
  return Math.min(1000, Math.max(25, hungWorkerTimeout / 4))
}

/** Why `worker` should be killed now, or undefined if it is healthy. */
export function hungReason(worker: WorkerProcess, now: number, timeout: number): KillReason | undefined {
  if ((worker.state !== 'active' && worker.state !== 'draining') || worker.killedFor !== undefined) return undefined
  if (worker.busySince !== null && now - worker.busySince > timeout) return 'hung'
  if (now - worker.lastPongAt > timeout) return 'unresponsive'
  return undefined
}

export class HungWatch {
  readonly #timeout: number
  readonly #active: () => Iterable<WorkerProcess>
  readonly #onKill: (worker: WorkerProcess, reason: KillReason) => void
  #timer: NodeJS.Timeout | undefined

  constructor(timeout: number, active: () => Iterable<WorkerProcess>, onKill: (worker: WorkerProcess, reason: KillReason) => void) {
    this.#timeout = timeout
    this.#active = active
    this.#onKill = onKill
  }

  start(): void {
    if (this.#timer !== undefined || this.#timeout === Infinity) return
    // unref: the heartbeat alone must never keep a process alive.
    this.#timer = setInterval(() => this.#tick(), pingInterval(this.#timeout)).unref()
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  #tick(): void {
    const now = Date.now()
    for (const worker of [...this.#active()]) {
      const reason = hungReason(worker, now, this.#timeout)
      if (reason !== undefined) this.#onKill(worker, reason)
      else worker.ping()
    }
  }
}
