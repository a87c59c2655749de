/**
 * Every error the client raises. Each class has its own stable `code`; match on the class or the
 * code, not on the message. Fatal errors (TimeoutError, WorkerDiedError, SetupError, AbortedError,
 * ProtocolError, ClientClosedError) are sticky: every later call on that checkout rejects with the
 * same error. Every class can be constructed without arguments (it then has its default message).
 */
import { ForkdError, type ForkdErrorOptions, type WireError } from '@forkd/protocol'

export { ForkdError, ProtocolError, UnencodableError } from '@forkd/protocol'
export type { ForkdErrorOptions } from '@forkd/protocol'

/** The remote error as the worker described it. */
export interface RemoteError {
  /** The thrown value's name (`'NonErrorThrown'` for a value that was not an Error). */
  name: string
  /** The thrown value's message. */
  message: string
  /** The thrown value's `code`, if it had one. */
  code?: string | number | undefined
  /** The stack trace in the worker. */
  stack?: string | undefined
  /** Other own primitive properties of the thrown value (PostgreSQL's `detail`, `hint`...). */
  data?: Record<string, string | number | boolean | null> | undefined
}

function remoteOf(wire: WireError | undefined): RemoteError {
  if (wire === undefined) return { name: 'Error', message: '' }
  const remote: RemoteError = { name: wire.name, message: wire.message }
  if (wire.code !== undefined) remote.code = wire.code
  if (wire.stack !== undefined) remote.stack = wire.stack
  if (wire.data !== undefined) remote.data = wire.data
  return remote
}

/** What WorkerError and SetupError share: the error as the worker described it, and the call. */
abstract class FailureInWorker extends ForkdError {
  /** The error as thrown in the worker: name, message, code (e.g. a SQLSTATE), stack, other fields. */
  readonly remote: RemoteError
  /** `CLIENTNAME -> method` (or `-> ()` when the checkout itself was called). */
  readonly call: string

  constructor(call: string, wire: WireError | undefined, message: string | undefined) {
    super(message)
    this.remote = remoteOf(wire)
    this.call = call
  }
}

/**
 * The worker's interface threw (or its result could not be encoded). Not fatal: the checkout stays
 * usable, but calls queued behind this one were dropped (CancelledError).
 */
export class WorkerError extends FailureInWorker {
  static override readonly code: string = 'FORKD_ERR_WORKER'
  static override readonly defaultMessage: string = 'the worker threw'

  constructor(call = '', wire?: WireError) {
    super(call, wire, wire === undefined ? undefined : `${call}: ${wire.message}`)
    if (wire?.stack !== undefined) this.stack = `${this.name}: ${this.message}\n    --- in the worker ---\n${wire.stack}`
  }
}

/** The worker's `setup` threw. Fatal: the worker is replaced, the next checkout runs setup again. */
export class SetupError extends FailureInWorker {
  static override readonly code: string = 'FORKD_ERR_SETUP'
  static override readonly defaultMessage: string = 'setup exception'

  constructor(call = '', wire?: WireError) {
    super(call, wire, wire === undefined ? undefined : `setup exception: ${wire.message}`)
  }
}

/** A checkout's request took longer than its timeout. Fatal for the checkout. */
export class TimeoutError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_TIMEOUT'
  static override readonly defaultMessage: string = 'timed out'
  /** The timeout that passed, in ms. */
  readonly timeout: number
  constructor(message?: string, timeout = NaN, options?: ForkdErrorOptions) {
    super(message, options)
    this.timeout = timeout
  }
}

/** The worker connection was lost: exit, crash, kill, hung-worker kill. Fatal. */
export class WorkerDiedError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_WORKER_DIED'
  static override readonly defaultMessage: string = 'the worker died'
  /** The worker's exit code, when it exited by itself and it is known. */
  readonly exitCode: number | undefined
  /** The signal that ended the worker, when known (`SIGKILL`...). */
  readonly signal: string | undefined
  constructor(message?: string, details: { exitCode?: number | undefined; signal?: string | undefined; cause?: unknown } = {}) {
    super(message, { cause: details.cause })
    this.exitCode = details.exitCode
    this.signal = details.signal
  }
}

/** `checkout.abort(reason)` was called. Fatal; the message is the reason. */
export class AbortedError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_ABORTED'
  static override readonly defaultMessage: string = 'aborted'
  constructor(reason?: string, options?: ForkdErrorOptions) {
    super(reason, options)
  }
}

/**
 * A call that certainly never ran: an earlier call on the same checkout failed, or the checkout
 * became fatal before this call was sent. `cause` is that earlier error.
 */
export class CancelledError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_CANCELLED'
  static override readonly defaultMessage: string = 'not run'
  constructor(message?: string, cause?: unknown) {
    super(message, { cause })
  }
}

/** The client was closed while the checkout or call was pending, or before it was made. */
export class ClientClosedError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_CLIENT_CLOSED'
  static override readonly defaultMessage: string = 'forkd client: the client is closed'
  constructor(name = '', options?: ForkdErrorOptions) {
    super(`${name || 'forkd client'}: the client is closed`, options)
  }
}

