/** The Timing histogram: milliseconds in, HDR statistics and Prometheus buckets out. */
import { describe, expect, it } from 'vitest'
import { Timing, bucketBounds } from '../../packages/client/src/timing.js'

describe('Timing', () => {
  it('reports count, min, max, mean and percentiles in milliseconds', () => {
    const t = new Timing()
    for (let i = 1; i <= 1000; i++) t.record(i)
    const s = t.stats()
    expect(s.count).toBe(1000)
    // HDR with 3 significant figures: within 0.1 %.
    expect(s.min).toBeCloseTo(1, 2)
    expect(s.max / 1000).toBeCloseTo(1, 2)
    expect(s.mean / 500.5).toBeCloseTo(1, 2)
    expect(s.p50 / 500).toBeCloseTo(1, 2)
    expect(s.p90 / 900).toBeCloseTo(1, 2)
    expect(s.p99 / 990).toBeCloseTo(1, 2)
    expect(s.p999 / 999).toBeCloseTo(1, 2)
  })

  it('keeps sub-millisecond samples', () => {
    const t = new Timing()
    t.record(0.0042)
    expect(t.stats().min).toBeCloseTo(0.0042, 6)
  })

  it('counts zero, negative and absurdly long samples instead of dropping them', () => {
    const t = new Timing()
    t.record(0)
    t.record(-5)
    t.record(1e12)
    t.record(Number.NaN)
    expect(t.count).toBe(4)
    expect(t.buckets().count).toBe(4)
  })

  it('gives cumulative Prometheus buckets, the count and the exact sum in seconds', () => {
    const t = new Timing()
    const samples = [0.05, 0.3, 2, 2, 40, 700, 4_000, 1_000_000]
    for (const ms of samples) t.record(ms)
    const b = t.buckets()
    expect(b.count).toBe(samples.length)
    expect(b.sum).toBeCloseTo(samples.reduce((a, x) => a + x, 0) / 1000, 6)
    expect(b.cumulative).toHaveLength(bucketBounds.length)
    bucketBounds.forEach((bound, i) => expect(b.cumulative[i]).toBe(samples.filter((ms) => ms / 1000 <= bound).length))
    // A sample exactly on a bound belongs to that bound's bucket (le: less or equal).
    const edge = new Timing()
    edge.record(1)
    expect(edge.buckets().cumulative[bucketBounds.indexOf(0.001)]).toBe(1)
    expect(edge.buckets().cumulative[bucketBounds.indexOf(0.001) - 1]).toBe(0)
  })
})
