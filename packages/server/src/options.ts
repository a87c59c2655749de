/** Server options: defaults in one object, validated in one place. */
import { isAbsolute } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Limits, type TcpEndpoint } from '@forkd/protocol'
import { describeValue, optionChecks, type OptionChecks } from '@forkd/protocol/internal'
import { createStderrLogger, safeLogger, type LogLevel, type Logger } from './logger.js'
import { normalizeMetricsOptions, type MetricsOptions } from './metrics-options.js'
import { checkListenSecurity } from './listen-security.js'
import { normalizeAuth, normalizeTls, type NormalizedTls, type ServerAuthOptions, type ServerTlsOptions } from './security-options.js'

export type { ServerAuthOptions, ServerTlsOptions } from './security-options.js'

/** A listening socket the server was given as an open file descriptor (socket activation). */
export interface InheritedSocket {
  /** The descriptor, e.g. 3 (systemd's first `LISTEN_FDS` socket). */
  fd: number
}

/**
 * Where the server listens: a Unix socket path, a TCP host and port, or a listening socket it is
 * given as an open file descriptor (socket activation: `{ fd: 3 }`).
 */
export type ListenTarget = string | TcpEndpoint | InheritedSocket

/** The log level given to a worker output stream, or 'ignore' to discard it. */
export type OutputLevel = LogLevel | 'ignore'

/** Options of `Server.start` (and, but for `logger`, of `Server.fork` and `forkd serve`). */
export interface ServerOptions {
  /**
   * A Unix socket path (bound atomically, see docs/architecture.md), `{ host, port }` for TCP, or
   * `{ fd }`: a socket already bound and listening, inherited from a supervisor (systemd socket
   * activation). Required. A TCP listener needs authentication (`auth`, or `tls` with
   * `requestCert`) unless `insecure` is true: see docs/security.md.
   */
  listen: ListenTarget
  /** The worker module: an absolute path or a `file:` URL. Required. */
  worker: string | URL
  /** Sets process titles `forkd-server:NAME` and `forkd-worker:NAME(N)`. Default ''. */
  name?: string
  /** Worker processes kept started and ready for new connections, beyond those serving connections. Default 2. */
  spares?: number
  /**
   * Most connections one worker process serves at once. Default 1: every connection gets a process
   * of its own. More suits workers that mostly await I/O: a new connection goes to a process with a
   * free slot, and a process is started only when none has one. Each connection stays an exclusive
   * checkout (its calls run in order, one at a time); calls of different connections interleave at
   * their awaits. See docs/worker-lifetime.md.
   */
  concurrency?: number
  /** A worker busy on one call (or not answering heartbeats) for longer is killed, in ms. Default 300 000. */
  hungWorkerTimeout?: number
  /**
   * A worker not ready this long after it was started (its module loaded, `setup` done, warmed up)
   * is killed, in ms, or Infinity for never. It counts as a start that failed: while the server
   * starts, `Server.start` rejects with WorkerModuleError; later the worker is replaced after the
   * spawn backoff, and the error is logged. Default 60 000.
   */
  startTimeout?: number
  /** File mode of the Unix socket. Default 0o600: only the server's user may connect. */
  socketMode?: number
  /** Largest WebSocket frame a worker accepts, in bytes. Default 64 MiB. */
  maxPayload?: number
  /** Time a worker gives a new connection to complete the WebSocket upgrade, in ms. Default 5 000. */
  handshakeTimeout?: number
  /** Most live worker processes, spares included (so at most maxWorkers × concurrency connections are served). Default 128. */
  maxWorkers?: number
  /** Most connections waiting for a worker when at maxWorkers; past it they get a 503. Default 1024. */
  maxPendingConnections?: number
  /** How long `close()` lets active workers finish before terminating them, in ms. Default 30 000. */
  drainTimeout?: number
  /** Where server records go. Default: one line per record on stderr, prefixed with the server's title. */
  logger?: Logger
  /** Log level for each worker output stream, or 'ignore'. Default `{ stdout: 'info', stderr: 'warn' }`. */
  workerOutput?: {
    /** Level of the worker's stdout lines. Default 'info'. */
    stdout?: OutputLevel
    /** Level of the worker's stderr lines. Default 'warn'. */
    stderr?: OutputLevel
  }
  /** Environment of worker processes. Default process.env. */
  env?: NodeJS.ProcessEnv
  /** Node flags of worker processes (e.g. `['--import', 'tsx']`). Default none. */
  execArgv?: string[]
  /**
   * Serve the status as Prometheus text on `GET http://HOST:PORT/metrics`, plain HTTP on a loopback
   * address only (it has no authentication). Default: no endpoint. See docs/observability.md.
   */
  metrics?: MetricsOptions
  /**
   * TLS on a TCP listener, terminated by each worker process on the socket it is handed: `key` and
   * `cert` (PEM text, a Buffer, or a file path), `ca` and `requestCert: true` for mutual TLS (a
   * client without a certificate signed by `ca` is refused during the handshake).
   */
  tls?: ServerTlsOptions
  /**
   * Bearer tokens: a client must send `Authorization: Bearer TOKEN` with one of `tokens` (several
   * at once, for rotation); any other gets 401. Applies to every path, the status path included.
   */
  auth?: ServerAuthOptions
  /**
   * Allow a TCP listener with no authentication, or bearer tokens in clear text on a non-loopback
   * address. A warning is logged at start. Default false.
   */
  insecure?: boolean
}

