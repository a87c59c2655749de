/**
 * Method names a worker's interface may not use. A client's checkout is one object that holds both
 * the worker's methods (`c.hash(pw)`) and its own controls (`c.release()`); these names are the
 * controls, and the names that promise and inspection machinery probes on any object (`then` makes
 * an object a thenable, `toString` and `valueOf` are read by string conversion, test runners look
 * for `asymmetricMatch` and `$$typeof`). `c.release(...)` on a worker with a `release` method would
 * release the checkout and never reach the worker, so forkd refuses such a worker: `defineWorker`
 * throws a TypeError naming the method, at compile time its type says so, and a worker module whose
 * interface has one fails to load.
 */
export const reservedMethodNames = [
  'call', 'release', 'abort', 'worker', 'released', 'with',
  'then', 'catch', 'finally',
  'toJSON', 'constructor', 'toString', 'valueOf', 'inspect', 'nodeType', 'asymmetricMatch', '$$typeof',
] as const

/** One of {@link reservedMethodNames}. */
export type ReservedMethodName = (typeof reservedMethodNames)[number]

const reserved: ReadonlySet<string> = new Set(reservedMethodNames)

/** Whether `name` is a method name a worker's interface may not use. */
export function isReservedMethodName(name: string): name is ReservedMethodName {
  return reserved.has(name)
}
