/**
 * The error base shared by every forkd package.
 *
 * Each class declares its own `static code` (`FORKD_ERR_TIMEOUT`...), and that code is also its
 * brand: `instanceof` compares codes along the prototype chain, so it keeps working when two copies
 * of a forkd package are loaded in one process (a hoisting accident that would otherwise make
 * `err instanceof TimeoutError` silently false). A subclass that forgets to declare a code of its own
 * falls back to plain prototype `instanceof`, so it can never claim its parent's instances.
 */

/** Options every forkd error constructor accepts. */
export interface ForkdErrorOptions {
  /** The error that led to this one. */
  cause?: unknown
}

/**
 * The base class of every error forkd raises. Match on the class or on `code`, never on the message.
 *
 * @example
 * ```ts
 * try { await c.hash(pw) } catch (err) {
 *   if (err instanceof ForkdError) console.log(err.code) // e.g. 'FORKD_ERR_TIMEOUT'
 * }
 * ```
 */
export class ForkdError extends Error {
  /** The code of this class. Subclasses declare their own; it is also the class's brand. */
  static readonly code: string = 'FORKD_ERR'
  /** The message used when none is given. */
  static readonly defaultMessage: string = 'forkd error'

  /** Stable machine-readable code, e.g. `FORKD_ERR_TIMEOUT`: the `static code` of the class. */
  readonly code: string

  constructor(message?: string, options?: ForkdErrorOptions) {
    const ctor = new.target as typeof ForkdError
    super(message ?? ctor.defaultMessage, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = ctor.code
    this.name = ctor.name
  }

  /**
   * `err instanceof SomeForkdError` by the class's `code`, so it holds across two copies of the
   * package (two versions installed side by side).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!Object.hasOwn(this, 'code')) return Function.prototype[Symbol.hasInstance].call(this, value)
    if (typeof value !== 'object' || value === null) return false
    const wanted = (this as typeof ForkdError).code
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const ctor = (proto as { constructor?: unknown }).constructor
      if (typeof ctor === 'function' && Object.hasOwn(ctor, 'code') && (ctor as { code?: unknown }).code === wanted) return true
    }
    return false
  }
}

/**
 * The peer broke the protocol: a malformed or oversized frame, a message of the wrong shape, a reply
 * to a call that was never made. The connection is closed (close code 4001).
 */
export class ProtocolError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_PROTOCOL'
  static override readonly defaultMessage: string = 'protocol error'
}

/** A value given to forkd cannot be encoded as CBOR (a function, a symbol, a class instance...). */
export class UnencodableError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_UNENCODABLE'
  static override readonly defaultMessage: string = 'value cannot be encoded'
}
