/**
 * The state of one checkout: its calls in flight, its timer, and its fatal error.
 *
 * Calls are sent as they are made (pipelined) and the worker runs them in order, so replies arrive
 * in the order of `#inflight`. One timer runs while any call is outstanding and restarts for each
 * call that reaches the head (REFERENCE: "it restarts for each request").
 */
import { CallFlags, MessageType, ProtocolError, type ErrorMessage, type EventMessage, type LogMessage, type OkMessage } from '@forkd/protocol'
import {
  AbortedError, CancelledError, CheckoutReleasedError, SetupError, TimeoutError, WorkerError,
} from './errors.js'
import type { LogRecord } from './log-sink.js'
import type { ConnectionOwner, WorkerConnection } from './worker-connection.js'

interface PendingCall {
  id: number
  method: string | null
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  onEvent: ((name: string, data: unknown) => void) | undefined
  madeAt: number
  headAt: number
}

/** What a checkout needs from the pool when it ends. */
export interface CheckinTarget {
  checkin(conn: WorkerConnection, outcome: { hadError: boolean }): void
}

export class CheckoutState implements ConnectionOwner {
  readonly conn: WorkerConnection
  readonly #target: CheckinTarget
  readonly #clientName: string
  readonly #timeout: number
  readonly #sink: ((record: LogRecord) => void) | undefined
  #inflight: PendingCall[] = []
  #head = 0
  #timer: NodeJS.Timeout | undefined
  #fatal: Error | undefined
  #hadError = false
  #released = false
  #finished = false
  #nextId = 1
  /** Called when the checkout is over (released and drained), to stop leak tracking. */
  onFinish: ((state: CheckoutState) => void) | undefined

  constructor(conn: WorkerConnection, target: CheckinTarget, clientName: string, timeout: number, sink: ((record: LogRecord) => void) | undefined) {
    this.conn = conn
    this.#target = target
    this.#clientName = clientName
    this.#timeout = timeout
    this.#sink = sink
    conn.owner = this
  }

  get released(): boolean {
    return this.#released
  }

