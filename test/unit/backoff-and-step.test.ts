import { describe, expect, it } from 'vitest'
import { backoffDelay, reentrantStep } from '@forkd/protocol/internal'

describe('backoffDelay', () => {
  it('doubles from min to max with half of each delay random', () => {
    const range = { min: 100, max: 5_000 }
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, range, () => 0))).toEqual([50, 100, 200, 400, 2_500])
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, range, () => 1))).toEqual([100, 200, 400, 800, 5_000])
    expect(backoffDelay(1_000_000, range, () => 0.5)).toBe(3_750)
  })
})

describe('reentrantStep', () => {
  it('reruns the step instead of nesting when it is asked for again while running', () => {
    const order: string[] = []
    let runs = 0
    const step = reentrantStep(() => {
      runs++
      order.push(`start ${runs}`)
      if (runs < 3) step()
      order.push(`end ${runs}`)
    })
    step()
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3'])
  })

  it('stays usable after the step threw', () => {
    let calls = 0
    const step = reentrantStep(() => {
      calls++
      if (calls === 1) throw new Error('boom')
    })
    expect(() => step()).toThrow('boom')
    step()
    expect(calls).toBe(2)
  })
})
