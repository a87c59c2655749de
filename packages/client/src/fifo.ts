/**
 * A FIFO with O(1) push, shift and removal of any entry by its node: the pending-checkout queue
 * must not cost time linear in its length when a waiting checkout times out (a pool whose queue
 * removal is linear degrades quadratically under a surge for exactly that reason).
 */
import type { QueueHandle, WaitQueue } from './wait-queue.js'

export interface FifoNode<T> extends QueueHandle {
  readonly value: T
  prev: FifoNode<T> | null
  next: FifoNode<T> | null
  linked: boolean
}

/** First come, first served; ignores priorities. */
export class Fifo<T> implements WaitQueue<T> {
  #head: FifoNode<T> | null = null
  #tail: FifoNode<T> | null = null
  #length = 0

  get length(): number {
    return this.#length
  }

  push(value: T, _priority = 0): FifoNode<T> {
    const node: FifoNode<T> = { value, prev: this.#tail, next: null, linked: true }
    if (this.#tail === null) this.#head = node
    else this.#tail.next = node
    this.#tail = node
    this.#length++
    return node
  }

  unshift(value: T, _priority = 0): FifoNode<T> {
    const node: FifoNode<T> = { value, prev: null, next: this.#head, linked: true }
    if (this.#head === null) this.#tail = node
    else this.#head.prev = node
    this.#head = node
    this.#length++
    return node
  }

  shift(): T | undefined {
    const node = this.#head
    if (node === null) return undefined
    this.remove(node)
    return node.value
  }

  /** Removes a node; harmless if it was already removed. */
  remove(handle: QueueHandle): void {
    const node = handle as FifoNode<T>
    if (!node.linked) return
    node.linked = false
    if (node.prev === null) this.#head = node.next
    else node.prev.next = node.next
    if (node.next === null) this.#tail = node.prev
    else node.next.prev = node.prev
    node.prev = node.next = null
    this.#length--
  }

  /** Removes and returns every value, oldest first. */
  drain(): T[] {
    const values: T[] = []
    for (let v = this.shift(); v !== undefined; v = this.shift()) values.push(v)
    return values
  }
}
