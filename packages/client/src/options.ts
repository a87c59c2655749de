/** Client options: defaults in one object, validated in one place. */
import { Limits } from '@forkd/protocol'
import { describeValue, optionChecks, type OptionChecks } from '@forkd/protocol/internal'
import { checkResolver, parseConnect, type ConnectSource, type ConnectTarget, type DnsResolver } from './connect-targets.js'
import { toSinkFunction, type LogRecord, type LogSink } from './log-sink.js'
import type { Checkout } from './remote-types.js'
import { normalizeSecurity, type ClientAuthOptions, type ClientTlsOptions, type TransportSecurity } from './transport-security.js'

export type { ConnectTarget, DnsResolver, DnsTarget, SrvTarget } from './connect-targets.js'

/** Options of `new Client(options)`. Only `connect` is required. */
export interface ClientOptions<W = unknown> {
  /**
   * Where the servers listen. One endpoint: an absolute Unix socket path, `'host:port'` (as `forkd
   * serve --listen` takes it) or `{ host, port }`; a list of endpoints; `{ dns: 'name', port }`
   * (one server per A/AAAA record); or `{ srv: '_forkd._tcp.name' }` (SRV records give host and
   * port). A list may mix these forms. See docs/multi-host.md.
   */
  connect: ConnectTarget | readonly ConnectTarget[]
  /** Shown in error messages as `NAME -> method`. */
  name?: string
  /** Workers connected at start and kept connected ("hot standby"). Capped at maxWorkers. Default 2. */
  minWorkers?: number
  /** Most workers at once; more checkouts wait, by priority then first come, first served. Default 20. */
  maxWorkers?: number
  /** Per-request timeout in ms (waiting for a worker, then each call). `Infinity` for none. Default 30 000. */
  timeout?: number
  /** Retire a worker after this many checkouts. Default Infinity. */
  maxCheckouts?: number
  /**
   * Close a worker idle in the pool for this long, in ms, while the pool has more than `minWorkers`
   * (`'remove'` reason `'idle'`): the pool shrinks back to `minWorkers`, to nothing with
   * `minWorkers: 0`, and grows again on demand. Default Infinity (off).
   */
  idleTimeout?: number
  /**
   * Retire a worker whose connection is older than this, in ms, when it is next released or found
   * idle, never while checked out (`'remove'` reason `'age'`). Each worker's limit is drawn once
   * between 90 % and 100 % of this, so workers made together do not all retire together. Default
   * Infinity (off).
   */
  maxWorkerAge?: number
  /**
   * Retire a worker whose process's resident set size, in bytes, passed this (`'remove'` reason
   * `'memory'`). The worker reports its RSS with every release; the client waits for it before the
   * worker serves again, so a worker past the limit serves no further checkout. Default Infinity (off).
   */
  maxWorkerMemory?: number
  /** Destroy a worker whose checkout saw an error, instead of returning it to the pool. Default true. */
  reforkAfterError?: boolean
  /**
   * Most checkouts waiting for a worker; past it `checkout()` rejects with QueueFullError. Only
   * checkouts that have to wait count: with 0, a checkout is served when a worker is idle and
   * refused otherwise. Default 100 000.
   */
  maxPendingCheckouts?: number
  /** Largest frame accepted from a worker, in bytes. Default 64 MiB. */
  maxPayload?: number
  /** First delay between connection attempts while the server is unreachable, in ms. Default 10. */
  connectRetryMin?: number
  /** Longest delay between connection attempts, in ms. Default 500. */
  connectRetryMax?: number
  /**
   * A connection attempt that has not completed the forkd handshake by then is abandoned and
   * retried, in ms. Default 10 000. (An attempt that is merely slow stops holding back other
   * attempts after four times the usual handshake, at least a second and at most half this.)
   */
  connectTimeout?: number
  /**
   * Record where checkouts are made, so that the warnings about a checkout garbage-collected
   * without release or held too long, and a checkout timeout's message, name the place. A site
   * costs a stack capture (2 to 6 µs).
   * - `true`: every checkout.
   * - `'sampled'` (the default unless NODE_ENV is "production"): every checkout while the client
   *   makes fewer than 1 000 a second or comes in bursts of up to 100; above that, 1 000 a second,
   *   which caps the cost at about half a percent of a core.
   * - `false` (the default when NODE_ENV is "production"): none.
   *
   * When a checkout leaks with no site recorded, the warning says so and every checkout of the
   * process is recorded from then on, so the next one names the place.
   */
  trackCheckoutSites?: boolean | 'sampled'
  /** Connect `minWorkers` at construction. With false nothing connects until the first `checkout()` or `ready()`. Default true. */
  autostart?: boolean
  /**
   * When nothing is checked out or waiting, the client's sockets and timers do not keep the
   * process alive: a script that forgets `close()` can still exit. Default false.
   */
  allowExitOnIdle?: boolean
  /**
   * Runs on a worker before it is handed out (may be async). `false` or a throw retires that
   * worker (`'remove'` reason `'validate'`) and another is tried, within the checkout's timeout.
   */
  validate?: (checkout: Checkout<W>) => boolean | Promise<boolean>
  /** A failed connection attempt rejects the oldest waiting checkout at once with its error, instead of retrying. Default false. */
  propagateConnectError?: boolean
  /** Warn once (FORKD_WARN_CHECKOUT_HELD) when a checkout is held longer than this, ms, saying where it was made. Default Infinity (off). */
  holdWarning?: number
  /** Where the client's own records go (retirements, connection failures, warnings): a function or a pino-style logger. */
  log?: LogSink
  /**
   * DNS names in `connect` are resolved again this often, in ms (each time 80 to 100 % of it, so
   * that clients started together do not query together), and at once when a connection attempt
   * fails. Default 5 000.
   */
  resolveInterval?: number
  /**
   * Resolves the DNS names in `connect`: a `dns.promises.Resolver` (e.g. with `setServers` pointing
   * at a chosen DNS server) or an object with `resolve4`, `resolve6` and `resolveSrv`. Default: a
   * `Resolver` using the system's DNS servers.
   */
  resolver?: DnsResolver
  /**
   * An idle worker is sent a WebSocket ping this often, in ms; one that does not answer within
   * `pingTimeout` (a frozen process, a host gone without a word) is replaced before anyone checks it
   * out. `Infinity` turns pings off. Default 5 000.
   */
  pingInterval?: number
  /** How long a ping may wait for its answer, in ms. Default 5 000. */
  pingTimeout?: number
  /**
   * TCP keepalive on connections to TCP endpoints: the idle time in ms (whole seconds, at least
   * 1 000) before the first probe; Node then probes every second, ten times. Bounds how long a busy
   * connection to a vanished host stays open when its call has no timeout. Default 10 000.
   */
  tcpKeepAlive?: number
  /**
   * Keep the `waitTime`, `runTime` and `holdTime` histograms of `stats()` (and the Prometheus
   * histograms built on them). Each sample costs a clock read and a native histogram record, well
   * under a microsecond. Default true.
   */
  recordTiming?: boolean
  /**
   * TLS on connections to TCP endpoints (a server started with `tls`): the CA to trust, a client
   * certificate for mutual TLS, the server name to check. Unix socket endpoints never use TLS.
   * See docs/security.md.
   */
  tls?: ClientTlsOptions
  /** The bearer token for a server started with `auth.tokens` (or a function returning it). */
  auth?: ClientAuthOptions
}

