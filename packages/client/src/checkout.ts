/**
 * The state of one checkout: its calls in flight, its timer, its error epoch and its fatal error.
 *
 * Calls are sent as they are made (pipelined) and the worker runs them in order, so replies arrive
 * in the order of `#inflight`. Each call's timeout runs from when it reaches the head (docs/failures.md,
 * "Timeouts"); one timer serves them all (see `#armTimer`).
 *
 * Error epochs: every error reply increments the epoch, on the worker and here; each call carries the
 * epoch known when it was sent. The worker drops calls sent with an older epoch (they were pipelined
 * before this side learned of the error) and this side rejects them with CancelledError. The epoch
 * belongs to the worker connection's life, so a checkout starts from where the last one left it.
 *
 *   active ──release()──► draining ──last reply──► ended
 *     │                      │
 *     └──fatal error─────────┴──► fatal ──release()──► ended
 */
import { CallFlags, MessageType, ProtocolError, describeEndpoint, type ErrorMessage, type EventMessage, type LogMessage, type OkMessage } from '@forkd/protocol'
import {
  AbortedError, CancelledError, CheckoutReleasedError, PayloadTooLargeError, SetupError, TimeoutError, WorkerError,
} from './errors.js'
import { describeSite, type CheckoutSite, type LeakTarget } from './leak-tracking.js'
import type { LogRecord } from './log-sink.js'
import type { CheckoutOutcome, RemoveReason } from './retirement.js'
import type { ClientTimings } from './timing.js'
import { callChannel, traced, type CallTraceContext } from './tracing.js'
import { warnOnce } from './warn-once.js'
import type { Lessee, PooledConnection } from './worker-connection.js'

interface PendingCall {
  id: number
  method: string | null
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  onEvent: ((name: string, data: unknown) => void) | undefined
}

/**
 * The resolving functions of the promise `#call` is making, handed over by `capture`: one executor
 * for every call, where a closure per call would be one more allocation for each.
 */
let capturedResolve: (value: unknown) => void = () => {}
let capturedReject: (error: unknown) => void = () => {}
const capture = (resolve: (value: unknown) => void, reject: (error: unknown) => void) => {
  capturedResolve = resolve
  capturedReject = reject
}

/** Checkout ids, unique in the process, so that traces of several clients never share one. */
let lastCheckoutId = 0

export interface CheckoutSettings {
  /** Shown in messages as `NAME -> method`. */
  clientName: string
  /** Per-call timeout, ms (Infinity for none). */
  timeout: number
  /** Where worker log records and per-call timers go, if anywhere. */
  sink: ((record: LogRecord) => void) | undefined
  /** Called once, when the checkout is over (released, and its calls settled or failed). */
  onEnd: (checkout: CheckoutState, outcome: CheckoutOutcome) => void
  /** Where the checkout was made, when site tracking is on. */
  site: CheckoutSite | undefined
  /** Aborting it aborts the checkout. */
  signal: AbortSignal | undefined
  /** Warn once when the checkout is held longer than this, ms (Infinity: never). */
  holdWarning: number
  /** Where warnings go: a process warning and the client's log. */
  warn: (message: string, code: string) => void
  /** The client's histograms, when `recordTiming` is on: this checkout records its calls' run times. */
  timings: ClientTimings | undefined
}

export class CheckoutState implements Lessee, LeakTarget {
  readonly conn: PooledConnection
  readonly #settings: CheckoutSettings
  #inflight: PendingCall[] = []
  #head = 0
  /**
   * When the head call reached the head (performance.now() ms): its run and its timeout start
   * then. One number for the checkout rather than one per call: a number stored per call would be a
   * heap box per call, and a burst of pipelined calls keeps them all alive at once.
   */
  #headAt = 0
  /** With a log sink only (its timer records say how long each call waited): when each call in `#inflight` was made, by index. */
  readonly #madeAt: number[] | undefined
  #timer: NodeJS.Timeout | undefined
  #fatal: Error | undefined
  #epoch: number
  #hadError = false
  /** The first error the checkout saw or was released with, for the 'release' event. */
  #error: Error | undefined
  #retireAs: RemoveReason | undefined
  #released = false
  #ended = false
  #nextId = 1
  #holdTimer: NodeJS.Timeout | undefined
  #onSignal: (() => void) | undefined
  /** When the checkout was granted (performance.now() ms). */
  readonly grantedAt = performance.now()
  /** Unique in this process: traces of the checkout and of its calls carry it. */
  readonly id = ++lastCheckoutId
  /** Whether calls need their times: for the log sink's timer records or for the run-time histogram. */
  readonly #timed: boolean
  /** Whether calls need the time they reach the head: for their times or for their timeout. */
  readonly #clocked: boolean

