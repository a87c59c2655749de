/**
 * The forkd server: listens, keeps spare worker processes started, hands each accepted connection
 * to one of them, kills hung workers, and winds down on close(), reload() or takeover.
 *
 * Worker sets, one per state (a worker is in exactly one until it exits):
 *
 * ```
 *  #starting ──ready──► #spares ──connection──► #active
 *      │                   │                       │
 *      └──end (close, ─────┴──► #ending            │
 *          reload)                 │               │
 *                                  └─────exit──────┴──► (gone)
 * ```
 *
 * `#dispatch()` runs after every change and is the only place that assigns workers to waiting
 * connections and starts new workers.
 */
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type Server as NetServer, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { PROTOCOL_VERSION } from '@forkd/protocol'
import { reentrantStep } from '@forkd/protocol/internal'
import { ServerClosedError, WorkerModuleError } from './errors.js'
import { forkServer } from './fork.js'
import { HungWatch } from './hung-watch.js'
import { bind, type Binding } from './listen.js'
import type { Logger } from './logger.js'
import { normalizeServerOptions, type NormalizedServerOptions, type ServerOptions } from './options.js'
import { WorkerProcess, type KillReason, type WorkerExit } from './worker-process.js'

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
const workerEntry = fileURLToPath(new URL('./worker/entry.js', import.meta.url))

/** First and last delay before restarting after a worker died before it was ready. */
const backoffMin = 100
const backoffMax = 5_000

const refusal = 'HTTP/1.1 503 Service Unavailable\r\nX-Forkd-Error: server at capacity\r\nConnection: close\r\nContent-Length: 18\r\n\r\nserver at capacity'

/** How long the replacement of a used spare waits, so it does not compete with that connection's handshake. */
const spareRefillDelay = 30

export type ServerState = 'starting' | 'listening' | 'closing' | 'closed'

export interface CloseOptions {
  /** Let active workers finish their connections first. Default true. */
  drain?: boolean
  /** Longest drain, in ms, before active workers are terminated. Default: the drainTimeout option. */
  timeout?: number
}

/** A snapshot of the server, as `forkd status` prints it. */
export interface ServerStatus {
  pid: number
  version: string
  protocol: number
  name: string
  state: ServerState
  /** Milliseconds since the server started. */
  uptime: number
  listen: string | { host: string; port: number }
  /** Ready workers waiting for a connection. */
  spares: number
  /** Workers serving a connection. */
  active: number
  /** Workers loading their module or running setup. */
  starting: number
  /** Workers asked to exit (old spares after reload, spares at shutdown). */
  ending: number
  /** Connections waiting for a worker. */
  pending: number
  /** Worker processes started since the server started. */
  started: number
  /** Worker processes that exited since the server started. */
  exited: number
  /** Workers the server killed, by reason. */
  killed: Record<KillReason, number>
  /** Exits by code (`"0"`, `"1"`) or signal (`"SIGKILL"`). */
  exits: Record<string, number>
  /** Connections refused with 503 because the pending queue was full. */
  refused: number
}

export interface ServerEvents {
  /** Another server took over the socket path; this one stopped accepting and is draining. */
  replaced: []
  /** Every worker has exited and the server is closed. */
  close: []
}

/**
 * A forkd server. Start one with `Server.start(options)`, or in a child process with
 * `Server.fork(options)`.
 *
 * Events: `'replaced'` (another server took over the path) and `'close'`. Background failures are
 * never emitted as `'error'`: they go to the logger.
 *
 * @example
 * ```ts
 * const server = await Server.start({ listen: '/run/app/forkd.sock', worker: new URL('./worker.js', import.meta.url) })
 * process.on('SIGHUP', () => server.reload())
 * process.on('SIGTERM', () => void server.close())
 * ```
 */
export class Server extends EventEmitter<ServerEvents> {
  /** Starts a server in a child process that exits when this process exits. See `forkServer`. */
  static readonly fork = forkServer

  readonly #o: NormalizedServerOptions
  readonly #log: Logger
  readonly #net: NetServer
  readonly #startedAt = Date.now()
  readonly #hungWatch: HungWatch
  #state: ServerState = 'starting'
  #binding: Binding | undefined
  readonly #starting = new Set<WorkerProcess>()
  readonly #spares = new Set<WorkerProcess>()
  readonly #active = new Set<WorkerProcess>()
  readonly #ending = new Set<WorkerProcess>()
  #pending: Socket[] = []
  #nextId = 0
  #generation = 0
  #started = 0
  #exited = 0
  #refused = 0
  readonly #killed: Record<KillReason, number> = { hung: 0, unresponsive: 0, shutdown: 0 }
  readonly #exits: Record<string, number> = {}
  #failuresInARow = 0
  #backoffTimer: NodeJS.Timeout | undefined
  #refillTimer: NodeJS.Timeout | undefined
  #startWaiter: { resolve(): void; reject(error: Error): void } | undefined
  #closing: Promise<void> | undefined
  #drainTimer: NodeJS.Timeout | undefined
  readonly #closed: Promise<void>
  #resolveClosed!: () => void

