/**
 * Checkouts garbage-collected without `release()`: their worker is discarded and a warning says
 * where the checkout was made (FORKD_WARN_CHECKOUT_LEAKED).
 *
 * Recording where a checkout is made costs a stack capture. When site tracking is off (production),
 * or sampled and this checkout was not among those recorded, the first leak is reported without a
 * place and turns recording on for every checkout, so the next one names it.
 */
import type { SiteBudget } from './site-budget.js'


/** What a leaked checkout needs to do when its proxy is collected. */
export interface LeakTarget {
  readonly released: boolean
  /** Makes the checkout fatal and releases it (its worker is discarded). */
  leaked(): void
}

/** Where a checkout was made: an object whose `stack` is captured lazily by V8. */
export interface CheckoutSite {
  stack?: string
}

interface LeakRecord {
  target: LeakTarget
  site: CheckoutSite | undefined
}

/** The leak warning is given once with a site, and at most once without one. */
let warnedWithSite = false
let warnedWithoutSite = false
/** Set when a checkout leaked with no site recorded: from then on every client records sites. */
let recordSitesFromNowOn = false
/** A few frames name the caller; a full (async) stack would cost ten times more per checkout. */
const siteFrames = 4

const registry = new FinalizationRegistry<LeakRecord>((record) => {
  if (record.target.released) return
  record.target.leaked()
  const stack = record.site?.stack
  if (stack !== undefined && !warnedWithSite) {
    warnedWithSite = true
    process.emitWarning(`a forkd checkout was garbage-collected without release(); its worker was discarded. It was made at:\n${stack.split('\n').slice(1).join('\n')}`, {
      code: 'FORKD_WARN_CHECKOUT_LEAKED',
    })
  } else if (stack === undefined && !warnedWithoutSite) {
    warnedWithoutSite = true
    recordSitesFromNowOn = true
    process.emitWarning('a forkd checkout was garbage-collected without release(); its worker was discarded. ' +
      'Where checkouts are made is now recorded, and the next such warning will name the place ' +
      '(trackCheckoutSites: true records it from the start).', { code: 'FORKD_WARN_CHECKOUT_LEAKED' })
  }
})

/** Every checkout (`true`), none until a leak (`false`), or those a budget allows ('sampled'). */
export type SiteTracking = boolean | SiteBudget

/**
 * Captures the caller's site when tracking says so (or an earlier leak turned recording on). `below`
 * is the public function the user called: its frame and those above it are left out.
 */
export function captureSite(tracking: SiteTracking, below: Function): CheckoutSite | undefined {
  if (tracking !== true && !recordSitesFromNowOn && (tracking === false || !tracking.take())) return undefined
  const site: CheckoutSite = {}
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = siteFrames
  Error.captureStackTrace(site, below)
  Error.stackTraceLimit = limit
  return site
}

/** `file:///app/main.js:12:7`: the first frame of a recorded site, for messages. */
export function describeSite(site: CheckoutSite | undefined): string | undefined {
  const frame = site?.stack?.split('\n')[1]?.trim()
  if (frame === undefined) return undefined
  const inParens = /\((.*)\)$/.exec(frame)
  return inParens !== null ? inParens[1] : frame.replace(/^at /, '')
}

/** Watches `proxy`: if it is collected before `target` is released, the leak is handled. */
export function trackLeak(proxy: object, target: LeakTarget, site: CheckoutSite | undefined): void {
  registry.register(proxy, { target, site }, target)
}

/** Stops watching (the checkout is over). */
export function untrackLeak(target: LeakTarget): void {
  registry.unregister(target)
}
