/**
 * One backoff rule for everything that retries: client reconnects and server respawns. The delay
 * doubles from `min` to `max`; half of it is fixed and half random ("equal jitter"), so a fleet of
 * clients that lost the same server does not come back in one wave, yet nobody retries at once.
 */

export interface BackoffRange {
  /** Delay after the first failure, in ms. */
  min: number
  /** Longest delay, in ms. */
  max: number
}

/** The delay before the next attempt after `failures` consecutive failures (≥ 1). */
export function backoffDelay(failures: number, range: BackoffRange, random: () => number = Math.random): number {
  const base = Math.min(range.max, range.min * 2 ** Math.min(Math.max(failures, 1) - 1, 30))
  return base / 2 + random() * (base / 2)
}
