import { describe, expect, it } from 'vitest'
import { exactCheck, judgeCheck, roundsCheck } from '../../bench/lib/checks.js'

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
