/**
 * What the client publishes on `node:diagnostics_channel`, for tracers (OpenTelemetry, Datadog...)
 * and anything else that subscribes: two TracingChannels, `forkd:checkout` and `forkd:call`, in the
 * form undici, fastify and mysql2 use (`tracing:forkd:call:start`, `:end`, `:asyncStart`,
 * `:asyncEnd`, `:error`), and two plain channels for pool events, `forkd:worker:connect` and
 * `forkd:worker:remove`. docs/observability.md describes each context.
 *
 * With no subscriber nothing is built: every publishing site first asks `traced()` (a few property
 * reads), and only then makes its context object.
 */
import diagnosticsChannel, { type TracingChannel } from 'node:diagnostics_channel'
import type { Checkout } from './remote-types.js'
import type { RemoveReason } from './retirement.js'

/**
 * The context of one `forkd:checkout` trace: from `checkout()` (or `run()`) to the grant of a worker
 * or the checkout's failure. Made at `start`; the worker's fields and `waitTime` are filled in
 * before `asyncStart`. `result` (the checkout) or `error` are set by the TracingChannel.
 */
export interface CheckoutTraceContext {
  /** The client's `name` option (`''` when unnamed). */
  readonly client: string
  /** The checkout's priority (higher first). */
  readonly priority: number
  /** The checkout's timeout, ms (`Infinity` for none). */
  readonly timeout: number
  /** The checkout's id, unique in this process; the same as `checkoutId` of its calls. Set once granted. */
  checkoutId?: number
  /** The granted worker's pid. */
  pid?: number
  /** The granted worker's number within its server, from 1. */
  workerId?: number
  /** Where the granted worker was reached: a socket path or `host:port` (`[::1]:port`). */
  endpoint?: string
  /** How long the checkout waited, ms: until its grant, or until it failed. */
  waitTime?: number
  /** The checkout, once granted (set by the TracingChannel). */
  result?: Checkout<unknown>
  /** Why the checkout failed: TimeoutError, AbortError, QueueFullError, ClientClosedError (set by the TracingChannel). */
  error?: unknown
}

/** The context of one `forkd:call` trace: from the call to its reply or failure. */
export interface CallTraceContext {
  /** The client's `name` option (`''` when unnamed). */
  readonly client: string
  /** The method called; `null` for a call of the checkout itself (a function interface). */
  readonly method: string | null
  /** The worker's pid. */
  readonly pid: number
  /** The worker's number within its server, from 1. */
  readonly workerId: number
  /** Where the worker was reached: a socket path or `host:port` (`[::1]:port`). */
  readonly endpoint: string
  /** The id of the checkout the call was made on (see CheckoutTraceContext). */
  readonly checkoutId: number
  /** The call's value (set by the TracingChannel). */
  result?: unknown
  /**
   * The forkd error the call rejected with (set by the TracingChannel): WorkerError, TimeoutError,
   * WorkerDiedError, AbortedError, CancelledError, SetupError, CheckoutReleasedError...
   */
  error?: unknown
}

/** The message of `forkd:worker:connect`: a worker connection completed its handshake. */
export interface WorkerConnectMessage {
  /** The client's `name` option (`''` when unnamed). */
  readonly client: string
  /** The worker's pid. */
  readonly pid: number
  /** The worker's number within its server, from 1. */
  readonly workerId: number
  /** Where the worker was reached: a socket path or `host:port` (`[::1]:port`). */
  readonly endpoint: string
}

/** The message of `forkd:worker:remove`: a worker connection was closed or lost, and why. */
export interface WorkerRemoveMessage extends WorkerConnectMessage {
  /** Why it was removed: `died`, `error`, `maxCheckouts`, `serverReplaced`... (see RemoveReason). */
  readonly reason: RemoveReason
}

/** The channels, by name. Subscribe with `diagnostics_channel.tracingChannel('forkd:call').subscribe(...)`. */
export const channelNames = {
  /** TracingChannel: from `checkout()` (or `run()`) to the grant of a worker or the failure (CheckoutTraceContext). */
  checkout: 'forkd:checkout',
  /** TracingChannel: one call, to its reply or failure (CallTraceContext). */
  call: 'forkd:call',
  /** Channel: a worker connection completed its handshake (WorkerConnectMessage). */
  workerConnect: 'forkd:worker:connect',
  /** Channel: a worker connection was closed or lost (WorkerRemoveMessage). */
  workerRemove: 'forkd:worker:remove',
} as const

export const checkoutChannel: TracingChannel<unknown, CheckoutTraceContext> = diagnosticsChannel.tracingChannel(channelNames.checkout)
export const callChannel: TracingChannel<unknown, CallTraceContext> = diagnosticsChannel.tracingChannel(channelNames.call)
export const workerConnectChannel = diagnosticsChannel.channel(channelNames.workerConnect)
export const workerRemoveChannel = diagnosticsChannel.channel(channelNames.workerRemove)

/**
 * Whether anyone listens to any of the tracing channel's five events. (`TracingChannel.hasSubscribers`
 * itself exists only from Node 20.13; this is what it computes.)
 */
export function traced(channel: TracingChannel<unknown, object>): boolean {
  return channel.start.hasSubscribers || channel.end.hasSubscribers || channel.asyncStart.hasSubscribers ||
    channel.asyncEnd.hasSubscribers || channel.error.hasSubscribers
}
