/**
 * A hung-worker watch for a worker that outlived its server. The server normally kills hung
 * workers, but a worker whose server died keeps serving its client (docs/failures.md) with nobody watching:
 * a call stuck in synchronous code would then spin forever, even after its client gave up. From the
 * moment the server is gone, a small thread watches the start time of the running call in shared
 * memory (the main thread cannot run a timer while it is stuck) and kills the process past
 * hungWorkerTimeout. The thread exists only in that rare case; until then `markBusy` is a no-op.
 * A process serving several connections marks the start of its oldest running call.
 */
import { Worker } from 'node:worker_threads'

let busy: Float64Array | undefined

/** Records when the running call started (epoch ms), or that none runs (null). */
export function markBusy(since: number | null): void {
  if (busy !== undefined) busy[0] = since ?? 0
}

const watchdogSource = `
const { workerData } = require('node:worker_threads')
const busy = new Float64Array(workerData.shared)
setInterval(() => {
  const since = busy[0]
  if (since > 0 && Date.now() - since > workerData.timeout) {
    process.stderr.write('forkd worker: busy for more than ' + workerData.timeout + ' ms (hungWorkerTimeout) with no server to stop it; exiting\\n')
    process.kill(process.pid, 'SIGKILL')
  }
}, workerData.interval)
`

/** Whether the watchdog runs (the server is gone and a hung-worker timeout is set). */
export function orphanWatchdogRunning(): boolean {
  return busy !== undefined
}

/** Starts watching; `busySince` is the running call's start at this moment. Idempotent. */
export function startOrphanWatchdog(timeout: number, busySince: number | null): void {
  if (busy !== undefined || !Number.isFinite(timeout)) return
  const shared = new SharedArrayBuffer(8)
  busy = new Float64Array(shared)
  busy[0] = busySince ?? 0
  const interval = Math.min(1000, Math.max(25, timeout / 4))
  const thread = new Worker(watchdogSource, { eval: true, workerData: { shared, timeout, interval } })
  // The watchdog must never keep the worker alive, nor crash it.
  thread.unref()
  thread.on('error', () => {})
}