/** The client's options after defaults and checks, as `client.options` returns them. */
export interface NormalizedClientOptions {
  /** The parsed `connect`: one source per entry, duplicates removed. */
  connect: readonly ConnectSource[]
  /** The resolver given, if any (the default one is made when a DNS name needs it). */
  resolver: DnsResolver | undefined
  /** How often DNS names in `connect` are resolved again, ms. */
  resolveInterval: number
  /** How often idle workers are pinged, ms (`Infinity`: never). */
  pingInterval: number
  /** An idle worker that does not answer a ping within this is replaced, ms. */
  pingTimeout: number
  /** TCP keepalive idle time of TCP connections, ms. */
  tcpKeepAlive: number
  /** Whether waitTime, runTime and holdTime histograms are recorded (the `recordTiming` option). */
  recordTiming: boolean
  /** `tls` and `auth`, read and checked. */
  security: TransportSecurity
  /** Shown in errors as `NAME -> method`. */
  name: string
  /** Workers kept connected. */
  minWorkers: number
  /** Most workers; more checkouts wait. */
  maxWorkers: number
  /** Per request: the wait for a worker, then each call, ms (`Infinity`: none). */
  timeout: number
  /** A worker is retired after this many checkouts. */
  maxCheckouts: number
  /** ms; Infinity: idle workers are never closed for resting. */
  idleTimeout: number
  /** ms; Infinity: workers are never retired for their age. */
  maxWorkerAge: number
  /** Bytes of resident set size; Infinity: workers are never asked for their stats. */
  maxWorkerMemory: number
  /** Whether a worker whose checkout saw an error is replaced. */
  reforkAfterError: boolean
  /** Most checkouts waiting for a worker. */
  maxPendingCheckouts: number
  /** Largest message accepted from a worker, bytes. */
  maxPayload: number
  /** First delay between failing connection attempts, ms. */
  connectRetryMin: number
  /** Longest delay between failing connection attempts, ms. */
  connectRetryMax: number
  /** A connection attempt without a handshake by then is abandoned, ms. */
  connectTimeout: number
  /** Which checkouts record where they were made. */
  trackCheckoutSites: boolean | 'sampled'
  /** Whether the client connects before the first checkout. */
  autostart: boolean
  /** Whether an idle client lets the process exit. */
  allowExitOnIdle: boolean
  /** Checks a worker before it is handed out; `false` retires it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  validate: ((checkout: Checkout<any>) => boolean | Promise<boolean>) | undefined
  /** Whether a failed connection attempt rejects a waiting checkout at once. */
  propagateConnectError: boolean
  /** A checkout held longer than this is warned about once, ms (`Infinity`: never). */
  holdWarning: number
  /** The client's own log sink, as a function. */
  log: ((record: LogRecord) => void) | undefined
}

