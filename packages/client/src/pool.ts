/**
 * The pool: worker connections, one collection per state, and the queue of waiting checkouts.
 * It is the only creator of checkouts and the only resolver of waiters. `#dispatch()` runs after
 * every change and is the only place that hands workers to waiting checkouts or opens connections.
 *
 * Policies it consults, each its own module:
 * - the waiting queue (wait-queue.ts): which waiting checkout is served next;
 * - the retirement rules (retirement.ts): whether a worker goes back to the pool or is closed;
 * - the connection opener (connection-opener.ts): how many connections may be opened now, and where;
 * - idle pings (idle-ping.ts): idle workers that stopped answering are found and replaced.
 *
 * ```
 *  checkout() ──► queue ──#dispatch──► grant: idle connection ─lease─► CheckoutState ─► proxy
 *                   ▲                         ▲                             │ ended
 *                   │                   opener.open()                       ▼
 *                   └──── timeout/close ─  (connecting)     rules: giveBack ─or─ close(reason)
 * ```
 */
import { Codec } from '@forkd/protocol'
import { reentrantStep } from '@forkd/protocol/internal'
import { createCheckoutProxy } from './checkout-proxy.js'
import { CheckoutState } from './checkout.js'
import { ConnectionOpener, type EndpointStats } from './connection-opener.js'
import type { NameStats } from './endpoint-discovery.js'
import { ClientClosedError } from './errors.js'
import { Fifo } from './fifo.js'
import { IdlePing } from './idle-ping.js'
import { trackLeak, untrackLeak, type CheckoutSite } from './leak-tracking.js'
import type { LogRecord } from './log-sink.js'
import type { NormalizedClientOptions } from './options.js'
import type { Checkout } from './remote-types.js'
import {
  endpointRemoved, maxCheckouts, reasonOnRelease, reasonWhenIdle, reforkAfterError, serverRequest,
  type CheckoutOutcome, type RemoveReason, type RetirementRule,
} from './retirement.js'
import type { QueueHandle, WaitQueue } from './wait-queue.js'
import { warnOnce } from './warn-once.js'
import type { ConnectionListener, ConnectionNotice, ConnectionOptions, ConnectionState, PooledConnection } from './worker-connection.js'

/** A checkout waiting for a worker: plain data the pool resolves. */
export interface Waiter {
  /** Per-call timeout of the checkout once granted, ms. */
  readonly timeout: number
  readonly sink: ((record: LogRecord) => void) | undefined
  readonly site: CheckoutSite | undefined
  readonly priority: number
  resolve(checkout: Checkout<unknown>): void
  reject(error: Error): void
}

/** Reasons counted in `stats().retired`: every removal of a connection that had said hello. */
export type RetireReason = Exclude<RemoveReason, 'connectFailed'>

export interface PoolStats {
  /** Connections in every state but closed. */
  workers: number
  idle: number
  busy: number
  connecting: number
  /** Released, waiting for the worker's checkoutDone to finish. */
  releasing: number
  /** Checkouts waiting for a worker. */
  pending: number
  /** Checkouts granted since the client started. */
  checkouts: number
  /** Workers ended by the client, by reason. */
  retired: Record<RetireReason, number>
  /** Failed connection attempts since the last success, summed over the endpoints. */
  connectFailures: number
  /** One row per endpoint: the current ones, and removed ones while their connections drain. */
  endpoints: EndpointStats[]
  /** One row per DNS name in `connect` (empty when there is none). */
  names: NameStats[]
}

/** What the pool's unit tests replace. */
export interface PoolSeams {
  /** Makes a connection: fakes in the pool's unit tests. */
  connect?: (options: ConnectionOptions) => PooledConnection
  /** Randomness of the endpoint choice and of the resolve jitter. */
  random?: () => number
}

