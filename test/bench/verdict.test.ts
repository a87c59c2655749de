import { describe, expect, it } from 'vitest'
import { judge, medianInterval } from '../../bench/lib/verdict.js'

describe('medianInterval', () => {
  it('spans the lowest to the highest value for up to 8 values, with the confidence of a sign test', () => {
    expect(medianInterval([1.3, 1.1, 1.2])).toEqual({ median: 1.2, low: 1.1, high: 1.3, confidence: 0.75, count: 3 })
    const seven = medianInterval([7, 1, 6, 2, 5, 3, 4])
    expect([seven.median, seven.low, seven.high]).toEqual([4, 1, 7])
    expect(seven.confidence).toBeCloseTo(1 - 2 / 128, 12)
    expect(medianInterval([4, 1, 3, 2, 8, 7, 6, 5])).toMatchObject({ median: 4.5, low: 1, high: 8 })
  })

  it('narrows to inner order statistics once there are enough values for 95%', () => {
    const values = Array.from({ length: 9 }, (_, i) => i + 1)
    const nine = medianInterval(values)
    expect([nine.low, nine.high]).toEqual([2, 8])
    expect(nine.confidence).toBeCloseTo(1 - (2 * 10) / 512, 12)
    const forty = medianInterval(Array.from({ length: 40 }, (_, i) => i + 1))
    expect([forty.low, forty.high]).toEqual([14, 27])
    expect(forty.confidence).toBeGreaterThanOrEqual(0.95)
  })

  it('leaves out values that are not finite, and has no interval without values', () => {
    expect(medianInterval([NaN, 2, Infinity, 1, 3])).toMatchObject({ median: 2, low: 1, high: 3, count: 3 })
    expect(medianInterval([NaN])).toEqual({ median: NaN, low: NaN, high: NaN, confidence: NaN, count: 0 })
  })

  it('gives one value no confidence', () => {
    expect(medianInterval([5])).toEqual({ median: 5, low: 5, high: 5, confidence: 0, count: 1 })
  })
})

describe('judge', () => {
  const atMost = { side: 'atMost', limit: 1.1 } as const
  const atLeast = { side: 'atLeast', limit: 0.8 } as const

  it('passes only when every value of the spread is on the good side of the target', () => {
    expect(judge([1.0, 1.05, 1.1], atMost)).toMatchObject({ verdict: 'pass', medianPasses: true })
    expect(judge([0.9, 1.2, 0.85], atLeast)).toMatchObject({ verdict: 'pass', medianPasses: true })
  })

  it('fails only when every value of the spread misses the target', () => {
    expect(judge([1.2, 1.15, 1.4], atMost)).toMatchObject({ verdict: 'fail', medianPasses: false })
    expect(judge([0.5, 0.7, 0.79], atLeast)).toMatchObject({ verdict: 'fail', medianPasses: false })
  })

  it('calls a spread wider than the margin to the target noisy, and says which side the median is on', () => {
    // the quick run of issue 20: one slow round must not turn into a FAIL
    expect(judge([0.99, 1.05, 2.4], atMost)).toMatchObject({ verdict: 'noisy', median: 1.05, medianPasses: true })
    expect(judge([1.0, 1.2, 1.3], atMost)).toMatchObject({ verdict: 'noisy', median: 1.2, medianPasses: false })
  })

  it('resolves noise once pooled rounds narrow the spread', () => {
    const first = [1.0, 1.02, 1.04, 1.05, 1.06, 1.08, 1.3]
    expect(judge(first, atMost).verdict).toBe('noisy')
    const pooled = [...first, 1.01, 1.03, 1.04, 1.05, 1.06, 1.07, 1.5]
    expect(judge(pooled, atMost)).toMatchObject({ verdict: 'pass', low: 1.02, high: 1.08 })
  })

  it('has no verdict without a figure (a baseline that did not run)', () => {
    expect(judge([NaN, NaN], atMost)).toMatchObject({ verdict: 'n/a', medianPasses: undefined, count: 0 })
    expect(judge([], atLeast).verdict).toBe('n/a')
  })
})
