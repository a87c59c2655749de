/**
 * Where and when the pool may open new worker connections: the connection opener. The pool says
 * how many it wants; the opener decides how many may start now and on which endpoint, keeping each
 * endpoint's failures and backoff. Endpoint discovery (endpoint-discovery.ts) tells it which
 * endpoints exist; the choice among them is power of two choices (endpoint-choice.ts).
 *
 * Rules, per endpoint:
 * - after a failed attempt the endpoint backs off (backoffDelay: 10 ms doubling to 500 ms by
 *   default, with jitter); while it backs off nothing is opened there, and the others keep serving;
 * - while its last attempt failed, one probe at a time: a dead server costs one attempt per
 *   backoff step, not one per waiting checkout;
 * - a stalled attempt (no hello after `stallAfter`) no longer counts as the probe, nor as capacity
 *   on its way: one stuck worker (SIGSTOPped, a frozen host) never holds the others back. It is
 *   abandoned at `connectTimeout`. It still counts as a connection of its endpoint for the choice;
 * - among the endpoints that may take a connection, only those of the lowest SRV priority are
 *   candidates (RFC 2782); every other form has priority 0;
 * - an endpoint that leaves the list is never chosen again; the pool closes its idle and connecting
 *   connections at once (onRemoved) and the retirement rule `endpointRemoved` retires the others
 *   as they come back. Its row stays in `stats().endpoints` until its last connection is gone.
 */
import { describeEndpoint, type Codec, type Endpoint } from '@forkd/protocol'
import { backoffDelay, type BackoffRange } from '@forkd/protocol/internal'
import type { ConnectSource, DnsResolver } from './connect-targets.js'
import { powerOfTwoChoices } from './endpoint-choice.js'
import { AuthError } from './errors.js'
import { EndpointDiscovery, type NameStats } from './endpoint-discovery.js'
import {
  WorkerConnection, type ConnectionListener, type ConnectionOptions, type ConnectionState, type PooledConnection, type TransportOptions,
} from './worker-connection.js'

export interface OpenerOptions {
  sources: readonly ConnectSource[]
  resolver: DnsResolver | undefined
  resolveInterval: number
  maxPayload: number
  connectTimeout: number
  retry: BackoffRange
  codec: Codec
  transport: TransportOptions
  /** Idle connections do not keep the process alive (the client's allowExitOnIdle). */
  allowExitOnIdle: boolean
  /** Connections ask for the worker's stats with every release (the client's maxWorkerMemory). */
  reportMemory: boolean
  /** Called when new connections may be possible again: a backoff ended, an endpoint appeared. */
  onRetry: () => void
  /** Called when endpoints left the list: their idle and connecting connections should close now. */
  onRemoved: () => void
  /** Makes a connection; tests pass a fake. Default: a real WorkerConnection. */
  connect?: (options: ConnectionOptions) => PooledConnection
  /** For the endpoint choice and the resolve jitter; tests pass a seeded one. */
  random?: () => number
}

/** One row of `stats().endpoints`. */
export interface EndpointStats {
  /** `host:port` or the socket path. */
  endpoint: string
  /** This client's connections to it, by state. */
  connections: {
    /** Free in the pool. */
    idle: number
    /** Checked out. */
    busy: number
    /** Attempts under way. */
    connecting: number
    /** Released, waiting for the worker's checkoutDone. */
    releasing: number
  }
  /** Consecutive failed connection attempts. */
  failures: number
  /** Whether new connections to it wait for a backoff to end. */
  backingOff: boolean
  /** The last connection error, while its attempts keep failing. */
  lastError: Error | undefined
  /** It left the list (the DNS answer); the row stays while its connections drain. */
  removed: boolean
}

/** Connections of the pool by state, for the per-endpoint counts of `stats()`. */
export type ConnectionsByState = Record<Exclude<ConnectionState, 'closed'>, Iterable<PooledConnection>>

/**
 * An attempt counts as stalled after four times the usual handshake (a moving average of the
 * successful ones), but never sooner than a second nor later than half of connectTimeout: a frozen
 * worker is found quickly on a quiet machine, and a loaded one, whose handshakes are all slow, does
 * not open a second connection for every slow one.
 */
const stallFloor = 1_000
const stallFactor = 4

class EndpointState {
  readonly endpoint: Endpoint
  readonly name: string
  priority = 0
  removed = false
  failures = 0
  lastError: Error | undefined
  lastErrorAt = 0
  /** When the current run of failures began (performance.now() ms). */
  failingSince = 0
  retryTimer: NodeJS.Timeout | undefined
  /** Attempts in flight that have not stalled. */
  readonly live = new Set<PooledConnection>()
  /** This client's connections on it, in any state but closed (the power of two choices compares these). */
  connections = 0

  constructor(endpoint: Endpoint, name: string) {
    this.endpoint = endpoint
    this.name = name
  }
}

