import { describe, expect, it } from 'vitest'
import { exactCheck, judgeCheck, poolChecks, roundsCheck } from '../../bench/lib/checks.js'

const ratio = (v: number) => `${v.toFixed(2)}×`

describe('judgeCheck', () => {
  it('shows the median, the spread with its count and confidence, and the verdict', () => {
    const check = roundsCheck('call ≤ 1.1× raw', [1.05, 1.02, 1.08], { side: 'atMost', limit: 1.1 }, ratio, { suffix: ' raw' })
    expect(judgeCheck(check)).toEqual({
      target: 'call ≤ 1.1× raw', measured: '1.05× raw', spread: '1.02× – 1.08× (3 rounds, 75%)', verdict: 'pass', medianPasses: true,
    })
  })

  it('names one value in the singular and gives it no confidence', () => {
    const check = roundsCheck('rate ≥ 0.8× node', [0.5], { side: 'atLeast', limit: 0.8 }, ratio)
    expect(judgeCheck(check)).toMatchObject({ spread: '0.50× – 0.50× (1 round)', verdict: 'fail' })
  })

  it('counts samples when the values are samples', () => {
    const check = roundsCheck('p50 ≤ 3 ms', [2, 4, 3.5], { side: 'atMost', limit: 3 }, (v) => `${v} ms`, { unit: 'samples' })
    expect(judgeCheck(check)).toMatchObject({ measured: '3.5 ms', spread: '2 ms – 4 ms (3 samples, 75%)', verdict: 'noisy', medianPasses: false })
  })

  it('has no verdict when nothing was measured, and passes exact checks through', () => {
    expect(judgeCheck(roundsCheck('x', [NaN], { side: 'atMost', limit: 1 }, ratio))).toMatchObject({ measured: 'n/a', verdict: 'n/a' })
    expect(judgeCheck(exactCheck('zero errors', '3 errors', false))).toEqual({ target: 'zero errors', measured: '3 errors', spread: '', verdict: 'fail', medianPasses: false })
    expect(judgeCheck(exactCheck('zero errors', 'n/a', undefined)).verdict).toBe('n/a')
  })
})

describe('poolChecks', () => {
  it('adds the values of a repeated workload to the same target', () => {
    const first = [roundsCheck('a', [1, 2], { side: 'atMost', limit: 3 }, ratio), exactCheck('zero errors', '0 errors', true)]
    const again = [roundsCheck('a', [3], { side: 'atMost', limit: 3 }, ratio), exactCheck('zero errors', '2 errors', false)]
    const pooled = poolChecks(first, again)
    expect(pooled).toHaveLength(2)
    expect(pooled[0]).toMatchObject({ kind: 'rounds', target: 'a', values: [1, 2, 3] })
    expect(pooled[1]).toMatchObject({ kind: 'exact', measured: '0 errors, then 2 errors', pass: false })
  })

  it('keeps a failed exact check failed, and an unknown outcome unknown', () => {
    expect(poolChecks([exactCheck('e', 'x', false)], [exactCheck('e', 'x', true)])[0]).toMatchObject({ pass: false, measured: 'x' })
    expect(poolChecks([exactCheck('e', 'x', undefined)], [exactCheck('e', 'x', true)])[0]).toMatchObject({ pass: undefined })
  })

  it('keeps checks that only one attempt made', () => {
    const pooled = poolChecks([roundsCheck('old', [1], { side: 'atMost', limit: 2 }, ratio)], [roundsCheck('new', [1], { side: 'atMost', limit: 2 }, ratio)])
    expect(pooled.map((c) => c.target)).toEqual(['new', 'old'])
  })
})