  #label(method: string | null): string {
    return `${this.#clientName} -> ${method ?? '()'}`
  }

  call(method: string | null, args: unknown[], onEvent?: (name: string, data: unknown) => void): Promise<unknown> {
    if (this.#released) return Promise.reject(new CheckoutReleasedError(this.#label(method)))
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal)
    const id = this.#nextId++
    const flags = (this.#sink !== undefined ? CallFlags.Logs : 0) | (onEvent !== undefined ? CallFlags.Events : 0)
    try {
      this.conn.sendCall(id, method, args, flags)
    } catch (error) {
      // Unencodable arguments: nothing was sent, only this call fails.
      return Promise.reject(error)
    }
    return new Promise((resolve, reject) => {
      const now = this.#sink === undefined ? 0 : performance.now()
      this.#inflight.push({ id, method, resolve, reject, onEvent, madeAt: now, headAt: now })
      if (this.#inflight.length - this.#head === 1) this.#startTimer()
    })
  }

  /**
   * One timer per checkout, restarted with refresh() rather than replaced: between calls it is left
   * running (firing with nothing outstanding is a no-op), which saves a clearTimeout and a
   * setTimeout per sequential call. It is cleared when the checkout ends.
   */
  #startTimer(): void {
    if (this.#timeout === Infinity) return
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#onTimeout(), this.#timeout)
    else this.#timer.refresh()
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  #onTimeout(): void {
    this.#timer = undefined
    const head = this.#inflight[this.#head]
    if (head === undefined) return
    const seconds = this.#timeout / 1000
    this.#fail(new TimeoutError(`${this.#label(head.method)}: timed out after ${seconds} seconds`, this.#timeout))
  }

  onReply(message: OkMessage | ErrorMessage): void {
    const call = this.#inflight[this.#head]
    if (call === undefined || call.id !== message[1])
      throw new ProtocolError(`worker replied to call ${message[1]}, but the next outstanding call is ${call?.id ?? 'none'}`)
    this.#inflight[this.#head++] = undefined as never
    this.#recordTimer(call, message[0] === MessageType.Ok)
    if (message[0] === MessageType.Ok) {
      call.resolve(message[2])
    } else if (message[2].kind === 'setup') {
      this.#fail(new SetupError(this.#label(call.method), message[2]), call)
      return
    } else {
      const error = new WorkerError(this.#label(call.method), message[2])
      this.#hadError = true
      call.reject(error)
      this.#cancelQueued(error)
    }
    this.#advance()
  }

  /** Rejects every queued call: the worker drops them unexecuted (see the session's epochs). */
  #cancelQueued(cause: Error): void {
    for (let i = this.#head; i < this.#inflight.length; i++) {
      const queued = this.#inflight[i]!
      queued.reject(new CancelledError(this.#label(queued.method), cause))
    }
    this.#inflight = []
    this.#head = 0
  }

  #advance(): void {
    if (this.#head === this.#inflight.length) {
      this.#inflight.length = 0
      this.#head = 0
      if (this.#released) this.#finish()
      return
    }
    if (this.#sink !== undefined) this.#inflight[this.#head]!.headAt = performance.now()
    this.#startTimer()
  }

  #recordTimer(call: PendingCall, ok: boolean): void {
    if (this.#sink === undefined) return
    const now = performance.now()
    this.#deliver({
      level: 'timer',
      time: Date.now(),
      message: call.method ?? '()',
      method: call.method ?? '()',
      pid: this.conn.info.pid,
      worker: this.conn.info.id,
      fields: { ms: now - call.madeAt, queueWait: call.headAt - call.madeAt, run: now - call.headAt, ok },
    })
  }

  onLog(message: LogMessage): void {
    if (this.#sink === undefined) return
    const [, id, level, time, text, fields] = message
    let method: string | undefined
    for (let i = this.#head; i < this.#inflight.length; i++)
      if (this.#inflight[i]!.id === id) {
        method = this.#inflight[i]!.method ?? '()'
        break
      }
    this.#deliver({ level, time, message: text, method, pid: this.conn.info.pid, worker: this.conn.info.id, fields })
  }

  #deliver(record: LogRecord): void {
    try {
      this.#sink!(record)
    } catch (error) {
      warnOnce('log-sink', `a forkd checkout log sink threw; the record was lost: ${(error as Error)?.message ?? String(error)}`)
    }
  }

  onEvent(message: EventMessage): void {
    const call = this.#inflight[this.#head]
    if (call === undefined || call.id !== message[1])
      throw new ProtocolError(`worker sent an event for call ${message[1]}, which is not running`)
    if (call.onEvent === undefined) return
    try {
      call.onEvent(message[2], message[3])
    } catch (error) {
      warnOnce('on-event', `a forkd onEvent handler threw; the event was dropped: ${(error as Error)?.message ?? String(error)}`)
    }
  }

  onLost(error: Error): void {
    this.#fail(error)
  }

  /** Makes the checkout fatal: stores the error, rejects everything in flight, discards the worker. */
  #fail(error: Error, alreadyShifted?: PendingCall): void {
    if (this.#fatal !== undefined) return
    this.#fatal = error
    this.#stopTimer()
    alreadyShifted?.reject(error)
    for (let i = this.#head; i < this.#inflight.length; i++) this.#inflight[i]!.reject(error)
    this.#inflight = []
    this.#head = 0
    if (this.conn.owner === this) this.conn.close(true, error.message)
    if (this.#released) this.#finish()
  }

  abort(reason: string): void {
    if (this.#released) return
    this.#fail(new AbortedError(reason))
  }

  /** Marks the checkout released; the worker goes back once the calls in flight have settled. */
  release(): void {
    if (this.#released) return
    this.#released = true
    if (this.#fatal !== undefined || this.#head === this.#inflight.length) this.#finish()
  }

  /** The proxy was garbage-collected without release. */
  leaked(): void {
    if (this.#released) return
    this.#fail(new AbortedError('checkout was garbage-collected without being released'))
    this.release()
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.#stopTimer()
    this.onFinish?.(this)
    if (this.conn.owner === this) this.#target.checkin(this.conn, { hadError: this.#hadError })
    if (this.#sink !== undefined) {
      // After the caller's handlers for the last call have run (they are microtasks).
      const sink = this.#sink
      const info = this.conn.info
      setImmediate(() => {
        try {
          sink({ level: 'done', time: Date.now(), message: 'checkout done', method: undefined, pid: info.pid, worker: info.id, fields: null })
        } catch (error) {
          warnOnce('log-sink', `a forkd checkout log sink threw: ${(error as Error)?.message ?? String(error)}`)
        }
      })
    }
  }
}

const warned = new Set<string>()
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(message, { code: `FORKD_WARN_${key.toUpperCase().replace(/-/g, '_')}` })
}
