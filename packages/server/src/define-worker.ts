/**
 * The shape of a worker module and the `defineWorker` helper that checks it and carries its type to
 * the client.
 */
import { isReservedMethodName, reservedMethodNames, type ReservedMethodName } from '@forkd/protocol'

/**
 * One function serving every call: it receives the method name first when the client called a
 * method (`c.resize(img)` → `fn('resize', img)`), and only the arguments when the client called the
 * checkout itself (`c(img)` → `fn(img)`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InterfaceFunction = (...args: any[]) => unknown

/** A map of method name to function: the common case. */
export type InterfaceMap = { [method: string]: InterfaceFunction }

/** What a worker serves: a map of methods, or one function for every call. */
export type WorkerInterface = InterfaceMap | InterfaceFunction

/** The signals a server passes on to its workers. */
export type WorkerSignal = 'SIGUSR1' | 'SIGUSR2'

/** A worker module's default export: its interface and optional lifecycle hooks. */
export interface WorkerDefinition<I extends WorkerInterface = WorkerInterface> {
  /** The methods clients call. */
  interface: I
  /** Runs once in each worker process, before its first call. May be async. */
  setup?: () => unknown
  /**
   * Runs in the worker each time a checkout of it is released (roll back, clean up). May be async.
   * With the server's `concurrency` above 1 it runs for each connection's checkouts, while other
   * connections' calls may be running in the same process.
   */
  checkoutDone?: () => unknown
  /**
   * Runs when the server passes SIGUSR1 or SIGUSR2 on to this worker (`kill -USR2 SERVER_PID`,
   * `server.signal('SIGUSR2')`): reopen a log file, dump state. May be async; a failure is written
   * to the worker's stderr. Without it the worker ignores both signals (Node's own reactions, exit
   * on SIGUSR2 and the inspector on SIGUSR1, are off in every worker).
   */
  onSignal?: (signal: WorkerSignal) => unknown
}

/**
 * What `defineWorker` adds to its parameter's type so that a method with a reserved name (see
 * `reservedMethodNames` in `@forkd/protocol`) is a compile error: that method's type must be a
 * sentence, which no function is, so the error names the method and says why. `unknown` (no
 * constraint) for a one-function interface and for names that are not reserved.
 */
export type ReservedNameCheck<I> = I extends InterfaceFunction
  ? unknown
  : {
      /** Each reserved method name present in the interface, typed as the compile error's sentence. */
      interface: { [K in keyof I & ReservedMethodName]: `forkd: "${K}" is reserved: a checkout has its own c.${K}, so this method could never be called; rename it` }
    }

/**
 * Declares a worker module. Export the result as the module's default export.
 *
 * Method names the checkout uses itself (`call`, `release`, `abort`, `worker`, `released`, `with`,
 * `then`, ...: `reservedMethodNames`, exported here and by `@forkd/protocol`) are refused: a
 * compile error, and a TypeError naming the method at run time.
 *
 * @example
 * ```ts
 * export default defineWorker({
 *   setup() { db = openDatabase() },
 *   interface: { query: (sql: string) => db.query(sql) },
 *   checkoutDone() { db.rollbackIfOpen() },
 * })
 * ```
 * and on the client: `client.checkout<typeof import('./worker.js').default>()`.
 */
export function defineWorker<const I extends WorkerInterface>(definition: WorkerDefinition<I> & ReservedNameCheck<I>): WorkerDefinition<I> {
  const problem = describeDefinitionProblem(definition)
  if (problem !== undefined) throw new TypeError(problem)
  return definition
}

/** Returns a sentence describing what is wrong with a worker definition, or undefined if nothing. */
export function describeDefinitionProblem(definition: unknown): string | undefined {
  if (typeof definition !== 'object' || definition === null)
    return `a worker module's default export must be defineWorker({ interface, setup?, checkoutDone?, onSignal? }), got ${typeof definition}`
  const def = definition as Record<string, unknown>
  const iface = def.interface
  if (typeof iface === 'object' && iface !== null) {
    for (const [name, fn] of Object.entries(iface)) {
      if (typeof fn !== 'function') return `interface.${name} must be a function, got ${typeof fn}`
      if (isReservedMethodName(name))
        return `interface.${name}: "${name}" is reserved: a checkout has its own c.${name}, so clients could never call this method; rename it ` +
          `(reserved: ${reservedMethodNames.join(', ')})`
    }
  } else if (typeof iface !== 'function') {
    return `interface must be a map of functions or one function, got ${iface === null ? 'null' : typeof iface}`
  }
  for (const hook of ['setup', 'checkoutDone', 'onSignal'] as const)
    if (def[hook] !== undefined && typeof def[hook] !== 'function') return `${hook} must be a function, got ${typeof def[hook]}`
  return undefined
}
