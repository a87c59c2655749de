/**
 * A worker connection with no socket behind it, for the pool's unit tests: the test plays the
 * worker (hello, replies, done-ack, death) and the pool cannot tell the difference.
 */
import { MessageType, type Endpoint, type HelloInfo } from '@forkd/protocol'
import type { RemoveReason } from '../../packages/client/src/retirement.js'
import type {
  ConnectionListener, ConnectionOptions, ConnectionState, Lessee, PooledConnection,
} from '../../packages/client/src/worker-connection.js'

let nextPid = 1000

export interface SentCall { id: number; epoch: number; method: string | null; args: unknown[] }

export class FakeConnection implements PooledConnection {
  readonly endpoint: Endpoint
  readonly startedAt = performance.now()
  readonly listener: ConnectionListener
  state: ConnectionState = 'connecting'
  info: HelloInfo
  checkouts = 0
  connectedAt = 0
  idleSince = 0
  /** The RSS the worker last reported with a done-ack (doneAck({ rss })). */
  rss: number | undefined
  /** Whether the pool asked for stats with every release (maxWorkerMemory): giveBack then waits for doneAck(). */
  readonly reportMemory: boolean
  retireRequested: string | undefined
  stalled = false
  closeReason: RemoveReason | undefined
  closeError: Error | undefined
  /** How the pool closed it: whether it asked for a discard. */
  discarded = false
  /** Deadlines of the pings the pool sent (the test answers with pong() or lets it pass with noPong()). */
  pings: number[] = []
  lessee: Lessee | null = null
  epoch = 0
  /** Calls queued by the current lessee and not yet "sent" (the test sends them with flush()). */
  unsent: SentCall[] = []
  sent: SentCall[] = []
  hasCheckoutDone: boolean

  constructor(options: ConnectionOptions, hasCheckoutDone = false) {
    this.endpoint = options.endpoint
    this.listener = options.listener
    this.reportMemory = options.reportMemory
    this.hasCheckoutDone = hasCheckoutDone
    const pid = nextPid++
    this.info = { v: 1, pid, id: pid - 999, name: '', serverPid: 1, checkoutDone: hasCheckoutDone }
  }

  #move(to: ConnectionState): void {
    const from = this.state
    this.state = to
    if (to === 'idle') this.idleSince = performance.now()
    this.listener.onMove(this, from, to)
  }

  // the test's side: what the worker does

  hello(): void {
    this.connectedAt = performance.now()
    this.#move('idle')
  }

  failAttempt(error = new Error('ECONNREFUSED')): void {
    this.closeReason = 'connectFailed'
    this.closeError = error
    this.#move('closed')
  }

  stall(): void {
    this.stalled = true
    this.listener.onNotice(this, 'stalled')
  }

  flush(): void {
    this.sent.push(...this.unsent)
    this.unsent = []
  }

  reply(value: unknown): void {
    const call = this.sent.shift()!
    this.lessee!.onReply([MessageType.Ok, call.id, value])
  }

  replyError(message: string): void {
    const call = this.sent.shift()!
    this.lessee!.onReply([MessageType.Error, call.id, { name: 'Error', message, kind: 'throw' }])
  }

  doneAck(stats?: { rss: number }): void {
    if (stats !== undefined) this.rss = stats.rss
    this.#move('idle')
  }

  requestRetire(reason = 'server-replaced'): void {
    this.retireRequested = reason
    this.listener.onNotice(this, 'retireRequested')
  }

  pong(): void {
    this.pings.shift()
  }

  /** The ping's deadline passed without an answer: what WorkerConnection does then. */
  noPong(): void {
    this.pings.shift()
    this.closeReason = 'unresponsive'
    this.closeError = new Error('no pong')
    this.#move('closed')
  }

  die(error = new Error('worker died')): void {
    const lessee = this.lessee
    this.lessee = null
    const unsent = this.unsent.length
    this.unsent = []
    this.closeReason = 'died'
    this.closeError = error
    this.#move('closed')
    lessee?.onLost(error, unsent)
  }

  // the pool's side

  lease(lessee: Lessee): number {
    this.lessee = lessee
    this.checkouts++
    this.#move('busy')
    return this.epoch
  }

  giveBack(epoch: number): void {
    this.lessee = null
    this.epoch = epoch
    this.#move(this.hasCheckoutDone || this.reportMemory ? 'releasing' : 'idle')
  }

  sendCall(id: number, epoch: number, method: string | null, args: unknown[]): void {
    this.unsent.push({ id, epoch, method, args })
  }

  ping(timeout: number): void {
    if (this.state === 'idle' && this.pings.length === 0) this.pings.push(timeout)
  }

  close(reason: RemoveReason, options: { discard?: boolean; error?: Error } = {}): number {
    if (this.state === 'closed') return 0
    const unsent = this.unsent.length
    this.unsent = []
    const lessee = this.lessee
    this.lessee = null
    this.closeReason = reason
    this.closeError = options.error
    this.discarded = options.discard === true
    this.#move('closed')
    if (options.error !== undefined) lessee?.onLost(options.error, unsent)
    return unsent
  }

  closed(): Promise<void> {
    return Promise.resolve()
  }
}
