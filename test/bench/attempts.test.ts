import { describe, expect, it } from 'vitest'
import { AttemptPool, mergeSeries } from '../../bench/lib/attempts.js'

describe('mergeSeries', () => {
  it('appends the later values to the earlier ones, name by name', () => {
    expect(mergeSeries({ forkd: [1, 2], raw: [3] }, { forkd: [4], raw: [5, 6] })).toEqual({ forkd: [1, 2, 4], raw: [3, 5, 6] })
  })

  it('keeps a series only one side has (a baseline that ran once)', () => {
    expect(mergeSeries<Record<string, number[]>>({ forkd: [1], raw: [2] }, { forkd: [3] })).toEqual({ forkd: [1, 3], raw: [2] })
  })

  it('does not change its arguments', () => {
    const earlier = { forkd: [1] }
    mergeSeries(earlier, { forkd: [2] })
    expect(earlier).toEqual({ forkd: [1] })
  })
})

describe('AttemptPool', () => {
  it('gives the first attempt its own values, and every later one all values so far', () => {
    const attempts = new AttemptPool()
    expect(attempts.attempt).toBe(1)
    expect(attempts.pool('rounds', { forkd: [1.1], raw: [1] })).toEqual({ forkd: [1.1], raw: [1] })
    attempts.next()
    expect(attempts.attempt).toBe(2)
    expect(attempts.pool('rounds', { forkd: [1.3], raw: [1.2] })).toEqual({ forkd: [1.1, 1.3], raw: [1, 1.2] })
    expect(attempts.pool('latency', { forkd: [5] })).toEqual({ forkd: [5] })
  })

  it('does not let a workload change what it pooled by changing the series it passed in', () => {
    const attempts = new AttemptPool()
    const series = { forkd: [1] }
    attempts.pool('k', series)
    series.forkd.push(99)
    expect(attempts.pool('k', { forkd: [2] })).toEqual({ forkd: [1, 2] })
  })
})