const defaults = {
  name: '',
  minWorkers: 2,
  maxWorkers: 20,
  timeout: 30_000,
  maxCheckouts: Infinity,
  idleTimeout: Infinity,
  maxWorkerAge: Infinity,
  maxWorkerMemory: Infinity,
  reforkAfterError: true,
  maxPendingCheckouts: 100_000,
  maxPayload: Limits.maxPayload,
  connectRetryMin: 10,
  connectRetryMax: 500,
  connectTimeout: 10_000,
  autostart: true,
  allowExitOnIdle: false,
  propagateConnectError: false,
  holdWarning: Infinity,
  resolveInterval: 5_000,
  pingInterval: 5_000,
  pingTimeout: 5_000,
  tcpKeepAlive: 10_000,
  recordTiming: true,
  // read at construction (see normalizeClientOptions), so that NODE_ENV set at run time counts
  trackCheckoutSites: true,
}

/** Options with no default value. */
const optional = ['validate', 'log', 'resolver', 'tls', 'auth']

const checks: OptionChecks = optionChecks('forkd Client')
const fail: OptionChecks['fail'] = checks.fail

/** The client's timeout rule, also applied to a per-checkout `timeout`. */
export function checkTimeout(option: string, value: unknown): void {
  checks.ms(option, value, true)
}