  /** Takes the lease of `conn` (an idle connection). */
  constructor(conn: PooledConnection, settings: CheckoutSettings) {
    this.conn = conn
    this.#settings = settings
    this.#timed = settings.sink !== undefined || settings.timings !== undefined
    this.#clocked = this.#timed || settings.timeout !== Infinity
    this.#madeAt = settings.sink !== undefined ? [] : undefined
    this.#epoch = conn.lease(this)
    const signal = settings.signal
    if (signal !== undefined) {
      this.#onSignal = () => this.abortBySignal(signal)
      signal.addEventListener('abort', this.#onSignal, { once: true })
    }
    if (settings.holdWarning !== Infinity) {
      this.#holdTimer = setTimeout(() => this.#warnHeld(), settings.holdWarning)
      this.#holdTimer.unref()
    }
  }

  /** Where the checkout was made, if recorded. */
  get site(): CheckoutSite | undefined {
    return this.#settings.site
  }

  #warnHeld(): void {
    this.#holdTimer = undefined
    const where = describeSite(this.#settings.site)
    this.#settings.warn(`a forkd checkout of worker ${this.conn.info.pid} has been held for more than ${formatSeconds(this.#settings.holdWarning)} (holdWarning)` +
      (where !== undefined ? `; it was made at ${where}` : '; trackCheckoutSites: true would say where it was made') + '. Is it never released?', 'FORKD_WARN_CHECKOUT_HELD')
  }

  /** The signal fired: abort the checkout with the signal's reason. */
  abortBySignal(signal: AbortSignal): void {
    this.abort(reasonText(signal.reason), signal.reason)
  }

  get released(): boolean {
    return this.#released
  }

  /** The fatal error, once the checkout has one. */
  get fatal(): Error | undefined {
    return this.#fatal
  }