export interface NormalizedServerOptions {
  listen: ListenTarget
  /** The worker module as a `file:` URL string, what the worker imports. */
  workerUrl: string
  /** The worker module as a file path, for existence checks and messages. */
  workerPath: string
  name: string
  spares: number
  concurrency: number
  hungWorkerTimeout: number
  startTimeout: number
  socketMode: number
  maxPayload: number
  handshakeTimeout: number
  maxWorkers: number
  maxPendingConnections: number
  drainTimeout: number
  logger: Logger
  workerOutput: { stdout: OutputLevel; stderr: OutputLevel }
  env: NodeJS.ProcessEnv
  execArgv: string[]
  metrics: { host: string; port: number } | undefined
  tls: NormalizedTls | undefined
  auth: { tokens: string[] } | undefined
  insecure: boolean
}

const defaults = {
  name: '',
  spares: 2,
  concurrency: 1,
  hungWorkerTimeout: 300_000,
  startTimeout: 60_000,
  socketMode: 0o600,
  maxPayload: Limits.maxPayload,
  handshakeTimeout: 5_000,
  maxWorkers: 128,
  maxPendingConnections: 1024,
  drainTimeout: 30_000,
}

const known = new Set(['listen', 'worker', 'logger', 'workerOutput', 'env', 'execArgv', 'metrics', 'tls', 'auth', 'insecure', ...Object.keys(defaults)])
const outputLevels = new Set(['debug', 'info', 'warn', 'error', 'ignore'])

const checks: OptionChecks = optionChecks('forkd Server')
const fail: OptionChecks['fail'] = checks.fail
// explicit types: TypeScript requires them on assertion functions
const checkCount: OptionChecks['count'] = checks.count
const checkMs: OptionChecks['ms'] = checks.ms

/** The worker module as a path and a URL; relative paths are refused (the caller resolves them). */
function workerLocation(worker: unknown): { workerPath: string; workerUrl: string } {
  if (worker instanceof URL || (typeof worker === 'string' && worker.startsWith('file:'))) {
    const url = worker instanceof URL ? worker : new URL(worker)
    if (url.protocol !== 'file:') fail('worker', 'an absolute path or a file: URL', worker)
    return { workerPath: fileURLToPath(url), workerUrl: url.href }
  }
  if (typeof worker !== 'string' || !isAbsolute(worker)) fail('worker', 'an absolute path or a file: URL', worker)
  return { workerPath: worker, workerUrl: pathToFileURL(worker).href }
}

/**
 * Validates server options and fills in defaults. Throws TypeError naming the option, what it must
 * be, and what was given. Never touches the file system: `Server.start` checks that the module
 * exists and reports a missing one as WorkerModuleError.
 */
