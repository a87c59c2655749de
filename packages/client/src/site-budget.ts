/**
 * How many checkouts record their site under the default setting (`trackCheckoutSites: 'sampled'`).
 *
 * A site costs a stack capture, 2 to 6 µs: at a few hundred checkouts a second nobody notices, at
 * ten thousand it is a tenth of every checkout. A token bucket keeps every checkout recorded while
 * the rate stays low or comes in bursts, and caps the cost (at about half a percent of one core)
 * when it does not. Leaks repeat where they happen, so a capped rate still names the place soon; a
 * leak that was not recorded turns recording on for every checkout (leak-tracking.ts).
 */

/** Sites recorded per second once the burst is spent. */
export const sampledSitesPerSecond = 1000
/** Checkouts recorded in a row before the rate applies. */
export const sampledSitesBurst = 100

export class SiteBudget {
  #tokens: number
  #refilledAt: number
  readonly #perMs: number
  readonly #burst: number

  constructor(perSecond = sampledSitesPerSecond, burst = sampledSitesBurst, now = performance.now()) {
    this.#perMs = perSecond / 1000
    this.#burst = burst
    this.#tokens = burst
    this.#refilledAt = now
  }

  /** Whether the checkout made at `now` (ms, monotonic) records its site. */
  take(now = performance.now()): boolean {
    const tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilledAt) * this.#perMs)
    this.#refilledAt = now
    if (tokens < 1) {
      this.#tokens = tokens
      return false
    }
    this.#tokens = tokens - 1
    return true
  }
}
