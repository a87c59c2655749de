/**
 * The pool: worker connections, one collection per state, and the FIFO of waiting checkouts.
 * `#dispatch()` runs after every change and is the only place that hands workers to waiting
 * checkouts or opens connections.
 */
import { Codec, type WireError } from '@forkd/protocol'
import { reentrantStep } from '@forkd/protocol/internal'
import { CheckoutState, warnOnce, type CheckinTarget } from './checkout.js'
import { ClientClosedError } from './errors.js'
import type { LogRecord } from './log-sink.js'
import { Fifo, type FifoNode } from './fifo.js'
import type { NormalizedClientOptions } from './options.js'
import { WorkerConnection, type ConnectionEvents, type ConnectionState } from './worker-connection.js'

/** A checkout waiting for a worker. */
export interface Waiter {
  grant(conn: WorkerConnection): void
  fail(error: Error): void
}

export type RetireReason = 'error' | 'maxCheckouts' | 'serverReplaced' | 'died' | 'fatal' | 'checkoutDoneFailed'

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
  /** Failed connection attempts since the last success. */
  connectFailures: number
}

export class Pool implements ConnectionEvents, CheckinTarget {
  readonly #options: NormalizedClientOptions
  readonly #codec = new Codec()
  /** Idle workers as a stack: the most recently used is reused first, while its caches are warm. */
  #idle: WorkerConnection[] = []
  readonly #busy = new Set<WorkerConnection>()
  readonly #connecting = new Set<WorkerConnection>()
  readonly #releasing = new Set<WorkerConnection>()
  readonly #pending = new Fifo<Waiter>()
  #closed = false
  #failures = 0
  #retryTimer: NodeJS.Timeout | undefined
  #lastConnectError: Error | undefined
  #checkouts = 0
  readonly #retired: Record<RetireReason, number> = { error: 0, maxCheckouts: 0, serverReplaced: 0, died: 0, fatal: 0, checkoutDoneFailed: 0 }
  #retiring = new WeakMap<WorkerConnection, RetireReason>()
  readonly #allClosed = new Set<Promise<void>>()

  constructor(options: NormalizedClientOptions) {
    this.#options = options
    this.#dispatch()
  }

