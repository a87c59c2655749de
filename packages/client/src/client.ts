/**
 * The public client: options, lifecycle, and `checkout()`.
 *
 * @example
 * ```ts
 * const client = new Client<typeof import('./worker.js').default>({ connect: '/run/app.sock' })
 * const c = await client.checkout()
 * try { await c.hash('secret') } finally { c.release() }
 * ```
 */
import pTimeout from 'p-timeout'
import { createCheckoutProxy } from './checkout-proxy.js'
import { ClientClosedError, QueueFullError, TimeoutError } from './errors.js'
import { toSinkFunction } from './log-sink.js'
import { checkTimeout, normalizeClientOptions, type ClientOptions, type NormalizedClientOptions } from './options.js'
import { Pool, type PoolStats } from './pool.js'
import type { Checkout, CheckoutOptions } from './remote-types.js'
import type { CheckoutState } from './checkout.js'

interface LeakRecord {
  state: CheckoutState
  site: { stack?: string } | undefined
}

/** The leak warning is given once with a site, and at most once without one. */
let warnedWithSite = false
let warnedWithoutSite = false
/** Set when a checkout leaked with no site recorded: from then on every client records sites. */
let recordSitesFromNowOn = false
const siteFrames = 4

const leaks = new FinalizationRegistry<LeakRecord>((record) => {
  if (record.state.released) return
  record.state.leaked()
  const stack = record.site?.stack
  if (stack !== undefined && !warnedWithSite) {
    warnedWithSite = true
    process.emitWarning(`a forkd checkout was garbage-collected without release(); its worker was discarded. It was made at:\n${stack.split('\n').slice(1).join('\n')}`, {
      code: 'FORKD_WARN_CHECKOUT_LEAKED',
    })
  } else if (stack === undefined && !warnedWithoutSite) {
    warnedWithoutSite = true
    recordSitesFromNowOn = true
    process.emitWarning('a forkd checkout was garbage-collected without release(); its worker was discarded. ' +
      'Where checkouts are made is now recorded, and the next such warning will name the place ' +
      '(trackCheckoutSites: true records it from the start).', { code: 'FORKD_WARN_CHECKOUT_LEAKED' })
  }
})

// Module-level on purpose: a closure made inside checkout() would keep the checkout's promise,
// and so the proxy, reachable from its own state, and leak tracking could never fire.
const untrack = (state: CheckoutState) => leaks.unregister(state)

export class Client<W = unknown> {
  readonly #options: NormalizedClientOptions
  readonly #pool: Pool
  #closing: Promise<void> | undefined

  constructor(options: ClientOptions) {
    this.#options = normalizeClientOptions(options)
    this.#pool = new Pool(this.#options)
  }

  /** Options after defaults, for diagnostics. */
  get options(): Readonly<NormalizedClientOptions> {
    return this.#options
  }

  /**
   * Waits for a worker and leases it exclusively. Pending checkouts are served first come, first
   * served; the timeout covers the wait (including while the server is down).
   */
  checkout<W2 = W>(options: CheckoutOptions = {}): Promise<Checkout<W2>> {
    let timeout: number
    let sink: ReturnType<typeof toSinkFunction> | undefined
    try {
      if (typeof options !== 'object' || options === null) throw new TypeError(`forkd checkout: options must be an object, got ${String(options)}`)
      timeout = options.timeout ?? this.#options.timeout
      checkTimeout('timeout', timeout)
      sink = options.log === undefined ? undefined : toSinkFunction(options.log)
    } catch (error) {
      return Promise.reject(error)
    }
    if (this.#closing !== undefined) return Promise.reject(new ClientClosedError(this.#options.name))
    if (this.#pool.pendingCount >= this.#options.maxPendingCheckouts)
      return Promise.reject(new QueueFullError(this.#options.name, this.#options.maxPendingCheckouts))
    let site: { stack?: string } | undefined
    if (this.#options.trackCheckoutSites || recordSitesFromNowOn) {
      site = {}
      // A few frames name the caller; a full (async) stack would cost ten times more per checkout.
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = siteFrames
      Error.captureStackTrace(site, this.checkout)
      Error.stackTraceLimit = limit
    }
    const pool = this.#pool
    const name = this.#options.name
    let node: ReturnType<Pool['enqueue']> | undefined
    let immediate: Checkout<W2> | undefined
    const granted = new Promise<Checkout<W2>>((resolve, reject) => {
      node = pool.enqueue({
        grant: (conn) => {
          const state = pool.open(conn, timeout, sink)
          const proxy = createCheckoutProxy<W2>(state)
          leaks.register(proxy, { state, site }, state)
          state.onFinish = untrack
          immediate = proxy
          resolve(proxy)
        },
        fail: reject,
      })
    })
    // A worker was idle: no wait, so no timer to arm.
    if (immediate !== undefined || timeout === Infinity) return granted
    // p-timeout builds its own TimeoutError, with a stack trace, up front; we never use it (the
    // fallback throws ours), and under a surge of queued checkouts that trace cost a tenth of the
    // client's time. No frames, no cost.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      return pTimeout(granted, {
        milliseconds: timeout,
        fallback: () => {
          pool.dequeue(node!)
          const cause = pool.lastConnectError
          const why = cause === undefined ? 'waiting for a worker' : `waiting for the server (${cause.message})`
          throw new TimeoutError(`${name ? name + ': ' : ''}checkout timed out after ${timeout / 1000} seconds ${why}`, timeout, { cause })
        },
      })
    } finally {
      Error.stackTraceLimit = limit
    }
  }

  /** Counts of workers by state, waiting checkouts and retirements. */
  stats(): PoolStats {
    return this.#pool.stats()
  }

  /**
   * Closes every worker connection; pending checkouts and running calls reject with
   * ClientClosedError. Idempotent; resolves when every connection is closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#pool.close()
    return this.#closing
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
