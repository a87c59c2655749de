/**
 * The server's worker processes and the connections waiting for one: the server-side mirror of the
 * client's pool. A WorkerProcess owns its state and reports every move through `onMove`; the pool
 * keeps one set per state and never writes a worker's fields, it states intent (`handOff`, `end`,
 * `retire`, `terminate`, `kill`).
 *
 * The pool's own life:
 *
 * ```
 *  idle ──start()──► starting ──first worker ready──► running ──close()──► closing ──last exit──► closed
 *                       │   │                                              ▲  ▲
 *                       │   └──the module is to blame──► failed ──close()──┘  │
 *                       └────────── close() (start() rejects) ────────────────┘
 * ```
 *
 * Workers are started only while `starting` or `running`.
 *
 * `#dispatch` runs after every change (re-entrancy: see reentrantStep) and is the only place that
 * hands sockets to workers and starts workers. What it consults, each in one place so that a new
 * policy is a change there and nowhere else:
 * - `#withFreeSlot()`: which worker takes the next connection: with `concurrency` 1 any spare; with
 *   more, the fullest active process that has a free slot, else a spare, so connections pack onto
 *   as few processes as they need;
 * - `#wantedStarting()`: how many workers should be starting or spare (spares, plus one per
 *   `concurrency` waiting connections); a process whose last connection ended becomes a spare
 *   again, and one spare more than `spares` is ended (`#trimSpares`); at most `startConcurrency`
 *   (the core count) start at a time;
 * - the spawn backoff (`#backOff`, `backoffDelay`) after workers die before they are ready, and the
 *   rule that blames the module for a failed start (`#diedStarting`).
 */