/**
 * A call whose message, encoded, is larger than the worker accepts (its server's `maxPayload`,
 * which the worker states in its hello; 64 MiB for a worker that does not): it was not sent, since
 * the worker would end the connection over it (close 1009). Only that call fails, as with
 * UnencodableError; the checkout stays usable. Raise the server's `maxPayload` (`forkd serve
 * --max-payload`) to send such calls, or pass less data.
 */
export class PayloadTooLargeError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_PAYLOAD_TOO_LARGE'
  static override readonly defaultMessage: string = 'the call is larger than the worker accepts (the server\'s maxPayload)'
  /** The size of the encoded call, in bytes. */
  readonly size: number
  /** The largest message the worker accepts, in bytes. */
  readonly limit: number
  constructor(message?: string, size = NaN, limit = NaN) {
    super(message)
    this.size = size
    this.limit = limit
  }
}

/** A call on a checkout that was already released. */
export class CheckoutReleasedError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_CHECKOUT_RELEASED'
  static override readonly defaultMessage: string = 'this checkout was released'
  constructor(call?: string) {
    super(call === undefined ? undefined : `${call}: this checkout was released`)
  }
}

/** `checkout()` past `maxPendingCheckouts`: rejected at once, the queue is left as it was. */
export class QueueFullError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_QUEUE_FULL'
  static override readonly defaultMessage: string = 'forkd client: too many checkouts are waiting (maxPendingCheckouts)'
  constructor(name = '', limit?: number) {
    super(limit === undefined ? undefined : `${name || 'forkd client'}: ${limit} checkouts are already waiting (maxPendingCheckouts)`)
  }
}

/** Why the client could not reach a worker; found as the `cause` of a TimeoutError. */
export class ConnectError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_CONNECT'
  static override readonly defaultMessage: string = 'cannot connect to the forkd server'
}

/** The worker speaks another protocol version than this client (at the upgrade, or in its hello). */
export class VersionMismatchError extends ConnectError {
  static override readonly code: string = 'FORKD_ERR_VERSION_MISMATCH'
  static override readonly defaultMessage: string = 'the worker speaks another protocol version'
}

/** The server refused the connection with 503: it is at maxWorkers with its pending queue full. Retried. */
export class ServerAtCapacityError extends ConnectError {
  static override readonly code: string = 'FORKD_ERR_SERVER_AT_CAPACITY'
  static override readonly defaultMessage: string = 'server at capacity'
}

/**
 * The checkout's AbortSignal fired while it waited for a worker, or had fired before `checkout()`
 * was called. Its `name` is 'AbortError', as for every operation Node aborts; `cause` is the
 * signal's reason. (A signal that fires while a call runs aborts the checkout: AbortedError.)
 */
export class AbortError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_ABORT'
  static override readonly defaultMessage: string = 'the checkout was aborted while it waited for a worker'
}

/**
 * A DNS name the client connects through (`{ dns, port }` or `{ srv }`) could not be resolved, or
 * its answer held no usable record. The client keeps the last good answer; while it has none,
 * waiting checkouts time out with this as the TimeoutError's `cause`. `cause` is the resolver's
 * error (its `code` is `ENOTFOUND`, `ETIMEOUT`, ...), when there is one.
 */
export class ResolveError extends ConnectError {
  static override readonly code: string = 'FORKD_ERR_RESOLVE'
  static override readonly defaultMessage: string = 'cannot resolve the forkd servers\' DNS name'
  /** The DNS name that failed. */
  readonly hostname: string
  constructor(message?: string, hostname = '', options?: ForkdErrorOptions) {
    super(message, options)
    this.hostname = hostname
  }
}

/**
 * The server refused this client's credentials: a missing or wrong token (HTTP 401), a client
 * certificate it does not accept (403, or a TLS alert), or a server certificate this client does
 * not trust (`tls.ca`, `tls.servername`). Retrying does not help, so it is not retried until the
 * timeout: when every endpoint the client knows refuses it, waiting checkouts reject at once with
 * this error. The endpoints are still tried again (on their backoff), so a later checkout is
 * served once the token or certificate is fixed, and rejects as soon as its own attempt is
 * refused otherwise. `status` is the HTTP status, when the refusal was one.
 *
 * @example
 * ```ts
 * try {
 *   await client.checkout()
 * } catch (error) {
 *   if (error instanceof AuthError) console.error('forkd refused our token:', error.message)
 * }
 * ```
 */
export class AuthError extends ConnectError {
  static override readonly code: string = 'FORKD_ERR_AUTH'
  static override readonly defaultMessage: string = 'the forkd server refused the client\'s credentials'
  /** The HTTP status of the refusal (401, 403), or undefined for a refusal during the TLS handshake. */
  readonly status: number | undefined
  constructor(message?: string, status?: number, options?: ForkdErrorOptions) {
    super(message, options)
    this.status = status
  }
}
