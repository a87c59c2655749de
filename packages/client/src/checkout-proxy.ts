/**
 * The object users hold: a callable proxy over a CheckoutState. Property reads become remote
 * methods; a few names are the checkout's own controls (see ReservedName). It is never a
 * thenable, so `await client.checkout()` resolves to it rather than into it.
 */
import { inspect } from 'node:util'
import type { CheckoutState } from './checkout.js'
import type { CallOptions, Checkout, WorkerIdentity } from './remote-types.js'

/** Names that must not turn into remote methods: promise and inspection machinery probes them. */
const notMethods = new Set(['then', 'catch', 'finally', 'toJSON', 'constructor', 'asymmetricMatch', '$$typeof', 'nodeType', 'toString', 'valueOf', 'inspect'])

export function createCheckoutProxy<W>(state: CheckoutState, callOptions?: CallOptions, parent?: object): Checkout<W> {
  const onEvent = callOptions?.onEvent
  let worker: WorkerIdentity | undefined
  // A function target makes the proxy callable: `c(...args)` for one-function interfaces.
  const target = function checkout() {} as unknown as Record<PropertyKey, unknown>
  const proxy: object = new Proxy(target, {
    apply: (_t, _this, args: unknown[]) => state.call(null, args, onEvent),
    get: (_t, prop) => {
      if (typeof prop === 'symbol') {
        if (prop === Symbol.asyncDispose) return () => Promise.resolve(state.release())
        if (prop === Symbol.dispose) return () => state.release()
        if (prop === inspect.custom) return () => `Checkout { worker: ${inspect(state.conn.info && { pid: state.conn.info.pid, id: state.conn.info.id })}, released: ${state.released} }`
        return undefined
      }
      switch (prop) {
        case 'call': return (method: string, ...args: unknown[]) => state.call(method, args, onEvent)
        case 'release': return () => state.release()
        case 'abort': return (reason?: string) => state.abort(reason === undefined ? 'aborted' : String(reason))
        case 'worker': return (worker ??= { pid: state.conn.info.pid, id: state.conn.info.id })
        case 'released': return state.released
        // the parent stays referenced so leak tracking never fires while a derived proxy is in use
        case 'with': return (options: CallOptions) => createCheckoutProxy<W>(state, { ...callOptions, ...options }, parent ?? proxy)
      }
      if (notMethods.has(prop)) return undefined
      return (...args: unknown[]) => state.call(prop, args, onEvent)
    },
    set: () => false,
    has: (_t, prop) => typeof prop === 'string' && !notMethods.has(prop),
  })
  return proxy as Checkout<W>
}
