/**
 * Where and when the pool may open new worker connections: the connection opener. The pool says
 * how many it wants; the opener decides how many may start now and on which endpoint, keeping each
 * endpoint's failures and backoff.
 *
 * Rules, per endpoint:
 * - after a failed attempt the endpoint backs off (backoffDelay: 10 ms doubling to 500 ms by
 *   default, with jitter); while it backs off nothing is opened there;
 * - while its last attempt failed, one probe at a time: a dead server costs one attempt per
 *   backoff step, not one per waiting checkout;
 * - a stalled attempt (no hello after `stallAfter`) no longer counts as the probe, nor as capacity
 *   on its way: one stuck worker (SIGSTOPped, a frozen host) never holds the others back. It is
 *   abandoned at `connectTimeout`.
 *
 * Today there is one endpoint; several endpoints and the choice among them (power of two choices)
 * plug in here.
 */
import { describeEndpoint, type Codec, type Endpoint } from '@forkd/protocol'
import { backoffDelay, type BackoffRange } from '@forkd/protocol/internal'
import { WorkerConnection, type ConnectionListener, type ConnectionOptions, type PooledConnection } from './worker-connection.js'

export interface OpenerOptions {
  endpoint: Endpoint
  maxPayload: number
  connectTimeout: number
  retry: BackoffRange
  codec: Codec
  /** Idle connections do not keep the process alive (the client's allowExitOnIdle). */
  allowExitOnIdle: boolean
  /** Called when a backoff ends, so the pool can try again. */
  onRetry: () => void
  /** Makes a connection; tests pass a fake. Default: a real WorkerConnection. */
  connect?: (options: ConnectionOptions) => PooledConnection
}

/** Per-endpoint figures, as `stats()` shows them. */
export interface EndpointStats {
  /** `host:port` or the socket path. */
  endpoint: string
  /** Consecutive failed connection attempts. */
  failures: number
  /** Whether new connections wait for a backoff to end. */
  backingOff: boolean
  /** The last connection error, if the last attempt failed. */
  lastError: Error | undefined
}

/** A stalled attempt stops counting after this long, or connectTimeout if shorter. */
const stallAfterMax = 1_000

class EndpointState {
  readonly endpoint: Endpoint
  readonly name: string
  failures = 0
  /** When the current run of failures began (performance.now() ms). */
  failingSince = 0
  lastError: Error | undefined
  retryAt = 0
  /** Attempts in flight that have not stalled. */
  readonly live = new Set<PooledConnection>()

  constructor(endpoint: Endpoint) {
    this.endpoint = endpoint
    this.name = describeEndpoint(endpoint)
  }
}

export class ConnectionOpener {
  readonly #options: OpenerOptions
  readonly #endpoint: EndpointState
  readonly #stallAfter: number
  readonly #connect: (options: ConnectionOptions) => PooledConnection
  #retryTimer: NodeJS.Timeout | undefined
  #keepAlive = false
  #closed = false

  constructor(options: OpenerOptions) {
    this.#options = options
    this.#endpoint = new EndpointState(options.endpoint)
    this.#stallAfter = Math.min(stallAfterMax, options.connectTimeout / 2)
    this.#connect = options.connect ?? ((o) => new WorkerConnection(o))
  }

  /** Consecutive failed attempts (of the endpoint that failed most recently). */
  get failures(): number {
    return this.#endpoint.failures
  }

  /** For how long attempts have been failing without a success in between, ms (0 when not). */
  get failingFor(): number {
    const e = this.#endpoint
    return e.failures === 0 ? 0 : performance.now() - e.failingSince
  }

  /** The most recent reason an attempt failed, while the endpoint keeps failing. */
  get lastError(): Error | undefined {
    return this.#endpoint.lastError
  }

  /** Attempts in flight that still count as capacity on its way. */
  get liveAttempts(): number {
    return this.#endpoint.live.size
  }

  stats(): EndpointStats[] {
    const e = this.#endpoint
    return [{ endpoint: e.name, failures: e.failures, backingOff: this.#retryTimer !== undefined, lastError: e.lastError }]
  }

  /** Opens up to `wanted` connections now, as the rules allow, and returns them (all `connecting`). */
  open(wanted: number, listener: ConnectionListener): PooledConnection[] {
    if (this.#closed || wanted <= 0 || this.#retryTimer !== undefined) return []
    const e = this.#endpoint
    const allowed = e.failures > 0 ? Math.min(wanted, 1 - e.live.size) : wanted
    const opened: PooledConnection[] = []
    for (let i = 0; i < allowed; i++) {
      const conn = this.#connect({
        endpoint: e.endpoint,
        maxPayload: this.#options.maxPayload,
        connectTimeout: this.#options.connectTimeout,
        stallAfter: this.#stallAfter,
        allowExitOnIdle: this.#options.allowExitOnIdle,
        codec: this.#options.codec,
        listener,
      })
      e.live.add(conn)
      opened.push(conn)
    }
    return opened
  }

  /** The attempt said hello: its endpoint works. */
  succeeded(conn: PooledConnection): void {
    const e = this.#endpoint
    e.live.delete(conn)
    e.failures = 0
    e.lastError = undefined
  }

  /** The attempt stalled: it no longer holds back other attempts. */
  stalled(conn: PooledConnection): void {
    this.#endpoint.live.delete(conn)
  }

  /** The attempt failed: back the endpoint off. */
  failed(conn: PooledConnection, error: Error): void {
    const e = this.#endpoint
    e.live.delete(conn)
    e.lastError = error
    if (e.failures === 0) e.failingSince = conn.startedAt
    e.failures++
    if (this.#closed || this.#retryTimer !== undefined) return
    const delay = backoffDelay(e.failures, this.#options.retry)
    e.retryAt = performance.now() + delay
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#options.onRetry()
    }, delay)
    if (!this.#keepAlive) this.#retryTimer.unref()
  }

  /**
   * Whether a pending backoff keeps the process alive: yes while checkouts wait (they must be
   * served when the server appears, whatever their timeout), no for the refill of minWorkers alone.
   */
  keepProcessAlive(alive: boolean): void {
    if (alive === this.#keepAlive) return
    this.#keepAlive = alive
    if (alive) this.#retryTimer?.ref()
    else this.#retryTimer?.unref()
  }

  close(): void {
    this.#closed = true
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
  }
}
