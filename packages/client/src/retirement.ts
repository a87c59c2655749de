/**
 * Retirement rules: when a worker is closed instead of being returned to the pool. The pool asks
 * every rule when a checkout ends and whenever a worker becomes idle, and its limit sweep
 * (limit-sweep.ts) asks again about idle workers that passed a time limit while nobody touched
 * them; the first reason given wins. A rule is a small object with no state of its own beyond its
 * options (the age rule also remembers the limit it drew for each connection), so each can be
 * tested alone and new ones are added to the list, not to the pool.
 */
import type { Endpoint } from '@forkd/protocol'

/** Why the pool removed a worker connection (`stats().retired`, the `'remove'` event). */
export type RemoveReason =
  /** The worker's connection was lost: exit, crash, kill. */
  | 'died'
  /** Its checkout saw an error and `reforkAfterError` is on. */
  | 'error'
  /** It served `maxCheckouts` checkouts. */
  | 'maxCheckouts'
  /** Its server was replaced or reloaded and asked for it to be retired. */
  | 'serverReplaced'
  /** Its checkout failed fatally (timeout, abort, protocol error). */
  | 'fatal'
  /** Its `checkoutDone` hook failed. */
  | 'checkoutDoneFailed'
  /** The client was closed. */
  | 'clientClosed'
  /** The `validate` option refused it (returned false or threw) before it was handed out. */
  | 'validate'
  /** Its endpoint left the list the client connects to (a DNS answer no longer names it). */
  | 'endpointRemoved'
  /** It was idle and did not answer a WebSocket ping within `pingTimeout` (frozen process, host gone). */
  | 'unresponsive'
  /** It was idle for longer than `idleTimeout` while the pool had more than `minWorkers`. */
  | 'idle'
  /** Its connection was older than its share of `maxWorkerAge` when it was released or found idle. */
  | 'age'
  /** Its process's resident set size passed `maxWorkerMemory` (reported with the done-ack of its checkout). */
  | 'memory'
  /** Its process serves several connections and was retired through another one (the server's `concurrency`). */
  | 'processRetired'
  /** A connection attempt that failed before the worker said hello (not counted as retired). */
  | 'connectFailed'

/** What a rule may look at: read-only facts about one worker connection. */
export interface WorkerFacts {
  /** Checkouts served, the one ending included. */
  readonly checkouts: number
  /** The reason its server gave when it asked for the worker to be retired. */
  readonly retireRequested: string | undefined
  /** Where the worker's server listens. */
  readonly endpoint: Endpoint
  /** When the worker said hello (performance.now() ms). */
  readonly connectedAt: number
  /** When it last became idle (performance.now() ms). */
  readonly idleSince: number
  /** Its process's resident set size in bytes, from its last done-ack with stats; undefined before one. */
  readonly rss: number | undefined
}

/** What a rule may look at about the pool as a whole, read when asked. */
export interface PoolFacts {
  /** performance.now() */
  readonly now: number
  /** Connections in every state but closed. */
  readonly workers: number
  readonly minWorkers: number
}

/** How a checkout ended. */
export interface CheckoutOutcome {
  /** A call of the checkout failed in the worker (WorkerError), or the caller released with an error. */
  hadError: boolean
  /** What the checkout was released with, its fatal error, or its first worker error. */
  error: Error | undefined
  /** Set when the pool itself decided the worker's fate (validation failed). */
  retireAs?: RemoveReason | undefined
}

export interface RetirementRule {
  /** A reason to retire the worker instead of returning it to the pool, when a checkout ends. */
  onRelease?(worker: WorkerFacts, outcome: CheckoutOutcome, pool: PoolFacts): RemoveReason | undefined
  /** A reason to close the worker now, when it has just become idle or is found idle. */
  whenIdle?(worker: WorkerFacts, pool: PoolFacts): RemoveReason | undefined
  /** The rule has limits in time: idle workers must be looked at again as time passes (the limit sweep). */
  readonly timeLimit?: number
}

/** Refork after error (on by default). */
export const reforkAfterError: RetirementRule = {
  onRelease: (_worker, outcome) => (outcome.hadError ? 'error' : undefined),
}

/** Retire a worker after `limit` checkouts. */
export function maxCheckouts(limit: number): RetirementRule {
  return { onRelease: (worker) => (worker.checkouts >= limit ? 'maxCheckouts' : undefined) }
}

