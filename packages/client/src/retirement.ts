/**
 * Retirement rules: when a worker is closed instead of being returned to the pool. The pool asks
 * every rule when a checkout ends and whenever a worker becomes idle; the first reason given wins.
 * A rule is a small object with no state of its own beyond its options, so each can be tested alone
 * and new ones (age, memory, idle time) are added to the list, not to the pool.
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
  onRelease?(worker: WorkerFacts, outcome: CheckoutOutcome): RemoveReason | undefined
  /** A reason to close the worker now, when it has just become idle. */
  whenIdle?(worker: WorkerFacts): RemoveReason | undefined
}

/** Refork after error (on by default). */
export const reforkAfterError: RetirementRule = {
  onRelease: (_worker, outcome) => (outcome.hadError ? 'error' : undefined),
}

/** Retire a worker after `limit` checkouts. */
export function maxCheckouts(limit: number): RetirementRule {
  return { onRelease: (worker) => (worker.checkouts >= limit ? 'maxCheckouts' : undefined) }
}

/** Retire a worker its server asked to be retired (takeover, reload), as soon as it is free. */
export const serverRequest: RetirementRule = {
  onRelease: (worker) => (worker.retireRequested !== undefined ? 'serverReplaced' : undefined),
  whenIdle: (worker) => (worker.retireRequested !== undefined ? 'serverReplaced' : undefined),
}

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
export function reasonOnRelease(rules: readonly RetirementRule[], worker: WorkerFacts, outcome: CheckoutOutcome): RemoveReason | undefined {
  for (const rule of rules) {
    const reason = rule.onRelease?.(worker, outcome)
    if (reason !== undefined) return reason
  }
  return undefined
}

/** The first reason any rule gives for closing a worker that just became idle. */
export function reasonWhenIdle(rules: readonly RetirementRule[], worker: WorkerFacts): RemoveReason | undefined {
  for (const rule of rules) {
    const reason = rule.whenIdle?.(worker)
    if (reason !== undefined) return reason
  }
  return undefined
}
