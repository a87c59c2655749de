/**
 * One worker connection, seen from the worker: runs calls strictly in order, one at a time.
 *
 * ```
 *  idle ──frame──► pumping ──a call returned a promise──► waiting ──settled──► pumping
 *   ▲                 │                                                          │
 *   └──queue empty────┴──────────────────────────────────────────────────────────┘
 * ```
 *
 * While pumping, the frame writer is corked: the replies of a synchronous run of calls go out in one
 * frame when the loop stops or waits, with no microtask per reply. Log records are flushed at once,
 * so the records written just before a crash or a hang still arrive.
 *
 * Error epochs: every error reply increments `#epoch`; each call carries the epoch the client knew
 * when it sent it. A call with an older epoch was pipelined before the client learned of the error,
 * so it is dropped unexecuted (docs/scenarios.md, scenario 3: an error clears the checkout's queue). The client
 * rejects those calls itself with CancelledError.
 */
import type { AsyncLocalStorage } from 'node:async_hooks'
import {
  CallFlags, Codec, CloseCode, DoneFlags, FrameWriter, Limits, MessageType, ProtocolError, assertEncodable, checkClientMessage, toWireError,
  type CallMessage, type ClientMessage, type HelloInfo, type LogLevel, type WireError, type WireErrorKind, type WorkerStats,
} from '@forkd/protocol'
import type { WebSocket } from 'ws'
import type { WorkerDefinition } from '../define-worker.js'
import { UnknownMethodError } from '../errors.js'
import { installSink } from './context.js'

/** Above this many buffered bytes, log records are dropped (and counted) instead of queued. */
const maxBufferedLogBytes = 16 * 1024 * 1024
/** The queue's run slots are dropped once there are at least this many (and they are half of it). */
const compactAfter = 4096

/** The call running on a session; `finished` once it has replied (later log/emit no longer belong to it). */
export interface CurrentCall { id: number; flags: number; finished: boolean }

/** What `log` and `emit` find through AsyncLocalStorage in a process serving several connections. */
export interface CallScope { session: WorkerSession; call: CurrentCall }

/**
 * How a session ended, for the process (life.ts): `closed` by the client (1000) or the socket;
 * `retire` the client let the worker go for what it became (4002); `discard` the client gave up on
 * the running call (4000); `protocol-error` the client broke the protocol (4001);
 * `checkout-done-failed` the hook threw and the worker closed with 4007.
 */
export type SessionEnd = 'closed' | 'retire' | 'discard' | 'protocol-error' | 'checkout-done-failed'

/** Setup runs once per process, before the worker is offered as a spare. */
export interface SetupState {
  /** Resolves (never rejects) when setup has finished. */
  done: Promise<void>
  settled: boolean
  failed: boolean
  error: unknown
}

export interface SessionOptions {
  definition: WorkerDefinition
  /** Resolves when setup has finished; holds its error if it threw. */
  setup: SetupState
  hello: HelloInfo
  /** Called once when the session is over; its running call, if any, is then abandoned or finished. */
  onEnd: (how: SessionEnd) => void
  /** Called whenever the running call (or checkoutDone) starts or ends: the start, epoch ms, or null. */
  onBusy: (since: number | null) => void
  /**
   * In a process serving several connections: the scope its calls run in, where the process's one
   * `log`/`emit` sink finds them. Absent with one connection per process: the session then installs
   * itself as the sink, and calls run without AsyncLocalStorage.
   */
  callScope?: AsyncLocalStorage<CallScope> | undefined
}

export class WorkerSession {
  readonly #ws: WebSocket
  readonly #options: SessionOptions
  readonly #codec: Codec
  readonly #queue: ClientMessage[] = []
  #head = 0
  #running = false
  readonly #writer: FrameWriter
  #epoch = 0
  #current: CurrentCall | null = null
  #droppedLogs = 0
  #closed = false
  #ended = false
  #saidBye = false
  /** Calls run on this connection, and the method of the running one, for the worker's report. */
  #calls = 0
  #runningMethod = ''
  /** Epoch ms when the running call (or checkoutDone) started; null when idle. For the hung-worker watch. */
  get busySince(): number | null {
    return this.#busySince
  }

  #busySince: number | null = null