export function normalizeServerOptions(options: ServerOptions): NormalizedServerOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`forkd Server: options must be an object, got ${describeValue(options)}`)
  for (const key of Object.keys(options))
    if (!known.has(key)) fail(key, `one of the known options (${[...known].join(', ')})`, key)

  const { listen } = options
  const listenRule = 'a socket path, { host, port } or { fd }'
  if (typeof listen === 'string') {
    if (listen.length === 0) fail('listen', listenRule, listen)
    // sun_path holds 108 bytes with the terminating NUL; a longer path fails later with an obscure error.
    if (Buffer.byteLength(listen) > 103) fail('listen', 'a socket path shorter than 104 bytes (Unix socket path limit)', listen)
  } else if (typeof listen === 'object' && listen !== null && 'fd' in listen) {
    if (!Number.isInteger(listen.fd) || listen.fd < 0 || Object.keys(listen).length !== 1) fail('listen', '{ fd } with a file descriptor ≥ 0 (and nothing else)', listen)
  } else if (typeof listen !== 'object' || listen === null || typeof listen.host !== 'string' ||
    !Number.isInteger(listen.port) || listen.port < 0 || listen.port > 65535) {
    fail('listen', listenRule, listen)
  }

  const o = { ...defaults }
  for (const [key, value] of Object.entries(options)) if (value !== undefined && key in defaults) (o as Record<string, unknown>)[key] = value

  if (typeof o.name !== 'string') fail('name', 'a string', o.name)
  checkCount('spares', o.spares, 0)
  checkCount('concurrency', o.concurrency, 1)
  checkMs('hungWorkerTimeout', o.hungWorkerTimeout, true)
  checkMs('startTimeout', o.startTimeout, true)
  checkCount('socketMode', o.socketMode, 0)
  if (o.socketMode > 0o777) fail('socketMode', 'a file mode between 0 and 0o777', o.socketMode)
  checkCount('maxPayload', o.maxPayload, 1)
  checkMs('handshakeTimeout', o.handshakeTimeout, false)
  checkCount('maxWorkers', o.maxWorkers, 1)
  checkCount('maxPendingConnections', o.maxPendingConnections, 0)
  checkMs('drainTimeout', o.drainTimeout, true)

  let logger: Logger
  if (options.logger === undefined) {
    logger = createStderrLogger(o.name ? `forkd-server:${o.name}[${process.pid}]` : `forkd-server[${process.pid}]`)
  } else {
    const l = options.logger as unknown as Record<string, unknown>
    if (typeof l !== 'object' || l === null || !['debug', 'info', 'warn', 'error'].every((m) => typeof l[m] === 'function'))
      fail('logger', 'an object with debug, info, warn and error methods', options.logger)
    logger = safeLogger(options.logger)
  }

  const workerOutput = { stdout: 'info' as OutputLevel, stderr: 'warn' as OutputLevel }
  if (options.workerOutput !== undefined) {
    const w = options.workerOutput
    if (typeof w !== 'object' || w === null) fail('workerOutput', '{ stdout?, stderr? }', w)
    for (const stream of ['stdout', 'stderr'] as const) {
      const level = w[stream]
      if (level === undefined) continue
      if (!outputLevels.has(level)) fail(`workerOutput.${stream}`, `one of ${[...outputLevels].join(', ')}`, level)
      workerOutput[stream] = level
    }
  }

  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null)) fail('env', 'an object', options.env)
  if (options.execArgv !== undefined && (!Array.isArray(options.execArgv) || !options.execArgv.every((a) => typeof a === 'string')))
    fail('execArgv', 'an array of strings', options.execArgv)

  if (options.insecure !== undefined && typeof options.insecure !== 'boolean') fail('insecure', 'a boolean', options.insecure)
  const tls = normalizeTls(options.tls)
  const auth = normalizeAuth(options.auth)
  const insecure = options.insecure ?? false
  // An inherited fd's family is known only once it is wrapped (listen.ts); the server checks it then.
  if (!(typeof listen === 'object' && 'fd' in listen))
    checkListenSecurity(typeof listen === 'string' ? { transport: 'unix' } : { transport: 'tcp', host: listen.host, port: listen.port }, { tls, auth, insecure })

  return {
    ...o,
    listen,
    ...workerLocation(options.worker),
    logger,
    workerOutput,
    env: options.env ?? process.env,
    execArgv: options.execArgv ?? [],
    metrics: normalizeMetricsOptions(options.metrics, fail),
    tls,
    auth,
    insecure,
  }
}