/**
 * Retire a worker its server asked to be retired (takeover, reload, shutdown, or its shared process
 * retired through another connection), as soon as it is free.
 */
export const serverRequest: RetirementRule = {
  onRelease: (worker) => requested(worker.retireRequested),
  whenIdle: (worker) => requested(worker.retireRequested),
}

function requested(reason: string | undefined): RemoveReason | undefined {
  if (reason === undefined) return undefined
  return reason === 'worker-retired' ? 'processRetired' : 'serverReplaced'
}

/**
 * Close a worker idle for `limit` ms or longer, while the pool has more than `minWorkers`: the pool
 * shrinks back to `minWorkers` (to nothing with `minWorkers: 0`) and grows again on demand.
 */
export function idleTimeout(limit: number): RetirementRule {
  return {
    timeLimit: limit,
    whenIdle: (worker, pool) => (pool.workers > pool.minWorkers && pool.now - worker.idleSince >= limit ? 'idle' : undefined),
  }
}

/** Share of maxWorkerAge a connection's own limit may fall short by: its limit is drawn in [90 %, 100 %). */
export const ageJitter = 0.1

/**
 * Retire a worker whose connection is older than its own limit when it is released or found idle,
 * never while checked out. Each connection's limit is drawn once, the first time the rule sees it
 * (its hello), uniformly in [(1 - ageJitter) × limit, limit): workers made together do not all
 * retire together.
 */
export function maxWorkerAge(limit: number, random: () => number = Math.random): RetirementRule {
  const limits = new WeakMap<WorkerFacts, number>()
  const own = (worker: WorkerFacts) => {
    let drawn = limits.get(worker)
    if (drawn === undefined) limits.set(worker, (drawn = limit * (1 - ageJitter * random())))
    return drawn
  }
  const tooOld = (worker: WorkerFacts, pool: PoolFacts): RemoveReason | undefined => (pool.now - worker.connectedAt >= own(worker) ? 'age' : undefined)
  return { timeLimit: limit * (1 - ageJitter), onRelease: (worker, _outcome, pool) => tooOld(worker, pool), whenIdle: tooOld }
}

/**
 * Retire a worker whose process's resident set size passed `limit` bytes. The client asks for the
 * size with every release and waits for it before handing the worker out again, so a worker past the
 * limit serves no further checkout: its memory stays under the limit plus one checkout's growth.
 */
export function maxWorkerMemory(limit: number): RetirementRule {
  const tooBig = (worker: WorkerFacts): RemoveReason | undefined => (worker.rss !== undefined && worker.rss > limit ? 'memory' : undefined)
  return { onRelease: tooBig, whenIdle: tooBig }
}

/**
 * Removal reasons that say the worker's process should serve nobody new (the connection is closed
 * with 4002): what it became, not why this client no longer needs it.
 */
export const retiresProcess: ReadonlySet<RemoveReason> = new Set<RemoveReason>(['error', 'maxCheckouts', 'validate', 'age', 'memory'])

/**
 * Retire a worker whose endpoint left the client's list (a DNS answer no longer names its server):
 * at once when idle, on release when busy, as after a takeover. `removed` answers for the endpoint
 * objects the connection opener handed out; it is only in the list when endpoints can change.
 */
export function endpointRemoved(removed: (endpoint: Endpoint) => boolean): RetirementRule {
  return {
    onRelease: (worker) => (removed(worker.endpoint) ? 'endpointRemoved' : undefined),
    whenIdle: (worker) => (removed(worker.endpoint) ? 'endpointRemoved' : undefined),
  }
}

/** The first reason any rule gives for retiring a worker whose checkout ended. */
export function reasonOnRelease(rules: readonly RetirementRule[], worker: WorkerFacts, outcome: CheckoutOutcome, pool: PoolFacts): RemoveReason | undefined {
  for (const rule of rules) {
    const reason = rule.onRelease?.(worker, outcome, pool)
    if (reason !== undefined) return reason
  }
  return undefined
}

/** The first reason any rule gives for closing a worker that is idle. */
export function reasonWhenIdle(rules: readonly RetirementRule[], worker: WorkerFacts, pool: PoolFacts): RemoveReason | undefined {
  for (const rule of rules) {
    const reason = rule.whenIdle?.(worker, pool)
    if (reason !== undefined) return reason
  }
  return undefined
}
