/**
 * The forkd server: binds, accepts or refuses connections, and runs its lifecycle (start, close,
 * drain, reload, takeover) and status. Its workers and the connections waiting for one belong to
 * the WorkerPool (worker-pool.ts).
 *
 * ```
 *  starting ──bound──► listening ──close(), takeover──► closing ──last worker exited──► closed
 *     │                                                    ▲
 *     └──── the module fails to load, close() ─────────────┘
 * ```
 *
 * A connection is accepted paused (the server never reads it) and either refused at once with an
 * HTTP 503 when no spare is ready and `maxPendingConnections` are already waiting, or queued in the
 * pool, which hands it to a worker.
 */
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { stat } from 'node:fs/promises'
import { createServer, type Server as NetServer, type Socket } from 'node:net'
import { PROTOCOL_VERSION, writeRefusal, type TcpEndpoint } from '@forkd/protocol'
import type { Credentials } from './ipc.js'
import { ServerClosedError, WorkerModuleError } from './errors.js'
import { forkServer } from './fork.js'
import { bind, checkSocketPath, type Binding } from './listen.js'
import { checkListenSecurity } from './listen-security.js'
import type { Logger } from './logger.js'
import { startMetricsEndpoint, type MetricsAddress, type MetricsEndpoint } from './metrics-endpoint.js'
import { metricsText } from './metrics-text.js'
import { normalizeServerOptions, type InheritedSocket, type NormalizedServerOptions, type ServerOptions } from './options.js'
import { loadTls, normalizeAuth, normalizeTls, type ServerAuthOptions, type ServerTlsOptions } from './security-options.js'
import { WorkerPool, type WorkerPoolStats } from './worker-pool.js'

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

/** EPIPE/ECONNRESET on a socket nobody reads: nothing to report, and no listener would crash us. */
const ignoreSocketError = (): void => {}

/** A server's life: `starting` until it listens, `closing` from `close()` (or a takeover) until every worker exited. */
export type ServerState = 'starting' | 'listening' | 'closing' | 'closed'

/** What `reload()` may change besides the workers: the credentials new workers are given. */
export interface ReloadOptions {
  /** New tokens (replacing the old ones) for workers started from now on. Only for a server started with `auth`. */
  auth?: ServerAuthOptions
  /** New TLS key and certificates for workers started from now on. Only for a server started with `tls`. */
  tls?: ServerTlsOptions
}

/** Options of `server.close()`. */
export interface CloseOptions {
  /** Let active workers finish their connections first. Default true. */
  drain?: boolean
  /** Longest drain, in ms, before active workers are terminated. Default: the drainTimeout option. */
  timeout?: number
}

/** A snapshot of the server, as `forkd status` prints it. */
export interface ServerStatus extends WorkerPoolStats {
  /** The server's process id. */
  pid: number
  /** forkd's version. */
  version: string
  /** The protocol version the server's workers speak. */
  protocol: number
  /** The server's `name` option. */
  name: string
  /** Where the server is in its life. */
  state: ServerState
  /** Milliseconds since the server started. */
  uptime: number
  /** The socket path, or the TCP address (as bound; `{ fd }` before an inherited socket is wrapped). */
  listen: string | TcpEndpoint | InheritedSocket
  /** Connections refused with 503 because the pending queue was full. */
  refused: number
}

