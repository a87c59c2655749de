/**
 * The outbox both ends write through: encoded messages are queued and sent as one frame (a CBOR
 * sequence), so a burst of calls or replies costs one WebSocket frame and one write.
 *
 * When a frame goes out:
 * - at the end of the current microtask checkpoint (`queue`), the usual case;
 * - at once when the outbox reaches the batch limits (messages or bytes), so one burst never becomes
 *   one huge frame;
 * - before a message that would make the frame larger than the peer's `maxPayload`
 *   (`maxFrameBytes`), and before any message of `maxBatchBytes` or more: messages that each fit
 *   never add up to a frame the peer refuses (1009), even when the peer's limit is not known;
 * - at the end of this turn of the event loop (`queueLazily`): a message that is not urgent (the
 *   client's `done`) then shares its frame with whatever the same turn queues next;
 * - when the writer is uncorked: a worker corks while it runs queued calls synchronously and sends
 *   all their replies in one frame when it stops, without a microtask per reply;
 * - on `flush()`.
 *
 * `discardUnsent()` drops what has not been sent. A client whose checkout became fatal (abort,
 * timeout) discards the calls it had not sent yet, so a call rejected before it reached the wire is
 * certain never to have run.
 */
import { Limits } from './constants.js'

/** Batch limits of a {@link FrameWriter}. */
export interface FrameWriterOptions {
  /** Most messages in one frame. Default Limits.maxBatch. */
  maxBatch?: number
  /** A frame is sent early once its messages reach this many bytes. Default 256 KiB. */
  maxBatchBytes?: number
  /**
   * The peer's `maxPayload`: messages are never put together into a frame larger than this (a
   * single larger message still goes alone; refusing it is the caller's business). Default
   * Infinity (unknown); see also {@link FrameWriter.setMaxFrameBytes}.
   */
  maxFrameBytes?: number
}

/** Flush a batch early past this size. */
const defaultMaxBatchBytes = 256 * 1024

/** The outbox of one connection: queues encoded messages and sends them as few frames (see the top of this file). */
export class FrameWriter {
  readonly #send: (frame: Buffer) => void
  readonly #maxBatch: number
  readonly #maxBatchBytes: number
  #maxFrameBytes: number
  #outbox: Buffer[] = []
  #bytes = 0
  #calls = 0
  #microtaskQueued = false
  #lazy: NodeJS.Immediate | undefined
  #corked = false

  /** `send` writes one frame; it is only called with a non-empty frame. */
  constructor(send: (frame: Buffer) => void, options: FrameWriterOptions = {}) {
    this.#send = send
    this.#maxBatch = options.maxBatch ?? Limits.maxBatch
    this.#maxBatchBytes = options.maxBatchBytes ?? defaultMaxBatchBytes
    this.#maxFrameBytes = options.maxFrameBytes ?? Infinity
  }

  /** Sets the peer's `maxPayload` once it is known (a client learns the worker's from its hello). */
  setMaxFrameBytes(bytes: number): void {
    this.#maxFrameBytes = bytes
  }

  /** Bytes queued and not yet sent. */
  get pendingBytes(): number {
    return this.#bytes
  }

  /** Messages queued and not yet sent. */
  get pendingMessages(): number {
    return this.#outbox.length
  }

  /**
   * Queues one encoded message, sent at the end of this microtask checkpoint (or earlier, see the
   * file header). `isCall` counts it for `discardUnsent`.
   */
  queue(encoded: Buffer, isCall = false): void {
    this.#push(encoded, isCall)
    if (this.#full()) this.flush()
    else if (!this.#microtaskQueued && !this.#corked) {
      this.#microtaskQueued = true
      queueMicrotask(() => {
        this.#microtaskQueued = false
        if (!this.#corked) this.flush()
      })
    }
  }

  /** Queues one encoded message to go out at the end of this turn of the event loop at the latest. */
  queueLazily(encoded: Buffer): void {
    this.#push(encoded, false)
    if (this.#full()) this.flush()
    else if (this.#lazy === undefined && !this.#microtaskQueued && !this.#corked) this.#lazy = setImmediate(() => this.flush())
  }

  /** Holds frames back until `uncork()`, except when the batch limits are reached. */
  cork(): void {
    this.#corked = true
  }

  /** Sends what was queued while corked. */
  uncork(): void {
    this.#corked = false
    this.flush()
  }

  /** Sends everything queued now, as one frame. */
  flush(): void {
    if (this.#lazy !== undefined) {
      clearImmediate(this.#lazy)
      this.#lazy = undefined
    }
    const outbox = this.#outbox
    if (outbox.length === 0) return
    this.#outbox = []
    this.#bytes = 0
    this.#calls = 0
    this.#send(outbox.length === 1 ? outbox[0]! : Buffer.concat(outbox))
  }

  /** Drops every message not yet sent; returns how many of them were calls. */
  discardUnsent(): number {
    const calls = this.#calls
    this.#outbox = []
    this.#bytes = 0
    this.#calls = 0
    if (this.#lazy !== undefined) {
      clearImmediate(this.#lazy)
      this.#lazy = undefined
    }
    return calls
  }

  #push(encoded: Buffer, isCall: boolean): void {
    // Sent ahead rather than joined: with this message the frame would pass the peer's limit, or
    // the message is large (so a frame of several messages stays under 2 × maxBatchBytes).
    if (this.#outbox.length > 0 && (this.#bytes + encoded.length > this.#maxFrameBytes || encoded.length >= this.#maxBatchBytes)) this.flush()
    this.#outbox.push(encoded)
    this.#bytes += encoded.length
    if (isCall) this.#calls++
  }

  #full(): boolean {
    return this.#outbox.length >= this.#maxBatch || this.#bytes >= this.#maxBatchBytes
  }
}