  get #total(): number {
    return this.#idle.length + this.#busy.size + this.#connecting.size + this.#releasing.size
  }

  /** The most recent reason a connection attempt failed, for the cause of a TimeoutError. */
  get lastConnectError(): Error | undefined {
    return this.#lastConnectError
  }

  get pendingCount(): number {
    return this.#pending.length
  }

  stats(): PoolStats {
    return {
      workers: this.#total,
      idle: this.#idle.length,
      busy: this.#busy.size,
      connecting: this.#connecting.size,
      releasing: this.#releasing.size,
      pending: this.#pending.length,
      checkouts: this.#checkouts,
      retired: { ...this.#retired },
      connectFailures: this.#failures,
    }
  }

  /** Queues a waiter; returns its node so a timeout can remove it in O(1). */
  enqueue(waiter: Waiter): FifoNode<Waiter> {
    const node = this.#pending.push(waiter)
    this.#dispatch()
    return node
  }

  dequeue(node: FifoNode<Waiter>): void {
    this.#pending.remove(node)
  }

  /** Creates the checkout state for a granted connection. */
  open(conn: WorkerConnection, timeout: number, sink: ((record: LogRecord) => void) | undefined): CheckoutState {
    return new CheckoutState(conn, this, this.#options.name, timeout, sink)
  }

  checkin(conn: WorkerConnection, outcome: { hadError: boolean }): void {
    conn.owner = null
    if (conn.state !== 'busy') return
    if (this.#closed) return this.#retire(conn, 'fatal')
    if (outcome.hadError && this.#options.reforkAfterError) return this.#retire(conn, 'error')
    if (conn.checkouts >= this.#options.maxCheckouts) return this.#retire(conn, 'maxCheckouts')
    if (conn.retireReason !== undefined) return this.#retire(conn, 'serverReplaced')
    conn.sendDone()
    conn.moveTo(conn.info.checkoutDone ? 'releasing' : 'idle')
  }

  #retire(conn: WorkerConnection, reason: RetireReason): void {
    this.#retiring.set(conn, reason)
    conn.close(false, reason)
  }

  // ConnectionEvents

  onMove(conn: WorkerConnection, from: ConnectionState, to: ConnectionState): void {
    this.#collection(from, conn, false)
    if (to === 'closed') {
      const reason = this.#retiring.get(conn) ?? (from === 'connecting' ? undefined : conn.lostRemotely ? 'died' : 'fatal')
      if (reason !== undefined) this.#retired[reason]++
      const closing = conn.closed()
      this.#allClosed.add(closing)
      void closing.then(() => this.#allClosed.delete(closing))
    } else {
      this.#collection(to, conn, true)
    }
    if (from === 'connecting' && to === 'idle') {
      this.#failures = 0
      this.#lastConnectError = undefined
    }
    if (to === 'idle' && conn.retireReason !== undefined) {
      this.#retire(conn, 'serverReplaced')
      return
    }
    this.#dispatch()
  }

  onRetire(conn: WorkerConnection): void {
    if (conn.state === 'idle') this.#retire(conn, 'serverReplaced')
  }

  onConnectFailed(_conn: WorkerConnection, error: Error): void {
    this.#lastConnectError = error
    this.#failures++
    if (this.#closed || this.#retryTimer !== undefined) return
    const { connectRetryMin, connectRetryMax } = this.#options
    const base = Math.min(connectRetryMax, connectRetryMin * 2 ** Math.min(this.#failures - 1, 20))
    const delay = base / 2 + Math.random() * (base / 2)
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined
      this.#dispatch()
    }, delay)
    // Only pending checkouts should keep the process alive, not the refill of minWorkers.
    if (this.#pending.length === 0) this.#retryTimer.unref()
  }

  onCheckoutDoneFailed(conn: WorkerConnection, error: WireError): void {
    this.#retiring.set(conn, 'checkoutDoneFailed')
    warnOnce('checkout-done', `forkd worker ${conn.info.pid}: checkoutDone failed, the worker was retired: ${error.message}`)
  }

  #collection(state: ConnectionState, conn: WorkerConnection, add: boolean): void {
    switch (state) {
      case 'idle':
        if (add) this.#idle.push(conn)
        else {
          const i = this.#idle.lastIndexOf(conn)
          if (i !== -1) this.#idle.splice(i, 1)
        }
        return
      case 'busy': add ? this.#busy.add(conn) : this.#busy.delete(conn); return
      case 'connecting': add ? this.#connecting.add(conn) : this.#connecting.delete(conn); return
      case 'releasing': add ? this.#releasing.add(conn) : this.#releasing.delete(conn); return
      case 'closed': return
    }
  }

  readonly #dispatch = reentrantStep(() => {
    if (this.#closed) return
    while (this.#pending.length > 0 && this.#idle.length > 0) {
      const conn = this.#idle.pop()!
      conn.checkouts++
      this.#checkouts++
      conn.moveTo('busy')
      this.#pending.shift()!.grant(conn)
    }
    this.#grow()
  })

  #grow(): void {
    if (this.#retryTimer !== undefined) return
    const capacity = this.#options.maxWorkers - this.#total
    const wanted = Math.max(this.#pending.length - this.#connecting.size - this.#releasing.size, this.#options.minWorkers - this.#total)
    let toOpen = Math.min(capacity, wanted)
    // While the server is unreachable, probe with one connection at a time.
    if (this.#failures > 0) toOpen = Math.min(toOpen, 1 - this.#connecting.size)
    for (let i = 0; i < toOpen; i++) {
      const conn = new WorkerConnection(this.#options.connect, this.#options.maxPayload, this.#codec, this)
      this.#connecting.add(conn)
    }
  }

  /** Closes every connection and fails every waiter with ClientClosedError. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      clearTimeout(this.#retryTimer)
      this.#retryTimer = undefined
      const error = new ClientClosedError(this.#options.name)
      for (const waiter of this.#pending.drain()) waiter.fail(error)
      const all = [...this.#idle, ...this.#busy, ...this.#connecting, ...this.#releasing]
      for (const conn of all) {
        const owner = conn.owner
        this.#retiring.set(conn, 'fatal')
        conn.close(false, 'client closed')
        owner?.onLost(error)
      }
    }
    await Promise.all([...this.#allClosed])
  }
}
