/**
 * Every error the client raises. Each has a stable `code`; match on the class or the code, not on
 * the message. Fatal errors (TimeoutError, WorkerDiedError, SetupError, AbortedError, ProtocolError,
 * ClientClosedError) are sticky: every later call on that checkout rejects with the same error.
 */
import { ForkdError, brand, type WireError } from '@forkd/protocol'

export { ForkdError, ProtocolError, UnencodableError } from '@forkd/protocol'

/** The remote error as the worker described it. */
export interface RemoteError {
  name: string
  message: string
  code?: string | number | undefined
  stack?: string | undefined
  data?: Record<string, string | number | boolean | null> | undefined
}

function remoteOf(wire: WireError): RemoteError {
  const remote: RemoteError = { name: wire.name, message: wire.message }
  if (wire.code !== undefined) remote.code = wire.code
  if (wire.stack !== undefined) remote.stack = wire.stack
  if (wire.data !== undefined) remote.data = wire.data
  return remote
}

/**
 * The worker's interface threw (or its result could not be encoded). Not fatal: the checkout stays
 * usable, but calls queued behind this one were dropped (CancelledError).
 */
export class WorkerError extends ForkdError {
  /** The error as thrown in the worker: name, message, code (e.g. a SQLSTATE), stack, other fields. */
  readonly remote: RemoteError
  /** `CLIENTNAME -> method` (or `-> ()` when the checkout itself was called). */
  readonly call: string

  constructor(call: string, wire: WireError) {
    super(`${call}: ${wire.message}`, 'FORKD_ERR_WORKER')
    this.remote = remoteOf(wire)
    this.call = call
    if (wire.stack !== undefined) this.stack = `${this.name}: ${this.message}\n    --- in the worker ---\n${wire.stack}`
  }
}
brand(WorkerError, 'WorkerError')

/** The worker's `setup` threw. Fatal: the worker is replaced, the next checkout runs setup again. */
export class SetupError extends ForkdError {
  readonly remote: RemoteError
  /** The call that met the failed setup, `CLIENTNAME -> method`. */
  readonly call: string
  constructor(call: string, wire: WireError) {
    super(`setup exception: ${wire.message}`, 'FORKD_ERR_SETUP')
    this.remote = remoteOf(wire)
    this.call = call
  }
}
brand(SetupError, 'SetupError')

/** A checkout's request took longer than its timeout. Fatal for the checkout. */
export class TimeoutError extends ForkdError {
  readonly timeout: number
  constructor(message: string, timeout: number, options?: { cause?: unknown }) {
    super(message, 'FORKD_ERR_TIMEOUT', options)
    this.timeout = timeout
  }
}
brand(TimeoutError, 'TimeoutError')

/** The worker connection was lost: exit, crash, kill, hung-worker kill. Fatal. */
export class WorkerDiedError extends ForkdError {
  readonly exitCode: number | undefined
  readonly signal: string | undefined
  constructor(message: string, details: { exitCode?: number | undefined; signal?: string | undefined; cause?: unknown } = {}) {
    super(message, 'FORKD_ERR_WORKER_DIED', details.cause === undefined ? undefined : { cause: details.cause })
    this.exitCode = details.exitCode
    this.signal = details.signal
  }
}
brand(WorkerDiedError, 'WorkerDiedError')

/** `checkout.abort(reason)` was called. Fatal; the message is the reason. */
export class AbortedError extends ForkdError {
  constructor(reason: string) {
    super(reason, 'FORKD_ERR_ABORTED')
  }
}
brand(AbortedError, 'AbortedError')

/** A call that never ran because an earlier call on the same checkout failed (its `cause`). */
export class CancelledError extends ForkdError {
  constructor(call: string, cause: unknown) {
    super(`${call}: not run, an earlier call on this checkout failed`, 'FORKD_ERR_CANCELLED', { cause })
  }
}
brand(CancelledError, 'CancelledError')

/** The client was closed while the checkout or call was pending. */
export class ClientClosedError extends ForkdError {
  constructor(name: string) {
    super(`${name || 'forkd client'}: the client is closed`, 'FORKD_ERR_CLIENT_CLOSED')
  }
}
brand(ClientClosedError, 'ClientClosedError')

/** A call on a checkout that was already released. */
export class CheckoutReleasedError extends ForkdError {
  constructor(call: string) {
    super(`${call}: this checkout was released`, 'FORKD_ERR_CHECKOUT_RELEASED')
  }
}
brand(CheckoutReleasedError, 'CheckoutReleasedError')

/** `checkout()` past `maxPendingCheckouts`: rejected at once, the queue is left as it was. */
export class QueueFullError extends ForkdError {
  constructor(name: string, limit: number) {
    super(`${name || 'forkd client'}: ${limit} checkouts are already waiting (maxPendingCheckouts)`, 'FORKD_ERR_QUEUE_FULL')
  }
}
brand(QueueFullError, 'QueueFullError')

/** Why the client could not reach the server; found as the `cause` of a TimeoutError. */
export class ConnectError extends ForkdError {
  constructor(message: string, code = 'FORKD_ERR_CONNECT', options?: { cause?: unknown }) {
    super(message, code, options)
  }
}
brand(ConnectError, 'ConnectError')

/** The worker speaks another protocol version than this client. */
export class VersionMismatchError extends ConnectError {
  constructor(message: string) {
    super(message, 'FORKD_ERR_VERSION_MISMATCH')
  }
}
brand(VersionMismatchError, 'VersionMismatchError')