  #label(method: string | null): string {
    const name = this.#settings.clientName
    return `${name ? name + ' ' : ''}-> ${method ?? '()'}`
  }

  call(method: unknown, args: unknown[], onEvent?: (name: string, data: unknown) => void, signal?: AbortSignal): Promise<unknown> {
    if (traced(callChannel)) return this.#tracedCall(method, args, onEvent, signal)
    return this.#call(method, args, onEvent, signal)
  }

  /** A call with someone listening on `forkd:call`: its context is made only then. */
  #tracedCall(method: unknown, args: unknown[], onEvent: ((name: string, data: unknown) => void) | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    const info = this.conn.info
    const context: CallTraceContext = {
      client: this.#settings.clientName,
      method: typeof method === 'string' ? method : null,
      pid: info.pid,
      workerId: info.id,
      endpoint: describeEndpoint(this.conn.endpoint),
      checkoutId: this.id,
    }
    return callChannel.tracePromise(this.#call, context, this, method, args, onEvent, signal)
  }

  #call(method: unknown, args: unknown[], onEvent: ((name: string, data: unknown) => void) | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    if (method !== null && typeof method !== 'string')
      return Promise.reject(new TypeError(`forkd checkout: a method name must be a string, got ${typeof method === 'number' ? method : typeof method}`))
    if (this.#released) return Promise.reject(new CheckoutReleasedError(this.#label(method)))
    if (this.#fatal !== undefined) return Promise.reject(this.#fatal)
    if (signal?.aborted === true) {
      this.abortBySignal(signal)
      return Promise.reject(this.#fatal)
    }
    const id = this.#nextId++
    const sink = this.#settings.sink
    const flags = (sink !== undefined ? CallFlags.Logs : 0) | (onEvent !== undefined ? CallFlags.Events : 0)
    try {
      this.conn.sendCall(id, this.#epoch, method, args, flags)
    } catch (error) {
      // Unencodable or too large: nothing was sent, only this call fails.
      if (error instanceof PayloadTooLargeError) return Promise.reject(new PayloadTooLargeError(`${this.#label(method)}: ${error.message}`, error.size, error.limit))
      return Promise.reject(error)
    }
    const promise = new Promise(capture)
    const first = this.#inflight.length === this.#head
    this.#inflight.push({ id, method, resolve: capturedResolve, reject: capturedReject, onEvent })
    // A call behind others gets its #headAt when it reaches the head.
    if (first && this.#clocked) this.#headAt = performance.now()
    this.#madeAt?.push(first && this.#clocked ? this.#headAt : performance.now())
    if (first) this.#armTimer()
    if (signal !== undefined) {
      // Aborting the signal while this call is outstanding aborts the checkout.
      let settled = false
      const onAbort = () => {
        if (!settled) this.abortBySignal(signal)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      const done = () => {
        settled = true
        signal.removeEventListener('abort', onAbort)
      }
      promise.then(done, done)
    }
    return promise
  }

  /**
   * One timer per checkout, armed when a call becomes the head and nothing is armed. It is not
   * moved when the next call reaches the head: when it fires, it compares the head's own deadline
   * (`#headAt` + timeout) with the clock and arms itself again for what is left. A burst of replies
   * then costs no timer work per reply, and sequential calls no clearTimeout and setTimeout each.
   * It is cleared when the checkout ends.
   */
  #armTimer(): void {
    const timeout = this.#settings.timeout
    if (timeout === Infinity || this.#timer !== undefined) return
    this.#timer = setTimeout(() => this.#onTimer(), timeout)
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  #onTimer(): void {
    this.#timer = undefined
    const head = this.#inflight[this.#head]
    if (head === undefined) return
    const timeout = this.#settings.timeout
    // A Node timer may fire up to a millisecond early by performance.now(): that is not yet late.
    const left = this.#headAt + timeout - performance.now()
    if (left >= 1) {
      this.#timer = setTimeout(() => this.#onTimer(), left)
      return
    }
    this.#failAndDiscard(new TimeoutError(`${this.#label(head.method)}: timed out after ${formatSeconds(timeout)}`, timeout))
  }

  /** `at`: when the frame holding the reply arrived (performance.now() ms), read once per frame. */
  onReply(message: OkMessage | ErrorMessage, at = performance.now()): void {
    const call = this.#inflight[this.#head]
    if (call === undefined || call.id !== message[1])
      throw new ProtocolError(`worker replied to call ${message[1]}, but the next outstanding call is ${call?.id ?? 'none'}`)
    const index = this.#head
    this.#inflight[this.#head++] = undefined as never
    if (this.#timed) this.#recordTimes(call, index, message[0] === MessageType.Ok, at)
    if (message[0] === MessageType.Ok) {
      call.resolve(message[2])
    } else {
      this.#epoch++
      if (message[2].kind === 'setup') {
        const error = new SetupError(this.#label(call.method), message[2])
        call.reject(error)
        this.#failAndDiscard(error)
        return
      }
      const error = new WorkerError(this.#label(call.method), message[2])
      this.#hadError = true
      this.#error ??= error
      call.reject(error)
      this.#cancelQueued(error)
    }
    this.#advance(at)
  }

  /** Rejects every queued call: the worker drops them unexecuted (see the epochs above). */
  #cancelQueued(cause: Error): void {
    for (let i = this.#head; i < this.#inflight.length; i++) {
      const queued = this.#inflight[i]!
      queued.reject(new CancelledError(`${this.#label(queued.method)}: not run, an earlier call on this checkout failed`, cause))
    }
    this.#clearInflight()
  }

  /** Nothing is in flight any more. */
  #clearInflight(): void {
    this.#inflight.length = 0
    this.#head = 0
    if (this.#madeAt !== undefined) this.#madeAt.length = 0
  }

  /** The head call got its reply at `at`: the next one starts its run and its timeout. */
  #advance(at: number): void {
    if (this.#head === this.#inflight.length) {
      this.#clearInflight()
      if (this.#released) this.#end()
      return
    }
    this.#headAt = at
    this.#armTimer()
  }

  /** The head call (at `index` of `#inflight`) got its outcome at `now`: its run time goes to the histogram and, with a log sink, a timer record. */
  #recordTimes(call: PendingCall, index: number, ok: boolean, now: number): void {
    const headAt = this.#headAt
    this.#settings.timings?.run.record(now - headAt)
    if (this.#madeAt === undefined) return
    const madeAt = this.#madeAt[index]!
    this.#deliver({
      level: 'timer',
      time: Date.now(),
      message: call.method ?? '()',
      method: call.method ?? '()',
      pid: this.conn.info.pid,
      worker: this.conn.info.id,
      fields: { ms: now - madeAt, queueWait: headAt - madeAt, run: now - headAt, ok },
    })
  }

  onLog(message: LogMessage): void {
    if (this.#settings.sink === undefined) return
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
      this.#settings.sink!(record)
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

  onLost(error: Error, unsent: number): void {
    this.#fail(error, unsent)
  }

  /** Fatal on this side (timeout, abort, setup failure): discard the worker, never send what is queued. */
  #failAndDiscard(error: Error): void {
    if (this.#fatal !== undefined) return
    const unsent = this.conn.close('fatal', { discard: true })
    this.#fail(error, unsent)
  }

  /**
   * Makes the checkout fatal: stores the error and rejects everything in flight. The last `unsent`
   * calls never left this process, so they certainly did not run: they reject with CancelledError
   * (cause: the fatal error). The ones sent before may have run: they reject with the error itself.
   */
  #fail(error: Error, unsent: number): void {
    if (this.#fatal !== undefined) return
    this.#fatal = error
    this.#error ??= error
    this.#stopTimer()
    const firstUnsent = Math.max(this.#head, this.#inflight.length - unsent)
    // The call the worker was running (a timeout, a death) ran until now; the ones behind it never ran.
    const timings = this.#settings.timings
    if (timings !== undefined && this.#head < firstUnsent) timings.run.record(performance.now() - this.#headAt)
    for (let i = this.#head; i < this.#inflight.length; i++) {
      const call = this.#inflight[i]!
      if (i < firstUnsent) call.reject(error)
      else call.reject(new CancelledError(`${this.#label(call.method)}: not run, the checkout failed before this call was sent (${error.message})`, error))
    }
    this.#clearInflight()
    if (this.#released) this.#end()
  }

  abort(reason: string, cause?: unknown): void {
    if (this.#released) return
    this.#failAndDiscard(new AbortedError(reason, { cause }))
  }

  /**
   * Marks the checkout released; the worker goes back once the calls in flight have settled.
   * Given an error, the checkout counts as failed (refork after error applies).
   */
  release(error?: unknown): void {
    if (this.#released) return
    if (error !== undefined && error !== null && error !== false) {
      this.#hadError = true
      this.#error ??= error instanceof Error ? error : new Error(String(error))
    }
    this.#released = true
    if (this.#fatal !== undefined || this.#head === this.#inflight.length) this.#end()
  }

  /** The pool's own verdict on the worker, applied when the checkout ends (a failed validation). */
  retireAs(reason: RemoveReason): void {
    this.#retireAs = reason
  }

  /** The proxy was garbage-collected without release. */
  leaked(): void {
    if (this.#released) return
    this.#failAndDiscard(new AbortedError('checkout was garbage-collected without being released'))
    this.release()
  }

  /** The worker connection is given back; the epoch goes with it. */
  get epoch(): number {
    return this.#epoch
  }

  #end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#stopTimer()
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer)
    if (this.#onSignal !== undefined) this.#settings.signal!.removeEventListener('abort', this.#onSignal)
    this.#settings.onEnd(this, { hadError: this.#hadError, error: this.#error, retireAs: this.#retireAs })
    const sink = this.#settings.sink
    if (sink !== undefined) {
      // After the caller's handlers for the last call have run (they are microtasks).
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

/** The text of an abort reason: an Error's message, or the value as a string. */
export function reasonText(reason: unknown): string {
  if (reason instanceof Error) return reason.message
  if (reason === undefined) return 'aborted'
  if (typeof reason === 'object' && reason !== null) {
    try {
      return JSON.stringify(reason) ?? String(reason)
    } catch {
      return Object.prototype.toString.call(reason)
    }
  }
  return String(reason)
}

/** `1 second`, `2.5 seconds`. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000
  return `${seconds} ${seconds === 1 ? 'second' : 'seconds'}`
}