  #setBusy(since: number | null): void {
    this.#busySince = since
    this.#options.onBusy(since)
  }

  constructor(ws: WebSocket, options: SessionOptions, codec: Codec) {
    this.#ws = ws
    this.#options = options
    this.#codec = codec
    this.#writer = new FrameWriter((frame) => {
      if (ws.readyState === ws.OPEN) ws.send(frame)
    }, { maxBatch: codec.maxBatch })
    if (options.callScope === undefined)
      installSink({
        log: (level, message, fields) => this.log(this.#current, level, message, fields),
        emit: (name, data) => this.emit(this.#current, name, data),
      })
    ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary))
    ws.on('close', (code) => this.#onClose(code))
    ws.on('error', (error) => process.stderr.write(`forkd worker connection error: ${error.message}\n`))
    this.#send([MessageType.Hello, options.hello])
  }

  /** Calls this connection has run so far. */
  get calls(): number {
    return this.#calls
  }

  /** The running call's method and start (epoch ms), or null when idle. */
  get running(): { method: string; since: number } | null {
    return this.#busySince === null ? null : { method: this.#runningMethod, since: this.#busySince }
  }

  /** Asks the client to retire this worker once its checkout is released. */
  retire(reason: string): void {
    this.#send([MessageType.Retire, reason])
  }

  /** Last words before the process exits abnormally, flushed synchronously. */
  bye(info: { reason: string; exitCode?: number; error?: WireError }): void {
    if (this.#closed || this.#saidBye) return
    this.#saidBye = true
    this.#send([MessageType.Bye, info])
    this.#writer.flush()
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return
    let messages: unknown[]
    try {
      if (!isBinary) throw new ProtocolError('malformed frame: text frames are not part of the protocol')
      messages = this.#codec.decodeFrame(data)
      if (this.#queue.length - this.#head + messages.length > Limits.maxQueuedCalls)
        throw new ProtocolError(`too many queued calls: more than ${Limits.maxQueuedCalls} waiting to run (maxQueuedCalls)`)
      // While calls keep arriving behind a running one, the queue never empties: drop the slots
      // already run once they are half of it, so its memory follows what waits, not what ran.
      if (this.#head >= compactAfter && this.#head * 2 >= this.#queue.length) {
        this.#queue.copyWithin(0, this.#head)
        this.#queue.length -= this.#head
        this.#head = 0
      }
      for (let i = 0; i < messages.length; i++) this.#queue.push(checkClientMessage(messages[i]))
    } catch (error) {
      this.#protocolError(error as Error)
      return
    }
    if (!this.#running) this.#pump()
  }

  #protocolError(error: Error): void {
    const reason = error.message.length > 120 ? error.message.slice(0, 120) : error.message
    process.stderr.write(`forkd worker: protocol error from client, closing: ${error.message}\n`)
    this.#writer.flush()
    this.#closed = true
    this.#ws.close(CloseCode.ProtocolError, reason)
    this.#end('protocol-error')
  }

  /**
   * Runs queued messages in order. Synchronous while the interface answers synchronously; when a
   * call returns a promise the loop stops and resumes once it settles (`#running` stays true).
   */
  #pump(): void {
    this.#running = true
    this.#writer.cork()
    const setup = this.#options.setup
    while (this.#head < this.#queue.length && !this.#closed) {
      const message = this.#queue[this.#head]!
      this.#queue[this.#head++] = undefined as never
      let pending: Promise<void> | undefined
      if (message[0] === MessageType.Call) {
        if (message[2] < this.#epoch) continue
        // setup has normally finished before the server hands a worker out
        pending = setup.settled ? this.#call(message) : setup.done.then(() => this.#call(message))
      } else if (message[0] === MessageType.Done) {
        const stats = message.length === 2 && (message[1] & DoneFlags.Stats) !== 0
        if (this.#options.definition.checkoutDone !== undefined) pending = this.#checkoutDone(stats)
        else if (stats) this.#send([MessageType.DoneAck, null, processStats()])
      }
      // Cancel is reserved for a later protocol revision; it is accepted and ignored.
      if (pending !== undefined) {
        this.#writer.uncork()
        void pending.then(() => this.#pump())
        return
      }
    }
    this.#writer.uncork()
    this.#queue.length = 0
    this.#head = 0
    this.#running = false
    if (this.#closeCode !== undefined) this.#end(this.#closeCode === CloseCode.RetireWorker ? 'retire' : 'closed')
  }

  /** Runs one call; returns a promise only when the interface returned one. */
  #call(message: CallMessage): Promise<void> | undefined {
    const [, id, , method, args, flags] = message
    if (this.#options.setup.failed) {
      this.#replyError(id, this.#options.setup.error, 'setup')
      return undefined
    }
    this.#setBusy(Date.now())
    const current: CurrentCall = { id, flags, finished: false }
    this.#current = current
    this.#calls++
    this.#runningMethod = method ?? '()'
    const scope = this.#options.callScope
    let result: unknown
    try {
      result = scope === undefined ? this.#invoke(method, args) : scope.run({ session: this, call: current }, () => this.#invoke(method, args))
    } catch (error) {
      this.#finish(id, error, true)
      return undefined
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      return Promise.resolve(result).then(
        (value) => this.#finish(id, value, false),
        (error) => this.#finish(id, error, true),
      )
    }
    this.#finish(id, result, false)
    return undefined
  }

  #invoke(method: string | null, args: unknown[]): unknown {
    const iface = this.#options.definition.interface
    if (typeof iface === 'function') return method === null ? iface(...args) : iface(method, ...args)
    if (method === null)
      throw new UnknownMethodError(`this worker has a map interface: call one of its methods (it has: ${Object.keys(iface).join(', ')}), not the checkout itself`)
    if (!Object.hasOwn(iface, method)) throw new UnknownMethodError(`unknown method "${method}" (this worker has: ${Object.keys(iface).join(', ')})`)
    return iface[method]!(...args)
  }

  #finish(id: number, outcome: unknown, failed: boolean): void {
    this.#current!.finished = true
    this.#current = null
    this.#setBusy(null)
    if (this.#closed) return
    if (failed) {
      this.#replyError(id, outcome, 'throw')
      return
    }
    try {
      assertEncodable(outcome)
      this.#writer.queueMessage([MessageType.Ok, id, outcome], this.#codec)
    } catch (error) {
      // Nothing of the reply was queued.
      this.#replyError(id, error, 'encode')
    }
  }

  #replyError(id: number, thrown: unknown, kind: WireErrorKind): void {
    this.#epoch++
    this.#send([MessageType.Error, id, toWireError(thrown, kind)])
  }

  async #checkoutDone(stats: boolean): Promise<void> {
    const hook = this.#options.definition.checkoutDone
    if (hook === undefined) return
    this.#runningMethod = '(checkoutDone)'
    this.#setBusy(Date.now())
    let failure: unknown
    try {
      await hook()
    } catch (error) {
      failure = error ?? new Error('checkoutDone threw ' + String(error))
    }
    this.#setBusy(null)
    if (this.#closed) return
    const error = failure === undefined ? null : toWireError(failure, 'checkout-done')
    this.#send(stats ? [MessageType.DoneAck, error, processStats()] : [MessageType.DoneAck, error])
    if (failure === undefined) return
    // The worker's state may be dirty (an open transaction): it must not serve anyone again.
    this.#writer.flush()
    this.#closed = true
    this.#ws.close(CloseCode.CheckoutDoneFailed, 'checkoutDone failed')
    this.#end('checkout-done-failed')
  }

  /**
   * A record written by `log` during `current` (the running call of this session; null or finished
   * outside one): sent to the caller when it asked for logs, else to stderr outside a call.
   */
  log(current: CurrentCall | null, level: LogLevel, message: string, fields: Record<string, unknown> | null): void {
    if (current?.finished === true) current = null
    if (current === null || (current.flags & CallFlags.Logs) === 0 || this.#closed) {
      if (current === null && level !== 'debug')
        process.stderr.write(`${level}: ${message}${fields ? ' ' + safeJson(fields) : ''}\n`)
      return
    }
    if (this.#ws.bufferedAmount + this.#writer.pendingBytes > maxBufferedLogBytes) {
      this.#droppedLogs++
      return
    }
    const time = Date.now()
    if (this.#droppedLogs > 0) {
      const dropped = this.#droppedLogs
      this.#droppedLogs = 0
      this.#send([MessageType.Log, current.id, 'warn', time, `${dropped} log records dropped: the caller reads them slower than they are written`, { dropped }])
    }
    let encoded: Buffer
    try {
      encoded = this.#codec.encode([MessageType.Log, current.id, level, time, message, fields])
    } catch {
      encoded = this.#codec.encode([MessageType.Log, current.id, level, time, message, { unencodableFields: true }])
    }
    // Sent at once, not batched: records logged just before a crash or a hang must still arrive.
    this.#writer.queue(encoded)
    this.#writer.flush()
  }

  /** An event emitted by `emit` during `current`; throws outside a running call. */
  emit(current: CurrentCall | null, name: string, data: unknown): void {
    if (current === null || current.finished) throw new Error('emit() can only be called while a call is running')
    assertEncodable(data)
    if ((current.flags & CallFlags.Events) === 0 || this.#closed) return
    this.#writer.queue(this.#codec.encode([MessageType.Event, current.id, name, data]))
  }

  #send(message: unknown[]): void {
    this.#writer.queueMessage(message, this.#codec)
  }

  #closeCode: number | undefined

  #onClose(code: number): void {
    this.#closeCode = code
    this.#closed = true
    // Discard: the client gave up on this worker (timeout, abort): abandon the running call now.
    if (code === CloseCode.Discard) this.#end('discard')
    else if (!this.#running) this.#end(code === CloseCode.RetireWorker ? 'retire' : 'closed')
  }

  #end(how: SessionEnd): void {
    if (this.#ended) return
    this.#ended = true
    this.#options.onEnd(how)
  }
}

/** The process's stats for a done-ack: its RSS (one read of /proc/self/stat on Linux, a few µs). */
function processStats(): WorkerStats {
  return { rss: process.memoryUsage.rss() }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch {
    return '[unserialisable fields]'
  }
}
