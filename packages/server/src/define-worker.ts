/**
 * The shape of a worker module and the `defineWorker` helper that checks it and carries its type to
 * the client.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown

/** A map of method name to function: the common case. */
export type InterfaceMap = { [method: string]: AnyFunction }

/**
 * One function serving every call: it receives the method name first when the client called a
 * method (`c.resize(img)` → `fn('resize', img)`), and only the arguments when the client called the
 * checkout itself (`c(img)` → `fn(img)`).
 */
export type InterfaceFunction = AnyFunction

export type WorkerInterface = InterfaceMap | InterfaceFunction

/** The signals a server passes on to its workers. */
export type WorkerSignal = 'SIGUSR1' | 'SIGUSR2'

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
 * Declares a worker module. Export the result as the module's default export.
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
export function defineWorker<const I extends WorkerInterface>(definition: WorkerDefinition<I>): WorkerDefinition<I> {
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
    for (const [name, fn] of Object.entries(iface))
      if (typeof fn !== 'function') return `interface.${name} must be a function, got ${typeof fn}`
  } else if (typeof iface !== 'function') {
    return `interface must be a map of functions or one function, got ${iface === null ? 'null' : typeof iface}`
  }
  for (const hook of ['setup', 'checkoutDone', 'onSignal'] as const)
    if (def[hook] !== undefined && typeof def[hook] !== 'function') return `${hook} must be a function, got ${typeof def[hook]}`
  return undefined
}