import type { Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { backoffDelay, reentrantStep, type BackoffRange } from '@forkd/protocol/internal'
import { ServerClosedError, WorkerModuleError } from './errors.js'
import { HungWatch } from './hung-watch.js'
import type { Credentials } from './ipc.js'
import type { Logger } from './logger.js'
import type { NormalizedServerOptions } from './options.js'
import { WorkerProcess, type KillReason, type WorkerProcessEvents, type WorkerState } from './worker-process.js'
import { workerRows, type WorkerRow } from './worker-rows.js'

const workerEntry = fileURLToPath(new URL('./worker/entry.js', import.meta.url))

/** Delays before the next start after workers died before they were ready: 100 ms doubling to 5 s, jittered. */
const spawnBackoff: BackoffRange = { min: 100, max: 5_000 }

/**
 * While the server starts, workers killed by a signal before they were ready are replaced, up to this
 * many in a row; then the module is blamed (a module that kills itself with a signal at import must
 * still fail the start).
 */
export const startupSignalRetries = 5

/** How long the replacement of a used spare waits, so it does not compete with that connection's handshake. */
const spareRefillDelay = 30

/**
 * Most workers starting at once. A Node start is CPU-bound (about 100 ms of one core), so starting
 * more processes than there are cores finishes none sooner: each waits for a core, and the first
 * spare is ready later than if it had the core to itself. At least two, so that one start's I/O
 * overlaps another's work on a single core.
 */
const startConcurrency = Math.max(2, availableParallelism())

type LiveState = Exclude<WorkerState, 'exited'>
/** The life of the server's worker pool (the diagram at the top of worker-pool.ts). */
export type WorkerPoolPhase = 'idle' | 'starting' | 'running' | 'failed' | 'closing' | 'closed'

/** The worker counters and rows of `server.status()`. */
export interface WorkerPoolStats {
  /** Most connections one worker process serves at once (the `concurrency` option). */
  concurrency: number
  /** Ready workers waiting for a connection. */
  spares: number
  /** Workers serving connections (draining ones included). */
  active: number
  /** Of the active ones, those retired that finish their connections and take no new one. */
  draining: number
  /** Workers loading their module or running setup. */
  starting: number
  /** Workers asked to exit or being killed (old spares after reload, spares at shutdown, hung workers). */
  ending: number
  /** Connections waiting for a worker. */
  pending: number
  /** Worker processes started since the pool started. */
  started: number
  /** Worker processes that exited since the pool started. */
  exited: number
  /** Workers the server killed, by reason. */
  killed: Record<KillReason, number>
  /** Exits by code (`"0"`, `"1"`) or signal (`"SIGKILL"`). */
  exits: Record<string, number>
  /** Calls run by all its workers since the pool started, those that exited included (as last reported). */
  calls: number
  /** Every live worker process, by number. */
  workers: WorkerRow[]
}

export interface WorkerPoolOptions {
  options: NormalizedServerOptions
  /** What workers check connections with; replaced by `setCredentials` on reload. */
  credentials: Credentials
  /** The server's status, for a worker serving a status connection. */
  status(): Record<string, unknown>
}

export class WorkerPool {
  readonly #o: NormalizedServerOptions
  readonly #log: Logger
  readonly #status: () => Record<string, unknown>
  readonly #hungWatch: HungWatch
  readonly #sets: Readonly<Record<LiveState, Set<WorkerProcess>>> = {
    starting: new Set(),
    spare: new Set(),
    active: new Set(),
    draining: new Set(),
    ending: new Set(),
  }
  readonly #events: WorkerProcessEvents = {
    onMove: (worker, from, to) => this.#onMove(worker, from, to),
    onSlotFreed: () => this.#dispatch(),
    onStatusRequest: (worker, seq) => {
      worker.sendStatus(seq, this.#status())
      // The rows are only as fresh as the last reports: ask for new ones, for the next status.
      this.refreshReports()
    },
    onCredentialsRequest: (worker) => worker.sendCredentials(this.#credentials),
  }
  #credentials: Credentials
  #phase: WorkerPoolPhase = 'idle'
  #pending: Socket[] = []
  #nextId = 0
  #reloads = 0
  #started = 0
  #exited = 0
  readonly #killed: Record<KillReason, number> = { hung: 0, unresponsive: 0, shutdown: 0, startTimeout: 0 }
  readonly #exits: Record<string, number> = {}
  /** Calls run by workers that have exited. */
  #exitedCalls = 0
  /** Workers that died before they were ready since the last one became ready. */
  #failuresInARow = 0
  /** Of those, the ones killed by a signal while the pool was starting. */
  #startupSignalDeaths = 0
  #backoffTimer: NodeJS.Timeout | undefined
  #refillTimer: NodeJS.Timeout | undefined
  #startup: { resolve(): void; reject(error: Error): void } | undefined
  #closed: Promise<void> | undefined
  #resolveClosed: (() => void) | undefined

  constructor({ options, credentials, status }: WorkerPoolOptions) {
    this.#o = options
    this.#credentials = credentials
    this.#log = options.logger
    this.#status = status
    this.#hungWatch = new HungWatch(options.hungWorkerTimeout, () => [...this.#sets.active, ...this.#sets.draining], (worker, reason) => this.#killHung(worker, reason))
  }

  get phase(): WorkerPoolPhase {
    return this.#phase
  }

  /** Ready workers waiting for a connection. */
  get spares(): number {
    return this.#sets.spare.size
  }

  /** Connections waiting for a worker. */
  get pending(): number {
    return this.#pending.length
  }

  /** Live worker processes, whatever their state. */
  get live(): number {
    const s = this.#sets
    return s.starting.size + s.spare.size + s.active.size + s.draining.size + s.ending.size
  }

  /** Whether a connection accepted now would be handed to a worker at once. */
  get hasFreeSlot(): boolean {
    return this.#withFreeSlot() !== undefined
  }

  stats(): WorkerPoolStats {
    const s = this.#sets
    const workers = workerRows([...s.starting, ...s.spare, ...s.active, ...s.draining, ...s.ending])
    return {
      concurrency: this.#o.concurrency,
      spares: s.spare.size,
      active: s.active.size + s.draining.size,
      draining: s.draining.size,
      starting: s.starting.size,
      ending: s.ending.size,
      pending: this.#pending.length,
      started: this.#started,
      exited: this.#exited,
      killed: { ...this.#killed },
      exits: { ...this.#exits },
      calls: workers.reduce((sum, w) => sum + w.calls, this.#exitedCalls),
      workers,
    }
  }

  /**
   * Asks every ready worker for a fresh report (a heartbeat; its pong carries it), so that the
   * status rows that follow show the running call and memory as of now rather than of the last
   * heartbeat (there is none with hungWorkerTimeout Infinity, and spares get none at all).
   */
  refreshReports(): void {
    for (const worker of [...this.#sets.spare, ...this.#sets.active]) worker.ping()
  }

  /**
   * Starts the workers and resolves once the first one is ready (its module loaded and set up).
   * Rejects with WorkerModuleError when the module fails to load, and with ServerClosedError when the
   * pool is closed first.
   */
  start(): Promise<void> {
    if (this.#phase !== 'idle') return Promise.reject(new Error('forkd internal error: the worker pool was started twice'))
    this.#phase = 'starting'
    const ready = new Promise<void>((resolve, reject) => (this.#startup = { resolve, reject }))
    this.#hungWatch.start()
    this.#dispatch()
    return ready
  }

  /** Queues an accepted (paused) socket for the next free worker. */
  accept(socket: Socket): void {
    this.#pending.push(socket)
    this.#dispatch()
  }

  /** Workers that ask from now on get these (call `reload()` after, so that every spare does). */
  setCredentials(credentials: Credentials): void {
    this.#credentials = credentials
  }

  /**
   * Replaces every spare (and every worker still starting) with a fresh process, which imports the
   * module again, and asks the clients of active workers to retire them after their checkout.
   */
  reload(): void {
    if (this.#phase !== 'running') return
    this.#log.info('reloading: replacing spares, retiring active workers', { generation: ++this.#reloads })
    for (const worker of [...this.#sets.starting, ...this.#sets.spare]) worker.end('reload')
    for (const worker of [...this.#sets.active]) worker.retire('reload')
    this.#dispatch()
  }

  /**
   * Passes SIGUSR1 or SIGUSR2 on to every worker process that is ready (spares, and those serving
   * connections); workers still loading their module are skipped. Returns how many were signalled.
   */
  signal(name: 'SIGUSR1' | 'SIGUSR2'): number {
    let sent = 0
    for (const state of ['spare', 'active', 'draining'] as const) for (const worker of this.#sets[state]) if (worker.signal(name)) sent++
    return sent
  }

  /**
   * Stops starting workers, drops waiting connections, ends spares and asks the clients of active
   * workers to retire them (`reason` is what they are told). Resolves once every worker has exited.
   * Idempotent.
   */
  close(reason: string): Promise<void> {
    if (this.#closed !== undefined) return this.#closed
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve))
    this.#phase = 'closing'
    if (this.#backoffTimer !== undefined) clearTimeout(this.#backoffTimer)
    this.#backoffTimer = undefined
    if (this.#refillTimer !== undefined) clearTimeout(this.#refillTimer)
    this.#refillTimer = undefined
    this.#startup?.reject(new ServerClosedError('the server was closed while starting'))
    this.#startup = undefined
    for (const socket of this.#pending.splice(0)) socket.destroy()
    for (const worker of [...this.#sets.starting, ...this.#sets.spare]) worker.end(reason)
    for (const worker of [...this.#sets.active]) worker.retire(reason)
    this.#closeIfEmpty()
    return this.#closed
  }

  /** Terminates every active worker (SIGTERM, then SIGKILL after a grace period): the drain is over. */
  terminateActive(): void {
    const active = [...this.#sets.active, ...this.#sets.draining]
    if (active.length > 0) this.#log.info(`terminating ${active.length} active workers`)
    for (const worker of active) worker.terminate('shutdown')
  }

  #closeIfEmpty(): void {
    if (this.#phase !== 'closing' || this.live > 0) return
    this.#phase = 'closed'
    this.#hungWatch.stop()
    this.#resolveClosed?.()
  }

  readonly #dispatch = reentrantStep(() => {
    let handedOff = false
    while (this.#pending.length > 0) {
      const worker = this.#withFreeSlot()
      if (worker === undefined) break
      const socket = this.#pending.shift()!
      if (socket.destroyed) continue
      worker.handOff(socket)
      handedOff = true
    }
    // Replacing a spare that was just handed out can wait a moment: a Node process start takes a
    // whole core for tens of milliseconds, and on a small machine it would slow down the handshake
    // of the very connection that used the spare. Connections still waiting for a worker get one
    // started at once.
    if (handedOff && this.#pending.length === 0) this.#deferRefill()
    else if (this.#pending.length > 0) this.#cancelRefillDeferral()
    this.#startWorkers()
  })

  /**
   * The worker that takes the next connection. One connection per process: a spare. Several: the
   * fullest active process with a free slot (connections pack onto as few processes as they need,
   * and the others empty and end), else a spare.
   */
  #withFreeSlot(): WorkerProcess | undefined {
    if (this.#o.concurrency > 1) {
      let fullest: WorkerProcess | undefined
      for (const worker of this.#sets.active)
        if (worker.hasFreeSlot && (fullest === undefined || worker.connections > fullest.connections)) fullest = worker
      if (fullest !== undefined) return fullest
    }
    return this.#sets.spare.values().next().value
  }

  /** How many workers should be starting or spare now. */
  #wantedStarting(): number {
    // One worker is started even with spares = 0, to prove the module loads before the server binds.
    const floor = this.#phase === 'starting' ? 1 : 0
    // While a spare's refill is deferred, only waiting connections call for a start.
    const spares = this.#refillTimer === undefined ? this.#o.spares : 0
    // Connections still waiting found no free slot anywhere: each new process takes `concurrency` of them.
    return Math.max(spares, floor) + Math.ceil(this.#pending.length / this.#o.concurrency)
  }

  /**
   * A process whose last connection ended is a spare again (concurrency > 1). Spares beyond `spares`
   * that have served connections are ended, the oldest first, so that processes follow the
   * connections down as well as up; a fresh spare is never ended for this (with `spares: 0` the
   * start-up worker waits for the first connection, as with concurrency 1).
   */
  #trimSpares(): void {
    if (this.#o.concurrency === 1 || this.#phase !== 'running' || this.#pending.length > 0) return
    while (this.#sets.spare.size > this.#o.spares) {
      let oldest: WorkerProcess | undefined
      for (const w of this.#sets.spare) if (w.handedOff > 0 && (oldest === undefined || w.id < oldest.id)) oldest = w
      if (oldest === undefined) return
      oldest.end('idle')
    }
  }

  #deferRefill(): void {
    if (this.#refillTimer !== undefined) return
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined
      this.#dispatch()
    }, spareRefillDelay)
    this.#refillTimer.unref()
  }

  #cancelRefillDeferral(): void {
    if (this.#refillTimer === undefined) return
    clearTimeout(this.#refillTimer)
    this.#refillTimer = undefined
  }

  #startWorkers(): void {
    // Never respawn during shutdown, nor while backing off after workers died during start-up.
    if (this.#phase !== 'starting' && this.#phase !== 'running') return
    if (this.#backoffTimer !== undefined) return
    const wanted = this.#wantedStarting()
    const s = this.#sets
    while (s.starting.size + s.spare.size < wanted && s.starting.size < startConcurrency && this.live < this.#o.maxWorkers) {
      if (!this.#spawn()) return
    }
  }

  #spawn(): boolean {
    const id = ++this.#nextId
    let worker: WorkerProcess
    try {
      worker = new WorkerProcess({
        entryPath: workerEntry,
        boot: {
          module: this.#o.workerUrl,
          name: this.#o.name,
          id,
          serverPid: process.pid,
          maxPayload: this.#o.maxPayload,
          handshakeTimeout: this.#o.handshakeTimeout,
          hungWorkerTimeout: Number.isFinite(this.#o.hungWorkerTimeout) ? this.#o.hungWorkerTimeout : null,
          concurrency: this.#o.concurrency,
          credentials: this.#o.tls !== undefined || this.#o.auth !== undefined,
        },
        // Over TLS the stream is the worker's: the server cannot write last words into it.
        lastWords: this.#o.tls === undefined,
        env: this.#o.env,
        execArgv: this.#o.execArgv,
        logger: this.#log,
        workerOutput: this.#o.workerOutput,
        hungWorkerTimeout: this.#o.hungWorkerTimeout,
        startTimeout: this.#o.startTimeout,
        events: this.#events,
      })
    } catch (error) {
      this.#log.error(`cannot start a worker process: ${(error as Error).message}`)
      this.#backOff()
      return false
    }
    this.#started++
    this.#sets.starting.add(worker)
    this.#log.debug(`${worker.label} starting`, { worker: id, pid: worker.pid })
    return true
  }

  #onMove(worker: WorkerProcess, from: WorkerState, to: WorkerState): void {
    if (from !== 'exited') this.#sets[from].delete(worker)
    if (to !== 'exited') this.#sets[to].add(worker)
    if (to === 'spare') {
      if (from === 'starting') this.#onReady(worker)
      this.#trimSpares()
    } else if (to === 'exited') {
      this.#onExit(worker, from)
    }
    this.#dispatch()
  }

  #onReady(worker: WorkerProcess): void {
    this.#failuresInARow = 0
    this.#startupSignalDeaths = 0
    if (worker.setupFailed) this.#log.warn(`${worker.label} setup failed; its client will see the setup exception`)
    if (worker.warmUpFailed !== undefined)
      this.#log.warn(`${worker.label} could not warm up (${worker.warmUpFailed}); it serves all the same, and its first client waits for Node to compile what the warm-up would have`)
    this.#log.debug(`${worker.label} ready`, { worker: worker.id, pid: worker.pid })
    if (this.#phase === 'starting') {
      this.#phase = 'running'
      this.#startup?.resolve()
      this.#startup = undefined
    }
  }

  #onExit(worker: WorkerProcess, from: WorkerState): void {
    const exit = worker.exit!
    this.#exited++
    this.#exitedCalls += worker.report?.calls ?? 0
    const key = exit.signal ?? String(exit.code)
    this.#exits[key] = (this.#exits[key] ?? 0) + 1
    // hung and unresponsive kills are counted when decided, start timeouts below; shutdown kills only if a signal was needed.
    if (exit.killedFor === 'shutdown' && exit.signal !== null) this.#killed.shutdown++
    const fields = { worker: worker.id, pid: worker.pid, code: exit.code, signal: exit.signal }
    // A worker the server asked to end (a spare at a stop or a reload) that exits by a signal (a
    // SIGTERM sent to every process of a service at once, as systemd does) did what it was asked.
    // A load failure is reported as such (below, or by Server.start): its exit says nothing more.
    const asked = exit.killedFor === 'shutdown' || (exit.endedFor !== undefined && !exit.heldConnection)
    if (exit.abnormal && !asked && exit.loadFailure === undefined) this.#log.warn(`${worker.label} ${exit.description}`, fields)
    else this.#log.debug(`${worker.label} ${exit.description}`, fields)
    if (exit.killedFor === 'startTimeout') this.#killed.startTimeout++
    // A start timeout moved it to `ending` to kill it: it still died before it was ready.
    if ((from === 'starting' && exit.killedFor === undefined) || exit.killedFor === 'startTimeout') this.#diedStarting(worker)
    this.#closeIfEmpty()
  }

  /**
   * A worker died before it was ready, not killed by the server. While the pool starts, a module that
   * fails by itself (it said load-failed, or exited with a code) fails the start at once; a worker
   * killed by a signal is taken for a kill from outside (the OOM killer, an operator) and replaced,
   * up to `startupSignalRetries` in a row, then the module is blamed after all. Every such death
   * delays the next start (backoff), so a broken deploy does not become a fork storm.
   */
  #diedStarting(worker: WorkerProcess): void {
    const exit = worker.exit!
    const tail = worker.outputTail()
    const timedOut = exit.killedFor === 'startTimeout'
    const detail = `${exit.description}${timedOut ? '' : ' before it was ready'}${tail.length > 0 ? `; its last output: ${tail.join(' | ')}` : ''}`
    const fields = { worker: worker.id, pid: worker.pid, code: exit.code, signal: exit.signal }
    const path = this.#o.workerPath
    // While starting, Server.start rejects with the failure: a log record of it would say it twice.
    if (exit.loadFailure !== undefined && this.#phase !== 'starting' && this.#phase !== 'failed')
      this.#log.error(`${worker.label} cannot load the worker module: ${exit.loadFailure}`, { ...fields, module: path })
    if (this.#phase === 'starting') {
      // A module that cannot get ready in time will not in the next process either.
      if (exit.signal === null || timedOut)
        return this.#failStart(new WorkerModuleError(path, exit.loadFailure ?? `worker module ${path}: ${detail}`, { cause: exit.loadError }))
      if (++this.#startupSignalDeaths >= startupSignalRetries)
        return this.#failStart(new WorkerModuleError(path, `worker module ${path}: ${detail} (${this.#startupSignalDeaths} workers in a row)`))
      this.#log.warn(`${worker.label} ${detail}; starting another`, fields)
    } else {
      this.#log.error(`${worker.label} ${detail}`, fields)
    }
    this.#backOff()
  }

  #failStart(error: WorkerModuleError): void {
    this.#phase = 'failed'
    this.#startup?.reject(error)
    this.#startup = undefined
  }

  /** Delays the next worker start after workers died before they were ready. */
  #backOff(): void {
    if ((this.#phase !== 'starting' && this.#phase !== 'running') || this.#backoffTimer !== undefined) return
    this.#failuresInARow++
    const delay = Math.round(backoffDelay(this.#failuresInARow, spawnBackoff))
    this.#log.warn(`a worker died before it was ready (${this.#failuresInARow} in a row); next start in ${delay} ms`)
    this.#backoffTimer = setTimeout(() => {
      this.#backoffTimer = undefined
      this.#dispatch()
    }, delay).unref()
  }

  #killHung(worker: WorkerProcess, reason: KillReason): void {
    this.#killed[reason]++
    this.#log.warn(`${worker.label} killing: ${reason === 'hung' ? 'busy on one call' : 'no heartbeat answer'} for more than ${this.#o.hungWorkerTimeout} ms (hungWorkerTimeout)`, { worker: worker.id, pid: worker.pid })
    worker.kill(reason)
  }
}