export class Pool implements ConnectionListener {
  readonly #options: NormalizedClientOptions
  readonly #codec = new Codec()
  /** Idle workers as a stack: the most recently used is reused first, while its caches are warm. */
  readonly #idle: PooledConnection[] = []
  readonly #busy = new Set<PooledConnection>()
  readonly #connecting = new Set<PooledConnection>()
  readonly #releasing = new Set<PooledConnection>()
  readonly #queue: WaitQueue<Waiter> = new Fifo<Waiter>()
  readonly #handles = new WeakMap<Waiter, QueueHandle>()
  readonly #rules: readonly RetirementRule[]
  readonly #opener: ConnectionOpener
  readonly #idlePing: IdlePing
  #closed = false
  #checkouts = 0
  readonly #retired: Record<RetireReason, number> = {
    error: 0, maxCheckouts: 0, serverReplaced: 0, died: 0, fatal: 0, checkoutDoneFailed: 0, clientClosed: 0, endpointRemoved: 0, unresponsive: 0,
  }
  readonly #allClosed = new Set<Promise<void>>()
  readonly #onCheckoutEnd = (checkout: CheckoutState, outcome: CheckoutOutcome) => this.#checkin(checkout, outcome)

  constructor(options: NormalizedClientOptions, seams: PoolSeams = {}) {
    this.#options = options
    this.#opener = new ConnectionOpener({
      sources: options.connect,
      resolver: options.resolver,
      resolveInterval: options.resolveInterval,
      maxPayload: options.maxPayload,
      connectTimeout: options.connectTimeout,
      retry: { min: options.connectRetryMin, max: options.connectRetryMax },
      codec: this.#codec,
      transport: { tcpKeepAlive: options.tcpKeepAlive },
      onRetry: () => this.#dispatch(),
      onRemoved: () => this.#closeRemoved(),
      ...seams,
    })
    const rules: RetirementRule[] = [serverRequest]
    if (options.reforkAfterError) rules.push(reforkAfterError)
    if (options.maxCheckouts !== Infinity) rules.push(maxCheckouts(options.maxCheckouts))
    // Only when endpoints can leave: a fixed list costs the release path nothing.
    if (this.#opener.dynamic) rules.push(endpointRemoved((endpoint) => this.#opener.isRemoved(endpoint)))
    this.#rules = rules
    this.#idlePing = new IdlePing(options.pingInterval, options.pingTimeout, () => [...this.#idle])
    this.#dispatch()
  }

  get #total(): number {
    return this.#idle.length + this.#busy.size + this.#connecting.size + this.#releasing.size
  }

  /** The most recent reason a connection attempt failed, for the cause of a TimeoutError. */
  get lastConnectError(): Error | undefined {
    return this.#opener.lastError
  }

  get pendingCount(): number {
    return this.#queue.length
  }

  stats(): PoolStats {
    return {
      workers: this.#total,
      idle: this.#idle.length,
      busy: this.#busy.size,
      connecting: this.#connecting.size,
      releasing: this.#releasing.size,
      pending: this.#queue.length,
      checkouts: this.#checkouts,
      retired: { ...this.#retired },
      connectFailures: this.#opener.failures,
      endpoints: this.#opener.stats({ idle: this.#idle, busy: this.#busy, connecting: this.#connecting, releasing: this.#releasing }),
      names: this.#opener.nameStats(),
    }
  }

  /**
   * Asks for a worker. Returns true when `waiter` was granted one at once (it has been resolved);
   * otherwise it waits in the queue until granted, withdrawn or the pool closes.
   */
  request(waiter: Waiter): boolean {
    if (this.#closed) {
      waiter.reject(new ClientClosedError(this.#options.name))
      return true
    }
    if (this.#queue.length === 0 && this.#idle.length > 0) {
      this.#grant(this.#idle[this.#idle.length - 1]!, waiter)
      this.#dispatch()
      return true
    }
    this.#handles.set(waiter, this.#queue.push(waiter, waiter.priority))
    this.#dispatch()
    return !this.#handles.get(waiter)!.linked
  }

  /** Takes a waiting checkout out of the queue (its timeout passed); O(1). */
  withdraw(waiter: Waiter): void {
    const handle = this.#handles.get(waiter)
    if (handle !== undefined) this.#queue.remove(handle)
  }

  #grant(conn: PooledConnection, waiter: Waiter): void {
    this.#checkouts++
    const checkout = new CheckoutState(conn, {
      clientName: this.#options.name,
      timeout: waiter.timeout,
      sink: waiter.sink,
      onEnd: this.#onCheckoutEnd,
    })
    const proxy = createCheckoutProxy(checkout)
    trackLeak(proxy, checkout, waiter.site)
    waiter.resolve(proxy)
  }

  /** A checkout is over: its worker goes back to the pool, or is retired by a rule. */
  #checkin(checkout: CheckoutState, outcome: CheckoutOutcome): void {
    untrackLeak(checkout)
    const conn = checkout.conn
    if (conn.state !== 'busy') return
    const reason = this.#closed ? 'clientClosed' : reasonOnRelease(this.#rules, conn, outcome)
    if (reason !== undefined) conn.close(reason)
    else conn.giveBack(checkout.epoch)
  }

  // ConnectionListener

  onMove(conn: PooledConnection, from: ConnectionState, to: ConnectionState): void {
    this.#collection(from).delete(conn)
    if (to === 'closed') this.#onClosed(conn, from)
    else this.#collection(to).add(conn)
    if (from === 'connecting' && to === 'idle') this.#opener.succeeded(conn)
    if (to === 'idle') {
      const reason = reasonWhenIdle(this.#rules, conn)
      if (reason !== undefined) {
        conn.close(reason)
        return
      }
    }
    this.#dispatch()
  }

  onNotice(conn: PooledConnection, notice: ConnectionNotice): void {
    if (notice === 'stalled') this.#opener.stalled(conn)
    else if (conn.state === 'idle') {
      const reason = reasonWhenIdle(this.#rules, conn)
      if (reason !== undefined) conn.close(reason)
    }
    this.#dispatch()
  }

  #onClosed(conn: PooledConnection, from: ConnectionState): void {
    const reason = conn.closeReason!
    this.#opener.closed(conn, reason === 'connectFailed' ? conn.closeError! : undefined)
    if (from !== 'connecting' && reason !== 'connectFailed') this.#retired[reason]++
    if (reason === 'checkoutDoneFailed')
      warnOnce('checkout-done', `forkd ${conn.closeError?.message ?? 'worker: checkoutDone failed'}; the worker was retired`)
    const closing = conn.closed()
    this.#allClosed.add(closing)
    void closing.then(() => this.#allClosed.delete(closing))
  }

  #collection(state: ConnectionState): { add(conn: PooledConnection): void; delete(conn: PooledConnection): void } {
    switch (state) {
      case 'idle': return this.#idleStack
      case 'busy': return this.#busy
      case 'connecting': return this.#connecting
      case 'releasing': return this.#releasing
      case 'closed': return noCollection
    }
  }

  readonly #idleStack = {
    add: (conn: PooledConnection) => void this.#idle.push(conn),
    delete: (conn: PooledConnection) => {
      // The connection leaving is almost always the one on top (the one just leased).
      const i = this.#idle.lastIndexOf(conn)
      if (i !== -1) this.#idle.splice(i, 1)
    },
  }

  /**
   * Endpoints left the list: their idle workers are retired now (the rules say so), their attempts
   * abandoned; busy and releasing ones are retired when they come back.
   */
  #closeRemoved(): void {
    for (const conn of [...this.#idle]) {
      const reason = reasonWhenIdle(this.#rules, conn)
      if (reason !== undefined) conn.close(reason)
    }
    for (const conn of [...this.#connecting]) if (this.#opener.isRemoved(conn.endpoint)) conn.close('endpointRemoved')
    this.#dispatch()
  }

  readonly #dispatch = reentrantStep(() => {
    if (this.#closed) return
    while (this.#queue.length > 0 && this.#idle.length > 0) this.#grant(this.#idle[this.#idle.length - 1]!, this.#queue.shift()!)
    this.#opener.keepProcessAlive(this.#queue.length > 0)
    this.#grow()
  })

  #grow(): void {
    const capacity = this.#options.maxWorkers - this.#total
    const onTheWay = this.#opener.liveAttempts + this.#releasing.size
    const wanted = Math.max(this.#queue.length - onTheWay, this.#options.minWorkers - this.#total)
    for (const conn of this.#opener.open(Math.min(capacity, wanted), this)) this.#connecting.add(conn)
  }

  /** Closes every connection and fails every waiter with ClientClosedError. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#opener.close()
      this.#idlePing.close()
      const error = new ClientClosedError(this.#options.name)
      for (const waiter of this.#queue.drain()) waiter.reject(error)
      for (const conn of [...this.#idle, ...this.#busy, ...this.#connecting, ...this.#releasing]) conn.close('clientClosed', { error })
    }
    await Promise.all([...this.#allClosed])
  }
}

const noCollection = { add() {}, delete() {} }
