/**
 * The pool: worker connections, one collection per state, and the queue of waiting checkouts.
 * It is the only creator of checkouts and the only resolver of waiters. `#dispatch()` runs after
 * every change and is the only place that hands workers to waiting checkouts or opens connections.
 *
 * Policies it consults, each its own module:
 * - the waiting queue (priority-queue.ts): which waiting checkout is served next;
 * - the retirement rules (retirement.ts): whether a worker goes back to the pool or is closed;
 * - the connection opener (connection-opener.ts): how many connections may be opened now, and where;
 * - idle pings (idle-ping.ts): idle workers that stopped answering are found and replaced;
 * - the limit sweep (limit-sweep.ts): idle workers that passed `idleTimeout` or `maxWorkerAge`
 *   while resting are judged again by the retirement rules.
 *
 * ```
 *  acquire() ──► queue ──#dispatch──► grant: idle connection ─lease─► CheckoutState ─► proxy
 *                  ▲                        ▲                    (validate?)    │ ended
 *                  │                  opener.open()                             ▼
 *                  └─ timeout/abort/close  (connecting)    rules: giveBack ─or─ close(reason)
 * ```
 *
 * A waiter's life: waiting (in the queue) → validating (holding a worker, when `validate` is set)
 * → settled (granted, or rejected by its timeout, its signal, or close).
 */
import { Codec, describeEndpoint } from '@forkd/protocol'
import { reentrantStep } from '@forkd/protocol/internal'
import { createCheckoutProxy } from './checkout-proxy.js'
import { CheckoutState, formatSeconds, reasonText } from './checkout.js'
import { ConnectionOpener, type EndpointStats } from './connection-opener.js'
import type { NameStats } from './endpoint-discovery.js'
import { AbortError, AuthError, ClientClosedError, QueueFullError, TimeoutError } from './errors.js'
import { IdlePing } from './idle-ping.js'
import { LimitSweep } from './limit-sweep.js'
import { describeSite, trackLeak, untrackLeak, type CheckoutSite } from './leak-tracking.js'
import type { LogRecord } from './log-sink.js'
import type { NormalizedClientOptions } from './options.js'
import type { PoolObserver } from './pool-events.js'
import { PriorityQueue } from './priority-queue.js'
import type { Checkout } from './remote-types.js'
import {
  endpointRemoved, idleTimeout, maxCheckouts, maxWorkerAge, maxWorkerMemory, reasonOnRelease, reasonWhenIdle, reforkAfterError, serverRequest,
  type CheckoutOutcome, type PoolFacts, type RemoveReason, type RetirementRule,
} from './retirement.js'
import { ClientTimings, type TimingStats } from './timing.js'
import type { CheckoutTraceContext } from './tracing.js'
import type { QueueHandle, WaitQueue } from './wait-queue.js'
import type { ConnectionListener, ConnectionNotice, ConnectionOptions, ConnectionState, PooledConnection } from './worker-connection.js'

/** What a checkout asks for. */
export interface CheckoutRequest {
  /** The wait for a worker, then each call, ms (Infinity for none). */
  readonly timeout: number
  readonly sink: ((record: LogRecord) => void) | undefined
  readonly site: CheckoutSite | undefined
  readonly priority: number
  readonly signal: AbortSignal | undefined
  /** The `forkd:checkout` trace's context, when someone listens: the pool fills in the grant. */
  readonly trace: CheckoutTraceContext | undefined
}

/** A checkout waiting for a worker: data the pool owns and settles. */
interface Waiter {
  readonly request: CheckoutRequest
  readonly since: number
  resolve(checkout: Checkout<unknown>): void
  reject(error: Error): void
  state: 'waiting' | 'validating' | 'settled'
  handle: QueueHandle | undefined
  timer: NodeJS.Timeout | undefined
  onAbort: (() => void) | undefined
}

/** Reasons counted in `stats().retired`: every removal of a connection that had said hello. */
export type RetireReason = Exclude<RemoveReason, 'connectFailed'>

