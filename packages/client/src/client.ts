/**
 * The public client: options, lifecycle, events, `checkout()` and `run()`. The pool behind it does
 * the work; the client turns what the pool observes into events, log records and warnings.
 */
import { EventEmitter } from 'node:events'
import { describeEndpoint } from '@forkd/protocol'
import { ClientClosedError } from './errors.js'
import { captureSite, type SiteTracking } from './leak-tracking.js'
import { SiteBudget } from './site-budget.js'
import { toSinkFunction, type LogRecord } from './log-sink.js'
import { checkTimeout, normalizeClientOptions, type ClientOptions, type NormalizedClientOptions } from './options.js'
import type { PoolObserver, WorkerInfo, WorkerRef } from './pool-events.js'
import { Pool, type CheckoutRequest, type PoolStats } from './pool.js'
import type { ClientTimings } from './timing.js'
import type { Checkout, CheckoutOptions } from './remote-types.js'
import type { RemoveReason } from './retirement.js'
import {
  checkoutChannel, traced, workerConnectChannel, workerRemoveChannel, type CheckoutTraceContext, type WorkerConnectMessage, type WorkerRemoveMessage,
} from './tracing.js'
import { warnOnce } from './warn-once.js'

/** The client's events: observational only. There is never an `'error'` event. */
export interface ClientEvents {
  /** A worker connection completed its handshake. */
  connect: [worker: WorkerInfo]
  /** A connection attempt failed (it is retried). */
  connectError: [error: Error]
  /** A checkout was granted a worker. */
  acquire: [worker: WorkerInfo]
  /** A checkout failed before it got a worker (timeout, abort, queue full, client closed). */
  acquireError: [error: Error]
  /** A checkout ended; `error` is what it was released with, or its failure, if any. */
  release: [worker: WorkerInfo, error: Error | undefined]
  /** A worker connection was closed or lost, and why. */
  remove: [worker: WorkerInfo, reason: RemoveReason]
}

const eventNames = ['connect', 'connectError', 'acquire', 'acquireError', 'release', 'remove'] as const

/** Each client's histograms, for the Prometheus collector (prometheus.ts): not public API. */
const timingsOf = new WeakMap<object, () => ClientTimings | undefined>()

/** The histograms of `client`, undefined with `recordTiming: false`. Internal to this package. */
export function clientTimings(client: object): ClientTimings | undefined {
  return timingsOf.get(client)?.()
}

/** Whether `value` is a Client of this copy of the package. Internal to this package. */
export function isClient(value: unknown): boolean {
  return typeof value === 'object' && value !== null && timingsOf.has(value)
}

/**
 * A forkd client: a pool of connections to worker processes of one or more forkd servers (a list,
 * or found through DNS: docs/multi-host.md), handing out exclusive checkouts. Type it with the worker module to get typed methods. An EventEmitter of
 * observational events only (see ClientEvents): nothing a listener forgot can crash the process.
 *
 * @example
 * ```ts
 * import { Client } from '@forkd/client'
 * import type worker from './worker.js'
 *
 * const client = new Client<typeof worker>({ connect: '/run/app/hash.sock' })
 * const stored = await client.run((c) => c.hash('secret'))   // check out, call, release
 * await client.close()
 * ```
 */
export class Client<W = unknown> extends EventEmitter<ClientEvents> {
  readonly #options: NormalizedClientOptions
  readonly #pool: Pool
  readonly #siteTracking: SiteTracking
  #draining: Promise<void> | undefined
  #closing: Promise<void> | undefined

