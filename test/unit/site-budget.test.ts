/** Which checkouts record their site under trackCheckoutSites: 'sampled', and what a capture holds. */
import { describe, expect, it } from 'vitest'
import { SiteBudget } from '../../packages/client/src/site-budget.js'
import { captureSite, describeSite } from '../../packages/client/src/leak-tracking.js'

function takes(budget: SiteBudget, times: number[]): number {
  return times.filter((t) => budget.take(t)).length
}

describe('SiteBudget', () => {
  it('records a whole burst, then nothing until time refills it', () => {
    const budget = new SiteBudget(1000, 100, 0)
    expect(takes(budget, Array.from({ length: 150 }, () => 0))).toBe(100)
    expect(budget.take(0.5)).toBe(false)
    expect(budget.take(1)).toBe(true)
    expect(budget.take(1)).toBe(false)
  })

  it('records every checkout while they come slower than the rate', () => {
    const budget = new SiteBudget(1000, 100, 0)
    // 10 000 checkouts, one every 2 ms: the bucket never empties.
    expect(takes(budget, Array.from({ length: 10_000 }, (_, i) => i * 2))).toBe(10_000)
  })

  it('caps a sustained high rate at the configured rate (plus the burst)', () => {
    const budget = new SiteBudget(1000, 100, 0)
    // 100 000 checkouts in one second (one every 10 µs): 100 from the burst, 1 000 from the refill.
    const recorded = takes(budget, Array.from({ length: 100_000 }, (_, i) => i * 0.01))
    expect(recorded).toBeGreaterThanOrEqual(1098)
    expect(recorded).toBeLessThanOrEqual(1100)
  })

  it('never stores more than a burst, however long it was idle', () => {
    const budget = new SiteBudget(1000, 100, 0)
    expect(takes(budget, Array.from({ length: 300 }, () => 3_600_000))).toBe(100)
  })
})

describe('captureSite', () => {
  function publicMethod(tracking: Parameters<typeof captureSite>[0]) {
    return captureSiteBelow(tracking)
  }
  function captureSiteBelow(tracking: Parameters<typeof captureSite>[0]) {
    return captureSite(tracking, publicMethod)
  }

  it('names the caller of the public method, not forkd', () => {
    const site = publicMethod(true)
    expect(describeSite(site)).toMatch(/site-budget\.test\.ts:\d+:\d+$/)
    expect(site!.stack!.split('\n').length).toBeLessThanOrEqual(5)
    expect(site!.stack).not.toContain('captureSiteBelow')
  })

  it('records nothing with false, and only what the budget allows when sampled', () => {
    expect(publicMethod(false)).toBeUndefined()
    // One site per thousand seconds once the burst of two is spent: no refill during the test.
    const budget = new SiteBudget(0.001, 2, performance.now())
    const sites = [publicMethod(budget), publicMethod(budget), publicMethod(budget)]
    expect(sites.map((s) => describeSite(s) !== undefined)).toEqual([true, true, false])
  })
})