export class ConnectionOpener {
  readonly #options: OpenerOptions
  readonly #stallCeiling: number
  /** Moving average of successful handshakes, ms. */
  #handshakeAverage = 0
  readonly #connect: (options: ConnectionOptions) => PooledConnection
  readonly #random: () => number
  readonly #discovery: EndpointDiscovery
  /** Every endpoint known, current or draining, in the order first seen. */
  readonly #byName = new Map<string, EndpointState>()
  /** The same states by the endpoint object their connections carry (identity: O(1), no string built). */
  readonly #byEndpoint = new Map<Endpoint, EndpointState>()
  /** Sum of the endpoints' live attempts. */
  #live = 0
  #keepAlive = false
  #closed = false

  constructor(options: OpenerOptions) {
    this.#options = options
    this.#stallCeiling = options.connectTimeout / 2
    this.#connect = options.connect ?? ((o) => new WorkerConnection(o))
    this.#random = options.random ?? Math.random
    this.#discovery = new EndpointDiscovery({
      sources: options.sources,
      resolver: options.resolver,
      resolveInterval: options.resolveInterval,
      onChange: () => this.#sync(true),
      random: this.#random,
    })
    this.#sync(false)
  }

  /** Whether endpoints can come and go (a DNS name is among them). */
  get dynamic(): boolean {
    return this.#discovery.dynamic
  }

  /** Consecutive failed attempts, summed over the current endpoints. */
  get failures(): number {
    let sum = 0
    for (const e of this.#byName.values()) if (!e.removed) sum += e.failures
    return sum
  }

  /**
   * Why checkouts may be waiting for a server: the most recent connection error while every
   * current endpoint is failing; the resolution error while no endpoint is known; else undefined.
   */
  get lastError(): Error | undefined {
    let latest: EndpointState | undefined
    let current = 0
    for (const e of this.#byName.values()) {
      if (e.removed) continue
      current++
      if (e.failures === 0) return undefined
      if (latest === undefined || e.lastErrorAt > latest.lastErrorAt) latest = e
    }
    return current === 0 ? this.#discovery.lastError : latest?.lastError
  }

  /**
   * For how long every current endpoint has been failing, ms: since the latest of their runs of
   * failures began; 0 while any endpoint works (or none is known).
   */
  get failingFor(): number {
    let since = -Infinity
    for (const e of this.#byName.values()) {
      if (e.removed) continue
      if (e.failures === 0) return 0
      since = Math.max(since, e.failingSince)
    }
    return since === -Infinity ? 0 : performance.now() - since
  }

  /**
   * The latest AuthError when every current endpoint's last attempt was refused for the client's
   * credentials (no endpoint can serve this client as it is configured); else undefined.
   */
  get refusedEverywhere(): AuthError | undefined {
    let latest: EndpointState | undefined
    for (const e of this.#byName.values()) {
      if (e.removed) continue
      if (e.failures === 0 || !(e.lastError instanceof AuthError)) return undefined
      if (latest === undefined || e.lastErrorAt > latest.lastErrorAt) latest = e
    }
    return latest?.lastError as AuthError | undefined
  }

  /** Attempts in flight that still count as capacity on its way. */
  get liveAttempts(): number {
    return this.#live
  }

  /** Whether `endpoint` (of a connection this opener made) left the list. */
  isRemoved(endpoint: Endpoint): boolean {
    return this.#byEndpoint.get(endpoint)?.removed ?? false
  }

  stats(connections: ConnectionsByState): EndpointStats[] {
    const rows = new Map<EndpointState, EndpointStats>()
    for (const e of this.#byName.values()) {
      rows.set(e, {
        endpoint: e.name,
        connections: { idle: 0, busy: 0, connecting: 0, releasing: 0 },
        failures: e.failures,
        backingOff: e.retryTimer !== undefined,
        lastError: e.lastError,
        removed: e.removed,
      })
    }
    for (const state of ['idle', 'busy', 'connecting', 'releasing'] as const)
      for (const conn of connections[state]) {
        const row = rows.get(this.#byEndpoint.get(conn.endpoint)!)
        if (row !== undefined) row.connections[state]++
      }
    return [...rows.values()]
  }

  /** One row per DNS name in `connect`. */
  nameStats(): NameStats[] {
    return this.#discovery.stats()
  }

  /** Opens up to `wanted` connections now, as the rules allow, and returns them (all `connecting`). */
  open(wanted: number, listener: ConnectionListener): PooledConnection[] {
    if (this.#closed || wanted <= 0) return []
    const candidates: EndpointState[] = []
    let priority = Infinity
    for (const e of this.#byName.values()) {
      if (e.removed || e.retryTimer !== undefined || (e.failures > 0 && e.live.size > 0)) continue
      if (e.priority < priority) {
        priority = e.priority
        candidates.length = 0
      }
      if (e.priority === priority) candidates.push(e)
    }
    const opened: PooledConnection[] = []
    while (opened.length < wanted && candidates.length > 0) {
      const i = powerOfTwoChoices(candidates, this.#random)
      const e = candidates[i]!
      opened.push(this.#openOn(e, listener))
      // failing: this attempt is its one probe
      if (e.failures > 0) candidates.splice(i, 1)
    }
    return opened
  }

  #openOn(e: EndpointState, listener: ConnectionListener): PooledConnection {
    const conn = this.#connect({
      endpoint: e.endpoint,
      maxPayload: this.#options.maxPayload,
      connectTimeout: this.#options.connectTimeout,
      stallAfter: Math.min(this.#stallCeiling, Math.max(stallFloor, stallFactor * this.#handshakeAverage)),
      codec: this.#options.codec,
      transport: this.#options.transport,
      allowExitOnIdle: this.#options.allowExitOnIdle,
      reportMemory: this.#options.reportMemory,
      listener,
    })
    e.live.add(conn)
    this.#live++
    e.connections++
    return conn
  }

  #state(conn: PooledConnection): EndpointState {
    const e = this.#byEndpoint.get(conn.endpoint)
    if (e === undefined) throw new Error(`forkd internal error: a connection to ${describeEndpoint(conn.endpoint)} that the opener did not make`)
    return e
  }

  #unlive(e: EndpointState, conn: PooledConnection): void {
    if (e.live.delete(conn)) this.#live--
  }

  /** The attempt said hello: its endpoint works. */
  succeeded(conn: PooledConnection): void {
    const e = this.#state(conn)
    this.#unlive(e, conn)
    e.failures = 0
    e.lastError = undefined
    const took = conn.connectedAt - conn.startedAt
    this.#handshakeAverage = this.#handshakeAverage === 0 ? took : 0.8 * this.#handshakeAverage + 0.2 * took
  }

  /** The attempt stalled: it no longer holds back other attempts. */
  stalled(conn: PooledConnection): void {
    this.#unlive(this.#state(conn), conn)
  }

  /**
   * A connection this opener made is closed, in whatever state it was. `connectError` is set when
   * it was an attempt that failed: the endpoint backs off, and DNS names are asked again.
   */
  closed(conn: PooledConnection, connectError?: Error): void {
    const e = this.#state(conn)
    this.#unlive(e, conn)
    e.connections--
    if (connectError !== undefined) this.#failed(e, connectError, conn.startedAt)
    this.#forgetIfDrained(e)
  }

  #failed(e: EndpointState, error: Error, attemptStartedAt: number): void {
    e.lastError = error
    e.lastErrorAt = performance.now()
    if (e.failures === 0) e.failingSince = attemptStartedAt
    e.failures++
    if (this.#closed) return
    this.#discovery.resolveSoon()
    if (e.removed || e.retryTimer !== undefined) return
    e.retryTimer = setTimeout(() => {
      e.retryTimer = undefined
      this.#options.onRetry()
    }, backoffDelay(e.failures, this.#options.retry, this.#random))
    if (!this.#keepAlive) e.retryTimer.unref()
  }

  #forgetIfDrained(e: EndpointState): void {
    if (!e.removed || e.connections > 0) return
    this.#byName.delete(e.name)
    this.#byEndpoint.delete(e.endpoint)
  }

  /** Brings the endpoint states in line with what discovery names now. */
  #sync(notify: boolean): void {
    if (this.#closed) return
    const named = new Set<string>()
    let added = false
    let removed = false
    for (const d of this.#discovery.endpoints) {
      named.add(d.name)
      let e = this.#byName.get(d.name)
      if (e === undefined) {
        e = new EndpointState(d.endpoint, d.name)
        this.#byName.set(d.name, e)
        this.#byEndpoint.set(e.endpoint, e)
        added = true
      } else if (e.removed) {
        e.removed = false
        added = true
      }
      e.priority = d.priority
    }
    for (const e of this.#byName.values()) {
      if (named.has(e.name) || e.removed) continue
      e.removed = true
      removed = true
      if (e.retryTimer !== undefined) clearTimeout(e.retryTimer)
      e.retryTimer = undefined
      this.#forgetIfDrained(e)
    }
    if (!notify) return
    if (removed) this.#options.onRemoved()
    else if (added) this.#options.onRetry()
  }

  /**
   * Whether pending backoffs and re-resolutions keep the process alive: yes while checkouts wait
   * (they must be served when a server appears, whatever their timeout), no for the refill of
   * minWorkers alone.
   */
  keepProcessAlive(alive: boolean): void {
    if (alive === this.#keepAlive) return
    this.#keepAlive = alive
    for (const e of this.#byName.values()) {
      if (alive) e.retryTimer?.ref()
      else e.retryTimer?.unref()
    }
    this.#discovery.keepProcessAlive(alive)
  }

  close(): void {
    this.#closed = true
    this.#discovery.close()
    for (const e of this.#byName.values()) {
      if (e.retryTimer !== undefined) clearTimeout(e.retryTimer)
      e.retryTimer = undefined
    }
  }
}
