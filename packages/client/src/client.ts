/**
 * The public client: options, lifecycle, and `checkout()`. The pool behind it does the work.
 */
import pTimeout from 'p-timeout'
import { formatSeconds } from './checkout.js'
import { ClientClosedError, QueueFullError, TimeoutError } from './errors.js'
import { captureSite } from './leak-tracking.js'
import { toSinkFunction } from './log-sink.js'
import { checkTimeout, normalizeClientOptions, type ClientOptions, type NormalizedClientOptions } from './options.js'
import { Pool, type PoolStats, type Waiter } from './pool.js'
import type { Checkout, CheckoutOptions } from './remote-types.js'

/**
 * A forkd client: a pool of connections to worker processes of one or more forkd servers (a list,
 * or found through DNS: docs/multi-host.md), handing out exclusive checkouts. Type it with the
 * worker module to get typed methods.
 *
 * @example
 * ```ts
 * import { Client } from '@forkd/client'
 * import type worker from './worker.js'
 *
 * const client = new Client<typeof worker>({ connect: '/run/app/hash.sock' })
 * const c = await client.checkout()
 * try { await c.hash('secret') } finally { c.release() }
 * await client.close()
 * ```
 */
export class Client<W = unknown> {
  readonly #options: NormalizedClientOptions
  readonly #pool: Pool
  #closing: Promise<void> | undefined

  /** Validates the options (TypeError naming the option) and starts connecting `minWorkers` workers. */
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
    let waiter!: Waiter
    const granted = new Promise<Checkout<W2>>((resolve, reject) => {
      waiter = {
        timeout,
        sink,
        site: captureSite(this.#options.trackCheckoutSites, this.checkout),
        priority: 0,
        resolve: resolve as (checkout: Checkout<unknown>) => void,
        reject,
      }
    })
    // A worker was idle: no wait, so no timer to arm.
    if (this.#pool.request(waiter) || timeout === Infinity) return granted
    // p-timeout builds its own TimeoutError, with a stack trace, up front; we never use it (the
    // fallback throws ours), and under a surge of queued checkouts that trace cost a tenth of the
    // client's time. No frames, no cost.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      return pTimeout(granted, {
        milliseconds: timeout,
        fallback: () => {
          this.#pool.withdraw(waiter)
          throw this.#waitTimedOut(timeout)
        },
      })
    } finally {
      Error.stackTraceLimit = limit
    }
  }

  #waitTimedOut(timeout: number): TimeoutError {
    const name = this.#options.name
    const cause = this.#pool.lastConnectError
    const why = cause === undefined ? 'waiting for a worker' : `waiting for the server (${cause.message})`
    return new TimeoutError(`${name ? name + ': ' : ''}checkout timed out after ${formatSeconds(timeout)} ${why}`, timeout, { cause })
  }

  /** Counts of workers by state, waiting checkouts, retirements, and one row per endpoint and per DNS name. */
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

  /** `await using client = new Client(...)` closes it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }
}