  /** Validates the options (TypeError naming the option) and, unless `autostart: false`, starts connecting `minWorkers` workers. */
  constructor(options: ClientOptions<W>) {
    super()
    this.#options = normalizeClientOptions(options as unknown as ClientOptions<never>)
    this.#pool = new Pool(this.#options, this.#observer())
    const track = this.#options.trackCheckoutSites
    this.#siteTracking = track === 'sampled' ? new SiteBudget() : track
    timingsOf.set(this, () => this.#pool.timings)
  }

  /** Options after defaults, for diagnostics. */
  get options(): Readonly<NormalizedClientOptions> {
    return this.#options
  }

  /**
   * Waits for a worker and leases it exclusively. Waiting checkouts are served by priority, then
   * first come, first served; the timeout covers the wait (including while the server is down).
   * Release it with `c.release()` (or `await using`); `run()` does that for you.
   */
  checkout<W2 = W>(options: CheckoutOptions = {}): Promise<Checkout<W2>> {
    return this.#checkout<W2>(options, this.checkout)
  }

  /** `below`: the public method the user called, so that the recorded site is the user's line. */
  #checkout<W2>(options: CheckoutOptions, below: Function): Promise<Checkout<W2>> {
    let request: CheckoutRequest
    try {
      request = this.#request(options, below)
    } catch (error) {
      return Promise.reject(error)
    }
    if (request.trace !== undefined) return checkoutChannel.tracePromise(this.#acquire, request.trace, this, request) as Promise<Checkout<W2>>
    return this.#acquire(request) as Promise<Checkout<W2>>
  }

  #acquire(request: CheckoutRequest): Promise<Checkout<unknown>> {
    if (this.#draining !== undefined || this.#closing !== undefined) {
      const error = new ClientClosedError(this.#options.name)
      this.#emit('acquireError', error)
      return Promise.reject(error)
    }
    return this.#pool.acquire(request)
  }

  #request(options: CheckoutOptions, below: Function): CheckoutRequest {
    if (typeof options !== 'object' || options === null) throw new TypeError(`forkd checkout: options must be an object, got ${String(options)}`)
    const timeout = options.timeout ?? this.#options.timeout
    checkTimeout('timeout', timeout)
    const priority = options.priority ?? 0
    if (!Number.isSafeInteger(priority)) throw new TypeError(`forkd checkout: option "priority" must be an integer, got ${String(priority)}`)
    const signal = options.signal
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`forkd checkout: option "signal" must be an AbortSignal, got ${typeof signal}`)
    // Made only when someone listens on forkd:checkout: without a subscriber a checkout builds nothing.
    const trace: CheckoutTraceContext | undefined = traced(checkoutChannel) ? { client: this.#options.name, priority, timeout } : undefined
    return {
      timeout,
      priority,
      signal,
      sink: options.log === undefined ? undefined : toSinkFunction(options.log),
      site: captureSite(this.#siteTracking, below),
      trace,
    }
  }

  /**
   * Checks a worker out, calls `fn` with it, releases it (with the error when `fn` throws, so
   * refork-after-error applies) and resolves with `fn`'s value. Options as for `checkout()`.
   *
   * @example
   * ```ts
   * const hash = await client.run((c) => c.hash(password))
   * ```
   */
  async run<R, W2 = W>(fn: (checkout: Checkout<W2>) => R | PromiseLike<R>, options: CheckoutOptions = {}): Promise<Awaited<R>> {
    if (typeof fn !== 'function') throw new TypeError(`forkd run: the first argument must be a function, got ${typeof fn}`)
    // The site is the caller of run(), not this line (timeout-message.test.ts).
    const c = await this.#checkout<W2>(options, this.run)
    let value: Awaited<R>
    try {
      value = await fn(c)
    } catch (error) {
      c.release(error ?? new Error('run() callback threw a nullish value'))
      throw error
    }
    c.release()
    return value
  }

  /** Resolves once `minWorkers` workers are connected and idle (starts connecting when `autostart` is false). Rejects with ClientClosedError if the client closes first. */
  ready(): Promise<void> {
    return this.#pool.ready()
  }

  /** Stops granting workers: waiting checkouts stay queued (their timeouts keep running); held ones are not disturbed. */
  pause(): void {
    this.#pool.pause()
  }

  /** Grants workers again after `pause()`. */
  resume(): void {
    this.#pool.resume()
  }

  /**
   * Counts of workers by state, waiting checkouts, retirements, timeouts, one row per endpoint and
   * per DNS name, and the `waitTime`, `runTime` and `holdTime` histograms (ms; see
   * docs/observability.md).
   */
  stats(): PoolStats {
    return this.#pool.stats()
  }

  /**
   * Refuses new checkouts (ClientClosedError), serves the ones already waiting, waits until every
   * checkout is released, then closes. `close()` is the immediate one.
   */
  drain(): Promise<void> {
    this.#draining ??= this.#pool.quiet().then(() => this.close())
    return this.#draining
  }

  /**
   * Closes every worker connection at once; waiting checkouts and running calls reject with
   * ClientClosedError. Idempotent; resolves when every connection is closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#pool.close()
    return this.#closing
  }

  /** `await using client = new Client(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #emit<E extends keyof ClientEvents>(event: E, ...args: ClientEvents[E]): void {
    try {
      ;(this.emit as (event: E, ...args: ClientEvents[E]) => boolean)(event, ...args)
    } catch (error) {
      // A listener that throws must not break the pool, which called us mid-step.
      warnOnce('event-listener', `a forkd client '${event}' listener threw: ${(error as Error)?.message ?? String(error)}`)
    }
  }

  #log(level: LogRecord['level'], message: string, worker: WorkerInfo | undefined, fields: Record<string, unknown> | null): void {
    const sink = this.#options.log
    if (sink === undefined) return
    try {
      sink({ level, time: Date.now(), message, method: undefined, pid: worker?.pid ?? process.pid, worker: worker?.id ?? 0, fields })
    } catch (error) {
      warnOnce('client-log', `the forkd client's log sink threw: ${(error as Error)?.message ?? String(error)}`)
    }
  }

  /** What the pool reports, turned into events, log records and warnings. Info objects are made only when someone listens. */
  #observer(): PoolObserver {
    const info = (ref: WorkerRef): WorkerInfo => ({ pid: ref.info.pid, id: ref.info.id, endpoint: describeEndpoint(ref.endpoint) })
    const listened = (event: (typeof eventNames)[number]) => this.listenerCount(event) > 0
    const logs = () => this.#options.log !== undefined
    const message = (ref: WorkerRef): WorkerConnectMessage =>
      ({ client: this.#options.name, pid: ref.info.pid, workerId: ref.info.id, endpoint: describeEndpoint(ref.endpoint) })
    return {
      connect: (ref) => {
        if (listened('connect')) this.#emit('connect', info(ref))
        if (logs()) this.#log('debug', 'worker connected', info(ref), null)
        if (workerConnectChannel.hasSubscribers) workerConnectChannel.publish(message(ref))
      },
      connectError: (error, endpoint) => {
        if (listened('connectError')) this.#emit('connectError', error)
        if (logs()) this.#log('warn', `connection attempt failed: ${error.message}`, undefined, { endpoint, code: (error as { code?: string }).code ?? null })
      },
      acquire: (ref) => {
        if (listened('acquire')) this.#emit('acquire', info(ref))
      },
      acquireError: (error) => {
        if (listened('acquireError')) this.#emit('acquireError', error)
      },
      release: (ref, error) => {
        if (listened('release')) this.#emit('release', info(ref), error)
      },
      remove: (ref, reason) => {
        if (listened('remove')) this.#emit('remove', info(ref), reason)
        if (logs()) this.#log(reason === 'died' ? 'warn' : 'info', `worker removed: ${reason}`, info(ref), { reason, endpoint: describeEndpoint(ref.endpoint) })
        if (workerRemoveChannel.hasSubscribers) workerRemoveChannel.publish({ ...message(ref), reason } satisfies WorkerRemoveMessage)
      },
      warn: (message, code) => {
        process.emitWarning(message, { code })
        this.#log('warn', message, undefined, { code })
      },
    }
  }
}
