/** Power of two choices, alone: which of the candidates gets the next new connection. */
import { describe, expect, it } from 'vitest'
import { powerOfTwoChoices } from '../../packages/client/src/endpoint-choice.js'
import { prng } from '../support/faults.js'

const loads = (...connections: number[]) => connections.map((c) => ({ connections: c }))

/** A random() that returns these values in turn. */
const sequence = (...values: number[]) => () => values.shift()!

describe('powerOfTwoChoices', () => {
  it('takes the only candidate without drawing', () => {
    expect(powerOfTwoChoices(loads(7), () => { throw new Error('drew') })).toBe(0)
  })

  it('draws two different candidates and takes the one with fewer connections', () => {
    // first draw 0.9 of 3 → index 2; second draw 0.0 of the 2 others → index 0
    expect(powerOfTwoChoices(loads(1, 5, 3), sequence(0.9, 0.0))).toBe(0)
    // first draw index 0; second draw 0.0 of the others → index 1 (the first is skipped, never drawn twice)
    expect(powerOfTwoChoices(loads(4, 2, 0), sequence(0.0, 0.0))).toBe(1)
    // random() may return values just below 1: both indexes stay in range (2, then 1 of the others)
    expect(powerOfTwoChoices(loads(4, 2, 0), sequence(0.9999999999, 0.9999999999))).toBe(2)
    expect(powerOfTwoChoices(loads(4, 0, 2), sequence(0.9999999999, 0.9999999999))).toBe(1)
  })

  it('breaks a tie in favour of the first drawn, so ties stay random', () => {
    expect(powerOfTwoChoices(loads(3, 3, 3), sequence(0.5, 0.9))).toBe(1)
    expect(powerOfTwoChoices(loads(3, 3, 3), sequence(0.9, 0.0))).toBe(2)
  })

  it('never chooses the most loaded candidate, and the least loaded as often as it is drawn', () => {
    const random = prng(14).next
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 12_000; i++) counts[powerOfTwoChoices(loads(0, 1, 2, 3), random)]!++
    expect(counts[3]).toBe(0)
    // the least loaded wins whenever it is one of the two drawn: 3 pairs of 6 → 1/2
    expect(counts[0]! / 12_000).toBeGreaterThan(0.46)
    expect(counts[0]! / 12_000).toBeLessThan(0.54)
    // the second least: 2 pairs of 6 → 1/3; the third: 1 pair → 1/6
    expect(counts[1]! / 12_000).toBeGreaterThan(0.3)
    expect(counts[2]! / 12_000).toBeLessThan(0.2)
  })
})