/** What `client.stats()` returns: the pool's connections, checkouts, counters and histograms. */
export interface PoolStats {
  /** Connections in every state but closed. */
  workers: number
  /** Connected workers waiting for a checkout. */
  idle: number
  /** Workers checked out. */
  busy: number
  /** Connections opening (connect and handshake). */
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
  /** Whether the client is paused (`pause()`): no checkout is granted. */
  paused: boolean
  /** One row per endpoint: the current ones, and removed ones while their connections drain. */
  endpoints: EndpointStats[]
  /** One row per DNS name in `connect` (empty when there is none). */
  names: NameStats[]
  /** Checkouts that timed out waiting for a worker (TimeoutError before a grant). */
  timeouts: number
  /** From `checkout()` to the grant of a worker, ms; undefined with `recordTiming: false`. */
  waitTime: TimingStats | undefined
  /** Per call: from its turn on the worker (sent, or the call before it answered) to its outcome, ms. */
  runTime: TimingStats | undefined
  /** From the grant to the worker's return to the pool (released, its calls settled), ms. */
  holdTime: TimingStats | undefined
}

/** What the pool's unit tests replace. */
export interface PoolSeams {
  /** Makes a connection: fakes in the pool's unit tests. */
  connect?: (options: ConnectionOptions) => PooledConnection
  /** Randomness of the endpoint choice, of the resolve jitter and of the maxWorkerAge jitter. */
  random?: () => number
}

