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
import type { Codec } from './codec.js'
import { Limits } from './constants.js'
import { FrameBuffer } from './frame-buffer.js'

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

/**
 * The outbox of one connection: queues messages and sends them as few frames (see the top of this
 * file). The frame being built is one run of bytes (frame-buffer.ts): `queueMessage` encodes into
 * it, `queue` copies an encoded message into it, and a message of `maxBatchBytes` or more, which
 * goes alone anyway, is sent as it is, without a copy.
 */
export class FrameWriter {
  readonly #send: (frame: Buffer) => void
  readonly #maxBatch: number
  readonly #maxBatchBytes: number
  #maxFrameBytes: number
  readonly #out = new FrameBuffer()
  #messages = 0
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
    return this.#out.pending
  }

  /** Messages queued and not yet sent. */
  get pendingMessages(): number {
    return this.#messages
  }

  /**
   * Queues one encoded message, sent at the end of this microtask checkpoint (or earlier, see the
   * file header). `isCall` counts it for `discardUnsent`.
   */
  queue(encoded: Buffer, isCall = false): void {
    if (!this.#place(encoded, isCall)) this.#scheduled()
  }

  /**
   * Encodes `message` with `codec` and queues it as `queue` does, unless it encodes to more than
   * `maxBytes`: then nothing is queued. Returns its size in bytes either way. Throws what the codec
   * throws (UnencodableError), queuing nothing.
   */
  queueMessage(message: readonly unknown[], codec: Codec, isCall = false, maxBytes = Infinity): number {
    const out = this.#out
    const at = out.pending
    const encoded = codec.encodeInto(message, out)
    if (encoded !== null) {
      if (encoded.length <= maxBytes) this.queue(encoded, isCall)
      return encoded.length
    }
    const size = out.pending - at
    if (size > maxBytes) {
      out.pos -= size
      return size
    }
    this.#added(out.start + at, size, isCall)
    this.#scheduled()
    return size
  }

  /** Queues one encoded message to go out at the end of this turn of the event loop at the latest. */
  queueLazily(encoded: Buffer): void {
    if (this.#place(encoded, false)) return
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
    if (this.#messages === 0) return
    this.#messages = 0
    this.#calls = 0
    this.#send(this.#out.take())
  }

  /** Drops every message not yet sent; returns how many of them were calls. */
  discardUnsent(): number {
    const calls = this.#calls
    this.#out.discard()
    this.#messages = 0
    this.#calls = 0
    if (this.#lazy !== undefined) {
      clearImmediate(this.#lazy)
      this.#lazy = undefined
    }
    return calls
  }

  /** A message queued: sent at once when the frame is full, else at the end of the microtask checkpoint. */
  #scheduled(): void {
    if (this.#full()) this.flush()
    else if (!this.#microtaskQueued && !this.#corked) {
      this.#microtaskQueued = true
      queueMicrotask(() => {
        this.#microtaskQueued = false
        if (!this.#corked) this.flush()
      })
    }
  }

  /**
   * Puts an encoded message into the frame (a copy). One of `maxBatchBytes` or more would fill a
   * frame by itself: what was queued before it is sent, then it, as it is; returns true then.
   */
  #place(encoded: Buffer, isCall: boolean): boolean {
    if (encoded.length >= this.#maxBatchBytes) {
      this.flush()
      this.#send(encoded)
      return true
    }
    const out = this.#out
    out.append(encoded)
    this.#added(out.pos - encoded.length, encoded.length, isCall)
    return false
  }

  /** The message of `size` bytes written at `at` joins the frame, or starts the next one. */
  #added(at: number, size: number, isCall: boolean): void {
    const out = this.#out
    // Sent ahead rather than joined: with this message the frame would pass the peer's limit, or
    // the message is large (so a frame of several messages stays under 2 × maxBatchBytes).
    if (this.#messages > 0 && (at - out.start + size > this.#maxFrameBytes || size >= this.#maxBatchBytes)) {
      this.#messages = 0
      this.#calls = 0
      this.#send(out.take(at))
    }
    this.#messages++
    if (isCall) this.#calls++
  }

  #full(): boolean {
    return this.#messages >= this.#maxBatch || this.#out.pending >= this.#maxBatchBytes
  }
}
