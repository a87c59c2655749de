/**
 * How a worker module's interface type becomes the client's checkout type.
 * `client.checkout<typeof import('./worker.js').default>()` gives typed methods returning promises.
 */
import type { ReservedMethodName } from '@forkd/protocol'
import type { LogSink } from './log-sink.js'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any

/** Accepts either a worker definition (`{ interface }`) or an interface type itself. */
export type InterfaceOf<W> = W extends {
  /** The worker definition's interface. */
  interface: infer I
} ? I : W

type Promised<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never

/**
 * Names the checkout itself uses (its controls, and names that promise and inspection machinery
 * probes): a checkout never turns them into worker methods, and `defineWorker` refuses a worker
 * method with one of them. A worker interface type that has one anyway (one not made with
 * `defineWorker`) keeps the checkout's own member under that name; `c.call(name)` reaches it.
 */
export type ReservedName = ReservedMethodName

// Index signatures are `any` so they stay callable under noUncheckedIndexedAccess; for typed
// calls to a one-function interface use `c(...args)` or `c.call(method, ...args)`.
/** The worker's methods as the checkout has them: each returns a promise. */
export type MethodsOf<I> = I extends AnyFunction
  ? { readonly [method: string]: any }
  : { readonly [K in Exclude<keyof I, ReservedName> & string]: Promised<I[K]> }

/** The type of `c.call`: `c.call('method', ...args)`, typed from the worker's interface. */
export type CallOf<I> = I extends AnyFunction
  ? (method: string, ...args: I extends (method: string, ...args: infer A) => unknown ? A : unknown[]) => Promise<Awaited<ReturnType<I>>>
  : <K extends keyof I & string>(method: K, ...args: Parameters<Promised<I[K]>>) => ReturnType<Promised<I[K]>>

/** Per-call options, through `c.with({ ... })`. */
export interface CallOptions {
  /** Receives events the worker emits during the call, in order, before the call settles. */
  onEvent?: (name: string, data: unknown) => void
  /**
   * Aborting it while a call made through this view is outstanding aborts the checkout, as
   * `c.abort(reason)` does: the worker is killed and the checkout fails with AbortedError.
   */
  signal?: AbortSignal
}

/** Which worker process serves a checkout. */
export interface WorkerIdentity {
  /** The worker process's pid. */
  pid: number
  /** The worker's number within its server, from 1. */
  id: number
  /**
   * How many connections its process serves at most at once (the server's `concurrency`, 1 by
   * default): above 1, other checkouts may be served by the same pid at the same time.
   */
  concurrency: number
}

/** The checkout's own members, beside the worker's methods (see {@link ReservedName}). */
export interface CheckoutControls<W, I = InterfaceOf<W>> {
  /** `c.call('method', ...args)`: the same as `c.method(...args)`. */
  readonly call: unknown extends W ? (method: string, ...args: unknown[]) => Promise<any> : CallOf<I>
  /**
   * Returns the worker to the pool (after its `checkoutDone`), or retires it. Idempotent. Given an
   * error (pg's `release(err)`), the checkout counts as failed: with `reforkAfterError` (the
   * default) the worker is replaced instead of reused.
   */
  release(error?: unknown): void
  /** Cancels the running call, kills the worker, and makes the checkout fail with AbortedError(reason). */
  abort(reason?: string): void
  /** The worker process serving this checkout. */
  readonly worker: WorkerIdentity
  /** Whether release() was called. */
  readonly released: boolean
  /** The same checkout with per-call options (an event handler) for the calls made through it. */
  with(options: CallOptions): Checkout<W>
  /** Releases the checkout: `await using c = await client.checkout()` (TypeScript; see the README). */
  [Symbol.asyncDispose](): Promise<void>
  /** Releases the checkout: `using c = await client.checkout()`. */
  [Symbol.dispose](): void
}

/** A checkout is callable when the worker's interface is one function: `c(...args)`. */
export type CallableOf<I> = I extends AnyFunction
  ? (...args: I extends (method: string, ...args: infer A) => unknown ? A : unknown[]) => Promise<Awaited<ReturnType<I>>>
  : unknown

/** An exclusive lease of one worker; typed from the worker's interface. Never a thenable. */
export type Checkout<W = unknown> = unknown extends W
  ? CheckoutControls<W> & { readonly [method: string]: any } & ((...args: unknown[]) => Promise<any>)
  : CheckoutControls<W> & MethodsOf<InterfaceOf<W>> & CallableOf<InterfaceOf<W>>

/** Options of `client.checkout(options)` and `client.run(fn, options)`. */
export interface CheckoutOptions {
  /** Overrides the client's timeout for this checkout (ms, `Infinity` for none). */
  timeout?: number
  /** Receives the worker's log records and a timer per call. */
  log?: LogSink
  /**
   * Higher is served first; equal priorities first come, first served. An integer, default 0.
   */
  priority?: number
  /**
   * Aborted while the checkout waits: it leaves the queue and rejects with AbortError (`cause`:
   * the signal's reason). Aborted while the checkout is held: the checkout is aborted, as
   * `c.abort(reason)` does. Already aborted: rejects at once.
   */
  signal?: AbortSignal
}
