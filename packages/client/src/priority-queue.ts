/**
 * The waiting queue with priorities: higher is served first, equal priorities first come, first
 * served. One FIFO per priority in use, and a max-heap of those priorities:
 *
 * - push: O(1), plus O(log p) the first time a priority is used (p = priorities in use);
 * - shift: O(1), plus O(log p) when its FIFO empties;
 * - remove (a timeout, an abort): O(1); a FIFO emptied that way leaves its priority in the heap,
 *   skipped by the next shift, and the heap is rebuilt if such entries ever outnumber the live ones.
 *
 * With every checkout at the default priority this is one FIFO and a one-entry heap.
 */
import { Fifo, type FifoNode } from './fifo.js'
import type { QueueHandle, WaitQueue } from './wait-queue.js'

interface PriorityHandle<T> extends QueueHandle {
  readonly node: FifoNode<T>
  readonly priority: number
}

export class PriorityQueue<T> implements WaitQueue<T> {
  readonly #buckets = new Map<number, Fifo<T>>()
  /** Max-heap of priorities; may hold priorities whose FIFO is gone (skipped, see above). */
  #heap: number[] = []
  #length = 0

  get length(): number {
    return this.#length
  }

  push(value: T, priority: number): QueueHandle {
    return this.#handle(this.#bucket(priority).push(value), priority)
  }

  /** Puts `value` first among its priority. */
  unshift(value: T, priority: number): QueueHandle {
    return this.#handle(this.#bucket(priority).unshift(value), priority)
  }

  #bucket(priority: number): Fifo<T> {
    let bucket = this.#buckets.get(priority)
    if (bucket === undefined) {
      bucket = new Fifo<T>()
      this.#buckets.set(priority, bucket)
      this.#heapPush(priority)
    }
    return bucket
  }

  #handle(node: FifoNode<T>, priority: number): QueueHandle {
    this.#length++
    const handle: PriorityHandle<T> = { node, priority, get linked() { return node.linked } }
    return handle
  }

  shift(): T | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!
      const bucket = this.#buckets.get(top)
      if (bucket === undefined || bucket.length === 0) {
        if (bucket !== undefined) this.#buckets.delete(top)
        this.#heapPop()
        continue
      }
      const value = bucket.shift()!
      this.#length--
      if (bucket.length === 0) {
        this.#buckets.delete(top)
        this.#heapPop()
      }
      return value
    }
    return undefined
  }

  remove(handle: QueueHandle): void {
    const { node, priority } = handle as PriorityHandle<T>
    if (!node.linked) return
    const bucket = this.#buckets.get(priority)!
    bucket.remove(node)
    this.#length--
    if (bucket.length === 0) {
      this.#buckets.delete(priority)
      if (this.#heap.length > 2 * this.#buckets.size + 16) this.#rebuild()
    }
  }

  drain(): T[] {
    const values: T[] = []
    while (this.#length > 0) values.push(this.shift()!)
    return values
  }

  #rebuild(): void {
    this.#heap = []
    for (const priority of this.#buckets.keys()) this.#heapPush(priority)
  }

  #heapPush(priority: number): void {
    const heap = this.#heap
    let i = heap.push(priority) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (heap[parent]! >= priority) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = priority
  }

  #heapPop(): void {
    const heap = this.#heap
    const last = heap.pop()!
    if (heap.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && heap[right]! > heap[left]! ? right : left
      if (heap[child]! <= last) break
      heap[i] = heap[child]!
      i = child
    }
    heap[i] = last
  }
}
