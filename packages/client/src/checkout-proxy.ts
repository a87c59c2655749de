/**
 * The object users hold: a callable proxy over a CheckoutState. Property reads become remote
 * methods; a few names are the checkout's own controls (see ReservedName). It is never a
 * thenable, so `await client.checkout()` resolves to it rather than into it.
 *
 * One handler serves every proxy; each proxy's target (a function, so the proxy is callable)
 * carries its state. A checkout therefore costs one function and one proxy, not a set of closures.
 */
import { inspect } from 'node:util'
import { isReservedMethodName } from '@forkd/protocol'
import type { CheckoutState } from './checkout.js'
import type { CallOptions, Checkout, WorkerIdentity } from './remote-types.js'


/** The reserved names that are the checkout's own members (the `switch` in `get`). */
const controls: ReadonlySet<string> = new Set(['call', 'release', 'abort', 'worker', 'released', 'with'])

interface Target {
  (): void
  state: CheckoutState
  onEvent: ((name: string, data: unknown) => void) | undefined
  signal: AbortSignal | undefined
  callOptions: CallOptions | undefined
  /** The first proxy of the checkout, kept reachable by derived ones so leak tracking never fires while they are used. */
  root: object | undefined
  worker: WorkerIdentity | undefined
  /** The method last read and its function: a loop calling one method makes one function, not one per call. */
  lastName: string | undefined
  lastMethod: ((...args: unknown[]) => Promise<unknown>) | undefined
}

const handler: ProxyHandler<Target> = {
  apply: (t, _this, args: unknown[]) => t.state.call(null, args, t.onEvent, t.signal),
  get: (t, prop) => {
    const state = t.state
    if (typeof prop === 'symbol') {
      if (prop === Symbol.asyncDispose) return () => Promise.resolve(state.release())
      if (prop === Symbol.dispose) return () => state.release()
      if (prop === inspect.custom) return () => `Checkout { worker: ${inspect({ pid: state.conn.info.pid, id: state.conn.info.id })}, released: ${state.released} }`
      return undefined
    }
    switch (prop) {
      case 'call': return (method: unknown, ...args: unknown[]) => state.call(method, args, t.onEvent, t.signal)
      case 'release': return (error?: unknown) => state.release(error)
      case 'abort': return (reason?: string) => state.abort(reason === undefined ? 'aborted' : String(reason))
      case 'worker': return (t.worker ??= { pid: state.conn.info.pid, id: state.conn.info.id, concurrency: state.conn.info.concurrency ?? 1 })
      case 'released': return state.released
      case 'with': return (options: CallOptions) => createCheckoutProxy(state, { ...t.callOptions, ...options }, t.root)
    }
    // The other reserved names (promise and inspection machinery probes them) are no methods.
    if (isReservedMethodName(prop)) return undefined
    if (prop === t.lastName) return t.lastMethod
    const onEvent = t.onEvent
    const signal = t.signal
    const method = (...args: unknown[]) => state.call(prop, args, onEvent, signal)
    t.lastName = prop
    t.lastMethod = method
    return method
  },
  set: () => false,
  has: (_t, prop) => typeof prop === 'string' && (controls.has(prop) || !isReservedMethodName(prop)),
}

export function createCheckoutProxy<W>(state: CheckoutState, callOptions?: CallOptions, root?: object): Checkout<W> {
  const target = function checkout() {} as Target
  target.state = state
  target.onEvent = callOptions?.onEvent
  target.signal = callOptions?.signal
  target.callOptions = callOptions
  target.worker = undefined
  target.lastName = undefined
  target.lastMethod = undefined
  const proxy = new Proxy(target, handler)
  target.root = root ?? proxy
  return proxy as unknown as Checkout<W>
}