export class Pool implements ConnectionListener {
  readonly #options: NormalizedClientOptions
  readonly #observer: PoolObserver
  readonly #codec = new Codec()
  /** Idle workers as a stack: the most recently used is reused first, while its caches are warm. */
  readonly #idle: PooledConnection[] = []
  readonly #busy = new Set<PooledConnection>()
  readonly #connecting = new Set<PooledConnection>()
  readonly #releasing = new Set<PooledConnection>()
  readonly #queue: WaitQueue<Waiter> = new PriorityQueue<Waiter>()
  readonly #leases = new Map<PooledConnection, CheckoutState>()
  /** Checkouts being validated: not yet the user's, so their end is no 'release'. */
  readonly #validating = new WeakSet<CheckoutState>()
  readonly #rules: readonly RetirementRule[]
  readonly #opener: ConnectionOpener
  readonly #idlePing: IdlePing
  readonly #limitSweep: LimitSweep
  /** What the retirement rules may read about the pool, always current. */
  readonly #facts: PoolFacts
  #started: boolean
  #paused = false
  #closed = false
  #checkouts = 0
  #timeouts = 0
  readonly #timings: ClientTimings | undefined
  #warnedConnectFailing = false
  readonly #retired: Record<RetireReason, number> = {
    error: 0, maxCheckouts: 0, serverReplaced: 0, died: 0, fatal: 0, checkoutDoneFailed: 0, clientClosed: 0, validate: 0, endpointRemoved: 0, unresponsive: 0,
    idle: 0, age: 0, memory: 0, processRetired: 0,
  }
  readonly #allClosed = new Set<Promise<void>>()
  /** ready() callers waiting for minWorkers idle workers. */
  #readyWaiters: { resolve(): void; reject(error: Error): void }[] = []
  /** idle() callers waiting for nothing to be checked out or waiting. */
  #quietWaiters: (() => void)[] = []
  /** With allowExitOnIdle: a ref'd handle that keeps the process alive while checkouts wait. */
  #waitKeepAlive: NodeJS.Timeout | undefined
  readonly #onCheckoutEnd = (checkout: CheckoutState, outcome: CheckoutOutcome) => this.#checkin(checkout, outcome)
  readonly #warn = (message: string, code: string) => this.#observer.warn(message, code)

  constructor(options: NormalizedClientOptions, observer: PoolObserver, seams: PoolSeams = {}) {
    this.#options = options
    this.#observer = observer
    this.#started = options.autostart
    this.#timings = options.recordTiming ? new ClientTimings() : undefined
    this.#opener = new ConnectionOpener({
      sources: options.connect,
      resolver: options.resolver,
      resolveInterval: options.resolveInterval,
      maxPayload: options.maxPayload,
      connectTimeout: options.connectTimeout,
      retry: { min: options.connectRetryMin, max: options.connectRetryMax },
      codec: this.#codec,
      transport: { tcpKeepAlive: options.tcpKeepAlive, security: options.security },
      allowExitOnIdle: options.allowExitOnIdle,
      reportMemory: options.maxWorkerMemory !== Infinity,
      onRetry: () => this.#dispatch(),
      onRemoved: () => this.#closeRemoved(),
      ...seams,
    })
    const rules: RetirementRule[] = [serverRequest]
    if (options.reforkAfterError) rules.push(reforkAfterError)
    if (options.maxCheckouts !== Infinity) rules.push(maxCheckouts(options.maxCheckouts))
    // Only when endpoints can leave: a fixed list costs the release path nothing.
    if (this.#opener.dynamic) rules.push(endpointRemoved((endpoint) => this.#opener.isRemoved(endpoint)))
    if (options.maxWorkerMemory !== Infinity) rules.push(maxWorkerMemory(options.maxWorkerMemory))
    if (options.maxWorkerAge !== Infinity) rules.push(maxWorkerAge(options.maxWorkerAge, seams.random))
    if (options.idleTimeout !== Infinity) rules.push(idleTimeout(options.idleTimeout))
    this.#rules = rules
    const pool = this
    this.#facts = {
      get now() { return performance.now() },
      get workers() { return pool.#total },
      minWorkers: options.minWorkers,
    }
    this.#idlePing = new IdlePing(options.pingInterval, options.pingTimeout, () => [...this.#idle])
    this.#limitSweep = new LimitSweep(Math.min(...rules.map((rule) => rule.timeLimit ?? Infinity)), () => this.#sweep())
    this.#dispatch()
  }

  get #total(): number {
    return this.#idle.length + this.#busy.size + this.#connecting.size + this.#releasing.size
  }

  /** The most recent reason a connection attempt failed, for the cause of a TimeoutError. */
  get lastConnectError(): Error | undefined {
    return this.#opener.lastError
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
      paused: this.#paused,
      endpoints: this.#opener.stats({ idle: this.#idle, busy: this.#busy, connecting: this.#connecting, releasing: this.#releasing }),
      names: this.#opener.nameStats(),
      timeouts: this.#timeouts,
      waitTime: this.#timings?.wait.stats(),
      runTime: this.#timings?.run.stats(),
      holdTime: this.#timings?.hold.stats(),
    }
  }

  /** The histograms themselves, for the Prometheus collector's buckets; undefined with `recordTiming: false`. */
  get timings(): ClientTimings | undefined {
    return this.#timings
  }

  /**
   * Asks for a worker: resolves with a checkout, or rejects with QueueFullError, TimeoutError,
   * AbortError or ClientClosedError. A worker idle now is granted at once, with no timer.
   */
  acquire(request: CheckoutRequest): Promise<Checkout<unknown>> {
    let resolve!: (checkout: Checkout<unknown>) => void
    let reject!: (error: Error) => void
    const promise = new Promise<Checkout<unknown>>((res, rej) => {
      resolve = res
      reject = rej
    })
    const waiter: Waiter = { request, since: performance.now(), resolve, reject, state: 'waiting', handle: undefined, timer: undefined, onAbort: undefined }
    const refusal = this.#refusal(request)
    if (refusal !== undefined) {
      this.#settle(waiter, refusal)
      return promise
    }
    if (!this.#started) this.start()
    if (!this.#paused && this.#queue.length === 0 && this.#idle.length > 0) {
      this.#grant(this.#idle[this.#idle.length - 1]!, waiter)
      this.#dispatch()
      return promise
    }
    waiter.handle = this.#queue.push(waiter, request.priority)
    this.#arm(waiter)
    this.#dispatch()
    return promise
  }

  /** Starts the waiter's timeout and listens to its signal, once: the wait, validation included, is bounded by both. */
  #arm(waiter: Waiter): void {
    const request = waiter.request
    if (request.timeout !== Infinity && waiter.timer === undefined)
      waiter.timer = setTimeout(() => this.#timedOut(waiter), request.timeout)
    if (request.signal !== undefined && waiter.onAbort === undefined) {
      const signal = request.signal
      waiter.onAbort = () => this.#settle(waiter, new AbortError(`checkout aborted while waiting for a worker: ${reasonText(signal.reason)}`, { cause: signal.reason }))
      signal.addEventListener('abort', waiter.onAbort, { once: true })
    }
  }

  /** Why a checkout cannot even wait, if it cannot. */
  #refusal(request: CheckoutRequest): Error | undefined {
    if (this.#closed) return new ClientClosedError(this.#options.name)
    if (request.signal?.aborted === true)
      return new AbortError(`checkout aborted before it was made: ${reasonText(request.signal.reason)}`, { cause: request.signal.reason })
    const mustWait = this.#paused || this.#queue.length > 0 || this.#idle.length === 0
    if (mustWait && this.#queue.length >= this.#options.maxPendingCheckouts)
      return new QueueFullError(this.#options.name, this.#options.maxPendingCheckouts)
    return undefined
  }

  #timedOut(waiter: Waiter): void {
    if (waiter.state === 'settled') return
    this.#timeouts++
    this.#settle(waiter, this.#waitTimedOut(waiter))
  }

  /** Ends a waiter's wait with `error` (its timeout, its signal, close); harmless once settled. */
  #settle(waiter: Waiter, error: Error): void {
    if (waiter.state === 'settled') return
    const wasWaiting = waiter.state === 'waiting'
    this.#endWait(waiter)
    if (waiter.request.trace !== undefined) waiter.request.trace.waitTime = performance.now() - waiter.since
    waiter.reject(error)
    this.#observer.acquireError(error)
    if (wasWaiting) this.#dispatch()
  }

  #endWait(waiter: Waiter): void {
    waiter.state = 'settled'
    if (waiter.handle !== undefined) this.#queue.remove(waiter.handle)
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    if (waiter.onAbort !== undefined) waiter.request.signal!.removeEventListener('abort', waiter.onAbort)
  }

  #waitTimedOut(waiter: Waiter): TimeoutError {
    const name = this.#options.name
    const timeout = waiter.request.timeout
    const cause = this.#opener.lastError
    let why: string
    if (cause !== undefined) {
      why = `waiting for the server (${cause.message})`
    } else if (this.#paused) {
      why = 'waiting for a worker: the client is paused (pause())'
    } else if (this.#busy.size >= this.#options.maxWorkers) {
      let oldest: CheckoutState | undefined
      for (const lease of this.#leases.values()) if (oldest === undefined || lease.grantedAt < oldest.grantedAt) oldest = lease
      const held = oldest === undefined ? '' : ` (the oldest for ${((performance.now() - oldest.grantedAt) / 1000).toFixed(1)} s` +
        `${describeSite(oldest.site) !== undefined ? `, made at ${describeSite(oldest.site)}` : ''})`
      const all = this.#busy.size === 1 ? 'the only worker is' : `all ${this.#busy.size} workers are`
      why = `waiting for a worker: ${all} checked out${held} (maxWorkers ${this.#options.maxWorkers}); is a checkout never released?`
    } else {
      why = 'waiting for a worker'
    }
    return new TimeoutError(`${name ? name + ': ' : ''}checkout timed out after ${formatSeconds(timeout)} ${why}`, timeout, { cause })
  }

  #grant(conn: PooledConnection, waiter: Waiter): void {
    const request = waiter.request
    const checkout = new CheckoutState(conn, {
      clientName: this.#options.name,
      timeout: request.timeout,
      sink: request.sink,
      site: request.site,
      signal: request.signal,
      holdWarning: this.#options.holdWarning,
      warn: this.#warn,
      onEnd: this.#onCheckoutEnd,
      timings: this.#timings,
    })
    this.#leases.set(conn, checkout)
    const proxy = createCheckoutProxy(checkout)
    trackLeak(proxy, checkout, request.site)
    const validate = this.#options.validate
    if (validate === undefined) {
      this.#deliver(waiter, proxy, checkout)
      return
    }
    if (waiter.handle !== undefined) this.#queue.remove(waiter.handle)
    waiter.handle = undefined
    waiter.state = 'validating'
    // Granted at once (no timer yet): validation, and retries with other workers, still end at the
    // checkout's timeout or its signal (validate.test.ts, "a validate slower than the timeout").
    this.#arm(waiter)
    this.#validating.add(checkout)
    void (async () => validate(proxy))().then(
      (ok) => this.#validated(waiter, proxy, checkout, ok === false ? new Error('validate returned false') : undefined),
      (error: unknown) => this.#validated(waiter, proxy, checkout, error instanceof Error ? error : new Error(String(error))),
    )
  }

  #validated(waiter: Waiter, proxy: Checkout<unknown>, checkout: CheckoutState, failure: Error | undefined): void {
    if (failure === undefined && checkout.fatal === undefined && waiter.state === 'validating') {
      this.#validating.delete(checkout)
      this.#deliver(waiter, proxy, checkout)
      return
    }
    // A worker that failed validation is retired; one that passed after its checkout gave up waits
    // in the pool for the next.
    if (failure !== undefined || checkout.fatal !== undefined) checkout.retireAs('validate')
    checkout.release()
    if (waiter.state === 'validating') {
      waiter.state = 'waiting'
      waiter.handle = this.#queue.unshift(waiter, waiter.request.priority)
      this.#dispatch()
    }
  }

  #deliver(waiter: Waiter, proxy: Checkout<unknown>, checkout: CheckoutState): void {
    this.#endWait(waiter)
    this.#checkouts++
    if (this.#options.allowExitOnIdle) this.#updateKeepAlive()
    const conn = checkout.conn
    const waited = performance.now() - waiter.since
    this.#timings?.wait.record(waited)
    const trace = waiter.request.trace
    if (trace !== undefined) {
      trace.checkoutId = checkout.id
      trace.pid = conn.info.pid
      trace.workerId = conn.info.id
      trace.endpoint = describeEndpoint(conn.endpoint)
      trace.waitTime = waited
    }
    this.#observer.acquire(conn, waited)
    waiter.resolve(proxy)
  }

  /** A checkout is over: its worker goes back to the pool, or is retired by a rule. */
  #checkin(checkout: CheckoutState, outcome: CheckoutOutcome): void {
    untrackLeak(checkout)
    const conn = checkout.conn
    this.#leases.delete(conn)
    if (!this.#validating.has(checkout)) {
      this.#timings?.hold.record(performance.now() - checkout.grantedAt)
      this.#observer.release(conn, outcome.error)
    }
    if (conn.state !== 'busy') return
    const reason = this.#closed ? 'clientClosed' : outcome.retireAs ?? reasonOnRelease(this.#rules, conn, outcome, this.#facts)
    if (reason !== undefined) conn.close(reason)
    else conn.giveBack(checkout.epoch)
  }

  // ConnectionListener

  onMove(conn: PooledConnection, from: ConnectionState, to: ConnectionState): void {
    this.#collection(from).delete(conn)
    if (to === 'closed') this.#onClosed(conn, from)
    else this.#collection(to).add(conn)
    if (from === 'connecting' && to === 'idle') {
      this.#opener.succeeded(conn)
      this.#warnedConnectFailing = false
      this.#observer.connect(conn)
    }
    if (to === 'idle') {
      const reason = reasonWhenIdle(this.#rules, conn, this.#facts)
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
      const reason = reasonWhenIdle(this.#rules, conn, this.#facts)
      if (reason !== undefined) conn.close(reason)
    }
    this.#dispatch()
  }

  #onClosed(conn: PooledConnection, from: ConnectionState): void {
    const reason = conn.closeReason!
    this.#opener.closed(conn, reason === 'connectFailed' ? conn.closeError! : undefined)
    if (reason === 'connectFailed') {
      this.#attemptFailed(conn, conn.closeError!)
    } else if (from !== 'connecting') {
      this.#retired[reason]++
      this.#observer.remove(conn, reason)
      if (reason === 'checkoutDoneFailed')
        this.#observer.warn(`forkd ${conn.closeError?.message ?? 'worker: checkoutDone failed'}; the worker was retired`, 'FORKD_WARN_CHECKOUT_DONE')
    }
    const closing = conn.closed()
    this.#allClosed.add(closing)
    void closing.then(() => this.#allClosed.delete(closing))
  }

  #attemptFailed(conn: PooledConnection, error: Error): void {
    this.#observer.connectError(error, describeEndpoint(conn.endpoint))
    // No endpoint accepts this client's token or certificate: waiting would only run into the
    // timeout, so every waiting checkout learns why now (AuthError, docs/security.md).
    const refused = error instanceof AuthError ? this.#opener.refusedEverywhere : undefined
    if (refused !== undefined) {
      for (let waiter = this.#queue.shift(); waiter !== undefined; waiter = this.#queue.shift()) {
        waiter.handle = undefined
        this.#settle(waiter, refused)
      }
    } else if (this.#options.propagateConnectError) {
      const oldest = this.#queue.shift()
      if (oldest !== undefined) {
        oldest.handle = undefined
        this.#settle(oldest, error)
      }
    }
    const failingFor = this.#opener.failingFor
    if (!this.#warnedConnectFailing && this.#queue.length > 0 && failingFor >= this.#options.connectTimeout) {
      this.#warnedConnectFailing = true
      this.#observer.warn(`forkd client${this.#options.name ? ` ${this.#options.name}` : ''}: checkouts are waiting and connection attempts to ` +
        `${describeEndpoint(conn.endpoint)} have failed for ${(failingFor / 1000).toFixed(1)} s: ${error.message}`, 'FORKD_WARN_CONNECT_FAILING')
    }
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
      const reason = reasonWhenIdle(this.#rules, conn, this.#facts)
      if (reason !== undefined) conn.close(reason)
    }
    for (const conn of [...this.#connecting]) if (this.#opener.isRemoved(conn.endpoint)) conn.close('endpointRemoved')
    this.#dispatch()
  }

  /**
   * The limit sweep's tick: idle workers are judged again, the longest idle first (the bottom of the
   * stack), so that idleTimeout shrinks the pool by the workers nobody has needed.
   */
  #sweep(): void {
    // Each close moves the connection (onMove), which dispatches: replacements below minWorkers are opened there.
    for (const conn of [...this.#idle]) {
      if (conn.state !== 'idle') continue
      const reason = reasonWhenIdle(this.#rules, conn, this.#facts)
      if (reason !== undefined) conn.close(reason)
    }
  }

  readonly #dispatch = reentrantStep(() => {
    if (this.#closed) return
    if (!this.#paused) while (this.#queue.length > 0 && this.#idle.length > 0) this.#grant(this.#idle[this.#idle.length - 1]!, this.#queue.shift()!)
    this.#opener.keepProcessAlive(this.#queue.length > 0)
    if (this.#options.allowExitOnIdle) this.#updateKeepAlive()
    if (this.#started) this.#grow()
    this.#notifyWaiters()
  })

  #grow(): void {
    const capacity = this.#options.maxWorkers - this.#total
    const onTheWay = this.#opener.liveAttempts + this.#releasing.size
    const forQueue = this.#paused ? 0 : this.#queue.length - onTheWay
    const wanted = Math.max(forQueue, this.#options.minWorkers - this.#total)
    for (const conn of this.#opener.open(Math.min(capacity, wanted), this)) this.#connecting.add(conn)
  }

  #notifyWaiters(): void {
    if (this.#readyWaiters.length > 0 && this.#idle.length >= this.#options.minWorkers)
      for (const w of this.#readyWaiters.splice(0)) w.resolve()
    if (this.#quietWaiters.length > 0 && this.#queue.length === 0 && this.#leases.size === 0)
      for (const w of this.#quietWaiters.splice(0)) w()
  }

  /** With allowExitOnIdle, idle sockets never keep the process alive; leased ones and waiting checkouts do. */
  #updateKeepAlive(): void {
    if (this.#queue.length > 0) {
      this.#waitKeepAlive ??= setInterval(() => {}, 2 ** 30)
    } else if (this.#waitKeepAlive !== undefined) {
      clearInterval(this.#waitKeepAlive)
      this.#waitKeepAlive = undefined
    }
  }

  /** Starts connecting (autostart: false). */
  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#dispatch()
  }

  /** Stops granting workers; waiting checkouts stay queued, their timeouts running. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#dispatch()
  }

  /** Resolves once `minWorkers` workers are connected and idle. */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClientClosedError(this.#options.name))
    this.start()
    if (this.#idle.length >= this.#options.minWorkers) return Promise.resolve()
    return new Promise((resolve, reject) => this.#readyWaiters.push({ resolve, reject }))
  }

  /** Resolves once nothing is checked out and nothing waits. */
  quiet(): Promise<void> {
    if (this.#queue.length === 0 && this.#leases.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.#quietWaiters.push(resolve))
  }

  /** Closes every connection and fails every waiter with ClientClosedError. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#opener.close()
      this.#idlePing.close()
      this.#limitSweep.close()
      if (this.#waitKeepAlive !== undefined) clearInterval(this.#waitKeepAlive)
      const error = new ClientClosedError(this.#options.name)
      for (const waiter of this.#queue.drain()) {
        waiter.handle = undefined
        this.#settle(waiter, error)
      }
      const readyError = new ClientClosedError(this.#options.name, { cause: this.#opener.lastError })
      for (const w of this.#readyWaiters.splice(0)) w.reject(readyError)
      for (const conn of [...this.#idle, ...this.#busy, ...this.#connecting, ...this.#releasing]) conn.close('clientClosed', { error })
      for (const w of this.#quietWaiters.splice(0)) w()
    }
    await Promise.all([...this.#allClosed])
  }
}

const noCollection = { add() {}, delete() {} }
