/**
 * The error base shared by every forkd package.
 *
 * Each class has a stable `code` and a brand registered with `Symbol.for`, so `instanceof` keeps
 * working when two copies of a forkd package are loaded in one process (a hoisting accident that
 * would otherwise make `err instanceof TimeoutError` silently false).
 */
const kBrand = Symbol.for('forkd.error.brand')

export class ForkdError extends Error {
  /** Stable machine-readable code, e.g. `FORKD_ERR_TIMEOUT`. Match on this, not on the message. */
  readonly code: string
  static readonly [kBrand]: string = 'ForkdError'

  constructor(message: string, code = 'FORKD_ERR', options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false
    const wanted = (this as unknown as Record<symbol, unknown>)[kBrand]
    for (let proto = Object.getPrototypeOf(value); proto !== null; proto = Object.getPrototypeOf(proto)) {
      const ctor = (proto as { constructor?: Record<symbol, unknown> }).constructor
      if (ctor !== undefined && ctor[kBrand] === wanted) return true
    }
    return false
  }
}

/** Declares the brand of a subclass; call once per class, right after its declaration. */
export function brand(ctor: abstract new (...args: never[]) => ForkdError, name: string): void {
  Object.defineProperty(ctor, kBrand, { value: `forkd.${name}` })
}

/**
 * The peer broke the protocol: a malformed or oversized frame, a message of the wrong shape, a reply
 * to a call that was never made, or an incompatible protocol version. The connection is closed.
 */
export class ProtocolError extends ForkdError {
  constructor(message: string, code = 'FORKD_ERR_PROTOCOL', options?: { cause?: unknown }) {
    super(message, code, options)
  }
}
brand(ProtocolError, 'ProtocolError')

/** A value given to forkd cannot be encoded as CBOR (a function, a symbol, a class instance...). */
export class UnencodableError extends ForkdError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'FORKD_ERR_UNENCODABLE', options)
  }
}
brand(UnencodableError, 'UnencodableError')
