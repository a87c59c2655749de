/**
 * The waiting-checkout queue, as the pool sees it: a policy behind an interface, so the order in
 * which waiting checkouts are served can change (first come first served today, priorities next)
 * without touching the pool. Every operation must be O(1) or O(log n) in the queue's length: a
 * surge of thousands of waiting checkouts that time out one by one must not cost quadratic time.
 */

/** Where a value sits in a queue, for `remove`. */
export interface QueueHandle {
  /** False once the value left the queue (shifted, removed or drained). */
  readonly linked: boolean
}

export interface WaitQueue<T> {
  readonly length: number
  /** Adds `value`; `priority` may order it (higher first) or be ignored by a FIFO. */
  push(value: T, priority: number): QueueHandle
  /** Puts `value` back at the front of its priority (a checkout whose worker failed validation). */
  unshift(value: T, priority: number): QueueHandle
  /** Removes and returns the value to serve next. */
  shift(): T | undefined
  /** Removes a value by its handle; harmless if it already left. */
  remove(handle: QueueHandle): void
  /** Removes and returns every value, in serving order. */
  drain(): T[]
}
