/** The waiting queues against a plain reference model, with random operations (fast-check). */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Fifo } from '../../packages/client/src/fifo.js'
import { PriorityQueue } from '../../packages/client/src/priority-queue.js'
import type { QueueHandle, WaitQueue } from '../../packages/client/src/wait-queue.js'

type Op = { kind: 'push' | 'unshift'; priority: number } | { kind: 'shift' } | { kind: 'remove'; pick: number }

const ops = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('push' as const), priority: fc.integer({ min: -3, max: 3 }) }),
    fc.record({ kind: fc.constant('unshift' as const), priority: fc.integer({ min: -3, max: 3 }) }),
    fc.record({ kind: fc.constant('shift' as const) }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  ),
  { maxLength: 200 },
)

/** Runs `ops` on `queue` and on a reference list; `byPriority` false for the FIFO. */
function check(queue: WaitQueue<number>, list: Op[], byPriority: boolean): void {
  // the reference: entries in serving order
  let model: { value: number; priority: number }[] = []
  const handles: { value: number; handle: QueueHandle }[] = []
  let next = 0
  const insert = (value: number, priority: number, front: boolean) => {
    const p = byPriority ? priority : 0
    let i = front ? model.findIndex((e) => e.priority <= p) : model.findIndex((e) => e.priority < p)
    if (i === -1) i = model.length
    model.splice(i, 0, { value, priority: p })
  }
  for (const op of list) {
    if (op.kind === 'push' || op.kind === 'unshift') {
      const value = next++
      const handle = op.kind === 'push' ? queue.push(value, op.priority) : queue.unshift(value, op.priority)
      handles.push({ value, handle })
      insert(value, op.priority, op.kind === 'unshift')
    } else if (op.kind === 'shift') {
      expect(queue.shift()).toBe(model.shift()?.value)
    } else if (handles.length > 0) {
      const { value, handle } = handles[(op as { pick: number }).pick % handles.length]!
      queue.remove(handle)
      expect(handle.linked).toBe(false)
      model = model.filter((e) => e.value !== value)
    }
    expect(queue.length).toBe(model.length)
  }
  expect(queue.drain()).toEqual(model.map((e) => e.value))
  expect(queue.length).toBe(0)
}

describe('waiting queues', () => {
  it('Fifo serves in arrival order whatever the priority, with removal by handle', () => {
    fc.assert(fc.property(ops, (list) => check(new Fifo<number>(), list, false)), { numRuns: 300 })
  })

  it('PriorityQueue serves higher priorities first and equal ones in arrival order, with removal by handle', () => {
    fc.assert(fc.property(ops, (list) => check(new PriorityQueue<number>(), list, true)), { numRuns: 300 })
  })

  it('PriorityQueue stays small when priorities come and go without ever being served', () => {
    const q = new PriorityQueue<number>()
    for (let i = 0; i < 10_000; i++) q.remove(q.push(i, i))
    expect(q.length).toBe(0)
    q.push(1, 1)
    expect(q.shift()).toBe(1)
    expect(q.shift()).toBeUndefined()
  })
})