/** Validates client options and fills in defaults; throws TypeError naming the option, the rule and the value. */
export function normalizeClientOptions(options: ClientOptions<never>): NormalizedClientOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError(`forkd Client: options must be an object, got ${describeValue(options)}`)
  const connect = parseConnect(options.connect, fail)
  for (const key of Object.keys(options))
    if (key !== 'connect' && !(key in defaults) && !optional.includes(key)) {
      const hint = suggest(key)
      throw new TypeError(`forkd Client: option "${key}" must be one of the known options (${knownOptions.join(', ')}), got ${JSON.stringify(key)}${hint !== undefined ? `; did you mean "${hint}"?` : ''}`)
    }
  const given = stripUndefined(options as unknown as Record<string, unknown>)
  const o = { ...defaults, trackCheckoutSites: process.env.NODE_ENV === 'production' ? false : 'sampled', validate: undefined, resolver: undefined, ...given, connect, log: undefined, security: { tls: undefined, token: undefined } } as NormalizedClientOptions
  if (typeof o.name !== 'string') fail('name', 'a string', o.name)
  checks.count('minWorkers', o.minWorkers, 0, false)
  checks.count('maxWorkers', o.maxWorkers, 1, false)
  checkTimeout('timeout', o.timeout)
  checks.count('maxCheckouts', o.maxCheckouts, 1, true)
  checks.ms('idleTimeout', o.idleTimeout, true)
  checks.ms('maxWorkerAge', o.maxWorkerAge, true)
  // Below a megabyte no Node process could ever serve.
  checks.count('maxWorkerMemory', o.maxWorkerMemory, 1024 * 1024, true)
  if (typeof o.reforkAfterError !== 'boolean') fail('reforkAfterError', 'a boolean', o.reforkAfterError)
  checks.count('maxPendingCheckouts', o.maxPendingCheckouts, 0, true)
  checks.count('maxPayload', o.maxPayload, 1024, false)
  checks.count('connectRetryMin', o.connectRetryMin, 1, false)
  checks.count('connectRetryMax', o.connectRetryMax, o.connectRetryMin, false)
  checks.ms('connectTimeout', o.connectTimeout, true)
  if (typeof o.trackCheckoutSites !== 'boolean' && o.trackCheckoutSites !== 'sampled') fail('trackCheckoutSites', 'true, false or "sampled"', o.trackCheckoutSites)
  for (const flag of ['autostart', 'allowExitOnIdle', 'propagateConnectError', 'recordTiming'] as const)
    if (typeof o[flag] !== 'boolean') fail(flag, 'a boolean', o[flag])
  if (o.validate !== undefined && typeof o.validate !== 'function') fail('validate', 'a function', o.validate)
  checks.ms('holdWarning', o.holdWarning, true)
  checks.ms('resolveInterval', o.resolveInterval, false)
  if (o.resolver !== undefined) checkResolver(o.resolver, connect, fail)
  checks.ms('pingInterval', o.pingInterval, true)
  checks.ms('pingTimeout', o.pingTimeout, false)
  // The kernel counts keepalive idle time in whole seconds.
  checks.count('tcpKeepAlive', o.tcpKeepAlive, 1000, false)
  o.security = normalizeSecurity(given.tls, given.auth, fail)
  delete (o as unknown as Record<string, unknown>).tls
  delete (o as unknown as Record<string, unknown>).auth
  if (given.log !== undefined) {
    try {
      o.log = toSinkFunction(given.log as LogSink)
    } catch {
      fail('log', 'a function or a logger with debug/info/warn/error', given.log)
    }
  }
  // AnyEvent::Task caps min_workers at max_workers rather than refusing the combination.
  o.minWorkers = Math.min(o.minWorkers, o.maxWorkers)
  return o
}

const knownOptions = ['connect', ...Object.keys(defaults), ...optional]

/** The known option an unknown key most likely meant (`max_workers`, `maxworker`), if any. */
function suggest(key: string): string | undefined {
  const plain = (k: string) => k.toLowerCase().replace(/[_-]/g, '')
  const lower = plain(key)
  return knownOptions.find((k) => plain(k) === lower || plain(k) === lower + 's' || plain(k) + 's' === lower)
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}