/** The server's events; there is never an `'error'` event. */
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

  #o: NormalizedServerOptions
  readonly #log: Logger
  readonly #net: NetServer
  readonly #pool: WorkerPool
  readonly #startedAt = Date.now()
  #state: ServerState = 'starting'
  #binding: Binding | undefined
  #metrics: MetricsEndpoint | undefined
  #refused = 0
  #closing: Promise<void> | undefined
  #drainTimer: NodeJS.Timeout | undefined
  readonly #closed: Promise<void>
  #resolveClosed!: () => void

  private constructor(options: NormalizedServerOptions, credentials: Credentials) {
    super()
    this.#o = options
    this.#log = options.logger
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve))
    this.#pool = new WorkerPool({ options, credentials, status: () => this.status() as unknown as Record<string, unknown> })
    this.#net = createServer({ pauseOnConnect: true }, (socket) => this.#onConnection(socket))
    this.#net.on('error', (error) => this.#log.error(`listening socket error: ${error.message}`, { code: (error as NodeJS.ErrnoException).code }))
  }

  /**
   * Validates the options, starts the spare workers, waits until the first one has loaded the worker
   * module, then binds. Rejects with TypeError for bad options (a TCP listener without
   * authentication and without `insecure: true` among them, before anything is bound; TLS files
   * that cannot be read or do not load), WorkerModuleError when the module is missing or fails to
   * load, SocketPathError when the path exists and is not a socket (or an inherited fd is not one),
   * or its folder does not exist or is not writable (forkd never creates the folder).
   */
  static async start(options: ServerOptions): Promise<Server> {
    const o = normalizeServerOptions(options)
    await checkModuleFile(o.workerPath)
    // Before any worker starts: a mistake in the path costs no process.
    if (typeof o.listen === 'string') checkSocketPath(o.listen)
    const server = new Server(o, loadCredentials(o))
    try {
      await server.#start()
    } catch (error) {
      await server.close({ drain: false })
      throw error
    }
    return server
  }

  async #start(): Promise<void> {
    await this.#pool.start()
    // Before binding: a server that cannot serve its metrics must fail without taking a socket over.
    if (this.#o.metrics !== undefined) await this.#startMetrics(this.#o.metrics)
    this.#binding = await bind(this.#net, this.#o.listen, this.#o.socketMode, () => this.#onReplaced())
    // Checked again now that the transport is known for sure: an inherited fd may be TCP. Nothing
    // has been accepted yet (the state is still 'starting').
    const address = this.#binding.address
    const warning = checkListenSecurity(typeof address === 'string' ? { transport: 'unix' } : { transport: 'tcp', ...address }, this.#o)
    if (this.#state !== 'starting') throw new ServerClosedError('the server was closed while starting')
    this.#state = 'listening'
    if (warning !== undefined) this.#log.warn(warning, { insecure: true })
    this.#log.info(`listening on ${describeAddress(address)}${this.#o.tls === undefined ? '' : this.#o.tls.requestCert ? ' (TLS, client certificates required)' : ' (TLS)'}`,
      { pid: process.pid, worker: this.#o.workerPath, ...(typeof this.#o.listen === 'object' && 'fd' in this.#o.listen ? { fd: this.#o.listen.fd } : {}) })
  }

  async #startMetrics({ host, port }: { host: string; port: number }): Promise<void> {
    const render = () => {
      // This scrape shows the reports of the last heartbeat; ask for fresh ones for the next.
      this.#pool.refreshReports()
      return metricsText(this.status())
    }
    try {
      this.#metrics = await startMetricsEndpoint(host, port, render)
    } catch (error) {
      throw new Error(`forkd Server: cannot serve metrics on ${host}:${port}: ${(error as Error).message}`, { cause: error })
    }
    this.#log.info(`metrics on http://${host.includes(':') ? `[${host}]` : host}:${this.#metrics.address.port}/metrics`)
  }

  /** Where `GET /metrics` is served (the `metrics` option, with the port bound), or undefined. */
  get metricsAddress(): MetricsAddress | undefined {
    return this.#metrics?.address
  }

  /** Where the server is in its life. */
  get state(): ServerState {
    return this.#state
  }

  /** The socket path, or the TCP address actually bound; undefined before binding. */
  get address(): string | TcpEndpoint | undefined {
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

  /**
   * A snapshot of the server: its counters, and a row per live worker (`workers`: pid, state, age,
   * RSS, calls run, the running call's method and time) as of the workers' last reports, which are
   * refreshed by every status request and every `/metrics` scrape.
   */
  status(): ServerStatus {
    return {
      pid: process.pid,
      version,
      protocol: PROTOCOL_VERSION,
      name: this.#o.name,
      state: this.#state,
      uptime: Date.now() - this.#startedAt,
      listen: this.#binding?.address ?? this.#o.listen,
      ...this.#pool.stats(),
      refused: this.#refused,
    }
  }

  /**
   * SIGHUP semantics: replaces every spare with a fresh process (which re-imports the worker module)
   * and asks the clients of active workers to retire them after their current checkout. Does nothing
   * once the server is closing.
   */
  reload(options: ReloadOptions = {}): void {
    if (this.#state !== 'listening') return
    const credentials = this.#reloadedCredentials(options)
    if (credentials !== undefined) this.#pool.setCredentials(credentials)
    this.#pool.reload()
  }

  /**
   * Passes `SIGUSR1` or `SIGUSR2` on to every worker process that is ready: spares and those serving
   * connections (workers still loading their module are skipped). A worker module handles them with
   * `defineWorker({ onSignal(name) {...} })`; without it the worker ignores them. `forkd serve` and
   * `Server.fork` servers do this when they receive either signal; an embedding program calls it
   * from its own handler. Returns how many workers were signalled.
   *
   * @example
   * ```ts
   * process.on('SIGUSR2', () => server.signal('SIGUSR2'))   // e.g. workers reopen their log files
   * ```
   */
  signal(name: 'SIGUSR1' | 'SIGUSR2'): number {
    if (name !== 'SIGUSR1' && name !== 'SIGUSR2') throw new TypeError(`forkd Server.signal: the signal must be "SIGUSR1" or "SIGUSR2", got ${JSON.stringify(name)}`)
    return this.#pool.signal(name)
  }

  /**
   * The credentials for workers started after a reload: new tokens or TLS options when given, and
   * TLS files read again (a certificate renewed in place). Throws TypeError before anything
   * changes; a reload cannot add or remove a kind of security (restart for that).
   */
  #reloadedCredentials(options: ReloadOptions): Credentials | undefined {
    if (typeof options !== 'object' || options === null) throw new TypeError(`forkd Server.reload: options must be an object, got ${String(options)}`)
    for (const key of Object.keys(options))
      if (key !== 'auth' && key !== 'tls') throw new TypeError(`forkd Server.reload: option "${key}" must be one of auth, tls, got ${JSON.stringify(key)}`)
    if (options.auth !== undefined && this.#o.auth === undefined)
      throw new TypeError('forkd Server.reload: option "auth" must be absent: this server was started without auth (restart it to add tokens)')
    if (options.tls !== undefined && this.#o.tls === undefined)
      throw new TypeError('forkd Server.reload: option "tls" must be absent: this server was started without tls (restart it to add TLS)')
    if (options.tls !== undefined && normalizeTls(options.tls)!.requestCert !== this.#o.tls!.requestCert)
      throw new TypeError('forkd Server.reload: option "tls.requestCert" must stay as the server started (restart it to change mutual TLS)')
    const auth = options.auth === undefined ? this.#o.auth : normalizeAuth(options.auth)
    const tls = options.tls === undefined ? this.#o.tls : normalizeTls(options.tls)
    if (options.auth === undefined && tls === undefined) return undefined
    const credentials = loadCredentials({ tls, auth })
    this.#o = { ...this.#o, auth, tls }
    return credentials
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
    if (this.#net.listening) this.#net.close()
    this.#binding?.release()
    const metrics = this.#metrics?.close()
    await this.#pool.close(retireReason)
    await metrics
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer)
    this.#state = 'closed'
    const { started, exited } = this.#pool.stats()
    this.#log.info('closed', { started, exited })
    this.#resolveClosed()
    this.emit('close')
  }

  /** Terminates active workers once `timeout` ms have passed (at once for 0); only ever shortens. */
  #limitDrain(timeout: number): void {
    if (timeout === Infinity || this.#state === 'closed') return
    if (timeout === 0) {
      this.#pool.terminateActive()
      return
    }
    const deadline = Date.now() + timeout
    const timer = this.#drainTimer as (NodeJS.Timeout & { deadline?: number }) | undefined
    if (timer?.deadline !== undefined && timer.deadline <= deadline) return
    if (timer !== undefined) clearTimeout(timer)
    const next = setTimeout(() => this.#pool.terminateActive(), timeout) as NodeJS.Timeout & { deadline?: number }
    next.deadline = deadline
    this.#drainTimer = next
  }

  #onConnection(socket: Socket): void {
    socket.on('error', ignoreSocketError)
    if (this.#state !== 'listening') {
      socket.destroy()
      return
    }
    const pool = this.#pool
    if (pool.pending >= this.#o.maxPendingConnections && !pool.hasFreeSlot) {
      this.#refused++
      this.#log.warn(`refused a connection: ${pool.live} workers (maxWorkers ${this.#o.maxWorkers}) and ${pool.pending} connections waiting (maxPendingConnections)`)
      // A TLS client would read a plaintext 503 as a broken handshake: it gets a closed connection.
      if (this.#o.tls === undefined) writeRefusal(socket, 503, 'server at capacity')
      else socket.destroy()
      return
    }
    pool.accept(socket)
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

function describeAddress(address: string | TcpEndpoint | { fd: number }): string {
  if (typeof address === 'string') return address
  return 'fd' in address ? `inherited fd ${address.fd}` : `${address.host}:${address.port}`
}

/** Reads the TLS files and keeps the tokens: what every worker is given when it asks (ipc.ts). Throws TypeError. */
function loadCredentials(o: Pick<NormalizedServerOptions, 'tls' | 'auth'>): Credentials {
  return { tls: o.tls === undefined ? null : loadTls(o.tls), tokens: o.auth?.tokens ?? null }
}