  private constructor(options: NormalizedServerOptions) {
    super()
    this.#o = options
    this.#log = options.logger
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve))
    this.#net = createServer({ pauseOnConnect: true }, (socket) => this.#onConnection(socket))
    this.#net.on('error', (error) => this.#log.error(`listening socket error: ${error.message}`, { code: (error as NodeJS.ErrnoException).code }))
    this.#hungWatch = new HungWatch(options.hungWorkerTimeout, () => this.#active, (worker, reason) => this.#killHung(worker, reason))
  }

  /**
   * Validates the options, starts the spare workers, waits until the first one has loaded the worker
   * module, then binds. Rejects with TypeError for bad options, WorkerModuleError when the module is
   * missing or fails to load, SocketPathError when the path exists and is not a socket.
   */
  static async start(options: ServerOptions): Promise<Server> {
    const o = normalizeServerOptions(options)
    await checkModuleFile(o.workerPath)
    const server = new Server(o)
    try {
      await server.#start()
    } catch (error) {
      await server.close({ drain: false })
      throw error
    }
    return server
  }

  async #start(): Promise<void> {
    const firstReady = new Promise<void>((resolve, reject) => (this.#startWaiter = { resolve, reject }))
    this.#dispatch()
    await firstReady
    this.#binding = await bind(this.#net, this.#o.listen, this.#o.socketMode, () => this.#onReplaced())
    if (this.#state !== 'starting') throw new ServerClosedError('the server was closed while starting')
    this.#state = 'listening'
    this.#hungWatch.start()
    this.#log.info(`listening on ${describeAddress(this.#binding.address)}`, { pid: process.pid, worker: this.#o.workerPath })
    this.#dispatch()
  }

  get state(): ServerState {
    return this.#state
  }

  /** The socket path, or the TCP address actually bound; undefined before binding. */
  get address(): string | { host: string; port: number } | undefined {
    return this.#binding?.address
  }

  /** The server's process id (the current process: `Server.fork` returns the child's pid). */
  get pid(): number {
    return process.pid
  }

  /** Resolves once the server has closed, whatever the cause (close(), takeover). */
  get closed(): Promise<void> {
    return this.#closed
  }

  status(): ServerStatus {
    return {
      pid: process.pid,
      version,
      protocol: PROTOCOL_VERSION,
      name: this.#o.name,
      state: this.#state,
      uptime: Date.now() - this.#startedAt,
      listen: this.#binding?.address ?? this.#o.listen,
      spares: this.#spares.size,
      active: this.#active.size,
      starting: this.#starting.size,
      ending: this.#ending.size,
      pending: this.#pending.length,
      started: this.#started,
      exited: this.#exited,
      killed: { ...this.#killed },
      exits: { ...this.#exits },
      refused: this.#refused,
    }
  }

  /**
   * SIGHUP semantics: replaces every spare with a fresh process (which re-imports the worker module)
   * and asks the clients of active workers to retire them after their current checkout. Does nothing
   * once the server is closing.
   */
  reload(): void {
    if (this.#state !== 'listening') return
    this.#generation++
    this.#log.info('reloading: replacing spares, retiring active workers', { generation: this.#generation })
    for (const worker of [...this.#starting, ...this.#spares]) this.#end(worker, 'reload')
    for (const worker of this.#active) worker.retire('reload')
    this.#dispatch()
  }

  /**
   * Stops accepting, ends spares and, when draining, lets active workers finish their connections
   * (their clients are asked to retire them) until they exit or `timeout` passes; then SIGTERM, and
   * SIGKILL 2 s later. Resolves when every worker process has exited. Idempotent: a later call
   * returns the same promise, but may shorten the drain (`drain: false` terminates at once).
   */
  close(options: CloseOptions = {}): Promise<void> {
    const drain = options.drain ?? true
    const timeout = options.timeout ?? this.#o.drainTimeout
    if (typeof drain !== 'boolean') return Promise.reject(new TypeError(`forkd Server.close: option "drain" must be a boolean, got ${String(drain)}`))
    if (typeof timeout !== 'number' || !(timeout >= 0))
      return Promise.reject(new TypeError(`forkd Server.close: option "timeout" must be a number of milliseconds ≥ 0, or Infinity, got ${String(timeout)}`))
    if (this.#closing === undefined) this.#closing = this.#shutdown('shutdown')
    this.#limitDrain(drain ? timeout : 0)
    return this.#closing
  }

  #onReplaced(): void {
    if (this.#state !== 'listening') return
    this.#log.info(`another server took over ${describeAddress(this.#o.listen)}: no longer accepting; active workers finish their connections`)
    this.#closing = this.#shutdown('server-replaced')
    this.emit('replaced')
  }

  async #shutdown(retireReason: string): Promise<void> {
    this.#state = 'closing'
    if (this.#backoffTimer !== undefined) clearTimeout(this.#backoffTimer)
    this.#backoffTimer = undefined
    if (this.#refillTimer !== undefined) clearTimeout(this.#refillTimer)
    this.#refillTimer = undefined
    this.#startWaiter?.reject(new ServerClosedError('the server was closed while starting'))
    this.#startWaiter = undefined
    if (this.#net.listening) this.#net.close()
    this.#binding?.release()
    for (const socket of this.#pending.splice(0)) socket.destroy()
    for (const worker of [...this.#starting, ...this.#spares]) this.#end(worker, retireReason)
    for (const worker of this.#active) worker.retire(retireReason)
    await Promise.all([...this.#ending, ...this.#active].map((w) => w.exited))
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer)
    this.#hungWatch.stop()
    this.#state = 'closed'
    this.#log.info('closed', { started: this.#started, exited: this.#exited })
    this.#resolveClosed()
    this.emit('close')
  }

  /** Terminates active workers once `timeout` ms have passed (at once for 0); only ever shortens. */
  #limitDrain(timeout: number): void {
    if (timeout === Infinity || this.#state === 'closed') return
    if (timeout === 0) {
      this.#terminateActive()
      return
    }
    const deadline = Date.now() + timeout
    const timer = this.#drainTimer as (NodeJS.Timeout & { deadline?: number }) | undefined
    if (timer?.deadline !== undefined && timer.deadline <= deadline) return
    if (timer !== undefined) clearTimeout(timer)
    const next = setTimeout(() => this.#terminateActive(), timeout) as NodeJS.Timeout & { deadline?: number }
    next.deadline = deadline
    this.#drainTimer = next
  }

  #terminateActive(): void {
    if (this.#active.size > 0) this.#log.info(`terminating ${this.#active.size} active workers`)
    for (const worker of this.#active) worker.terminate('shutdown')
  }

  #onConnection(socket: Socket): void {
    // EPIPE/ECONNRESET on a socket nobody reads: nothing to report, and no listener would crash us.
    socket.on('error', () => {})
    if (this.#state !== 'listening') {
      socket.destroy()
      return
    }
    if (this.#spares.size === 0 && this.#pending.length >= this.#o.maxPendingConnections) {
      this.#refused++
      this.#log.warn(`refused a connection: ${this.#liveCount} workers (maxWorkers ${this.#o.maxWorkers}) and ${this.#pending.length} connections waiting (maxPendingConnections)`)
      socket.end(refusal)
      return
    }
    this.#pending.push(socket)
    this.#dispatch()
  }

  get #liveCount(): number {
    return this.#starting.size + this.#spares.size + this.#active.size + this.#ending.size
  }

  /** The one place that gives waiting connections to spares and starts workers (re-entrancy: see reentrantStep). */
  readonly #dispatch = reentrantStep(() => {
    let handedOff = false
    while (this.#pending.length > 0 && this.#spares.size > 0) {
      const socket = this.#pending.shift()!
      if (socket.destroyed) continue
      const worker = this.#spares.values().next().value!
      this.#spares.delete(worker)
      this.#active.add(worker)
      worker.handOff(socket)
      handedOff = true
    }
    // Replacing a spare that was just handed out can wait a moment: a Node process start takes
    // a whole core for tens of milliseconds, and on a small machine it would slow down the
    // handshake of the very connection that used the spare. Connections still waiting for a
    // worker get one started at once.
    if (handedOff && this.#pending.length === 0) this.#startWorkersSoon()
    else this.#startWorkers()
  })

  #startWorkersSoon(): void {
    if (this.#refillTimer !== undefined) return
    this.#refillTimer = setTimeout(() => {
      this.#refillTimer = undefined
      this.#startWorkers()
    }, spareRefillDelay)
    this.#refillTimer.unref()
  }

  #startWorkers(): void {
    if (this.#refillTimer !== undefined) {
      clearTimeout(this.#refillTimer)
      this.#refillTimer = undefined
    }
    // Never respawn during shutdown, nor while backing off after workers died during start-up.
    if (this.#state !== 'starting' && this.#state !== 'listening') return
    if (this.#backoffTimer !== undefined) return
    // One worker is started even with spares = 0, to prove the module loads before we bind.
    const wanted = Math.max(this.#o.spares, this.#state === 'starting' ? 1 : 0) + this.#pending.length
    while (this.#starting.size + this.#spares.size < wanted && this.#liveCount < this.#o.maxWorkers) {
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
        },
        env: this.#o.env,
        execArgv: this.#o.execArgv,
        logger: this.#log,
        workerOutput: this.#o.workerOutput,
        hungWorkerTimeout: this.#o.hungWorkerTimeout,
        generation: this.#generation,
        events: {
          onReady: (w, setupFailed) => this.#onReady(w, setupFailed),
          onLoadFailed: (w, message) => this.#onLoadFailed(w, message),
          onExit: (w, exit) => this.#onExit(w, exit),
          onStatusRequest: (w, seq) => w.sendStatus(seq, this.status() as unknown as Record<string, unknown>),
        },
      })
    } catch (error) {
      this.#log.error(`cannot start a worker process: ${(error as Error).message}`)
      this.#backOff()
      return false
    }
    this.#started++
    this.#starting.add(worker)
    this.#log.debug(`${worker.label} starting`, { worker: id, pid: worker.pid })
    return true
  }

  #onReady(worker: WorkerProcess, setupFailed: boolean): void {
    this.#starting.delete(worker)
    this.#failuresInARow = 0
    if (setupFailed) this.#log.warn(`${worker.label} setup failed; its client will see the setup exception`)
    if ((this.#state !== 'starting' && this.#state !== 'listening') || worker.generation !== this.#generation) {
      this.#ending.add(worker)
      worker.end(this.#state === 'closing' ? 'shutdown' : 'reload')
      return
    }
    this.#spares.add(worker)
    this.#log.debug(`${worker.label} ready`, { worker: worker.id, pid: worker.pid })
    this.#startWaiter?.resolve()
    this.#startWaiter = undefined
    this.#dispatch()
  }

  #onLoadFailed(worker: WorkerProcess, message: string): void {
    this.#log.error(`${worker.label} cannot load the worker module: ${message}`, { worker: worker.id, module: this.#o.workerPath })
    this.#startWaiter?.reject(new WorkerModuleError(this.#o.workerPath, message))
    this.#startWaiter = undefined
  }

  #onExit(worker: WorkerProcess, exit: WorkerExit): void {
    this.#starting.delete(worker)
    this.#spares.delete(worker)
    this.#active.delete(worker)
    this.#ending.delete(worker)
    this.#exited++
    const key = exit.signal ?? String(exit.code)
    this.#exits[key] = (this.#exits[key] ?? 0) + 1
    // hung and unresponsive kills are counted when decided; shutdown kills only if a signal was needed.
    if (exit.killedFor === 'shutdown' && exit.signal !== null) this.#killed.shutdown++
    const fields = { worker: worker.id, pid: worker.pid, code: exit.code, signal: exit.signal }
    if (exit.abnormal && exit.killedFor !== 'shutdown') this.#log.warn(`${worker.label} ${exit.description}`, fields)
    else this.#log.debug(`${worker.label} ${exit.description}`, fields)

    if (exit.previousState === 'starting' && exit.killedFor === undefined) {
      const tail = worker.outputTail()
      const detail = `${exit.description} before it was ready${tail.length > 0 ? `; its last output: ${tail.join(' | ')}` : ''}`
      if (this.#startWaiter !== undefined) {
        this.#startWaiter.reject(new WorkerModuleError(this.#o.workerPath, `worker module ${this.#o.workerPath}: the worker process ${detail}`))
        this.#startWaiter = undefined
      } else {
        this.#log.error(`${worker.label} ${detail}`, fields)
        this.#backOff()
      }
    }
    this.#dispatch()
  }

  /** Delays the next worker start after workers died during start-up: 100 ms, doubling, up to 5 s. */
  #backOff(): void {
    if (this.#state !== 'listening' || this.#backoffTimer !== undefined) return
    this.#failuresInARow++
    const delay = Math.min(backoffMax, backoffMin * 2 ** (this.#failuresInARow - 1))
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

  #end(worker: WorkerProcess, reason: string): void {
    this.#starting.delete(worker)
    this.#spares.delete(worker)
    this.#ending.add(worker)
    worker.end(reason)
  }
}

async function checkModuleFile(path: string): Promise<void> {
  try {
    const st = await stat(path)
    if (!st.isFile()) throw new WorkerModuleError(path, `worker module ${path}: not a file`)
  } catch (error) {
    if (error instanceof WorkerModuleError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new WorkerModuleError(path, `worker module ${path}: ${code === 'ENOENT' ? 'no such file' : (error as Error).message}`, { cause: error })
  }
}

function describeAddress(address: string | { host: string; port: number }): string {
  return typeof address === 'string' ? address : `${address.host}:${address.port}`
}
