/**
 * The bytes of the frame a FrameWriter is building, written in place: messages are encoded (or
 * copied) one after the other into one chunk, so a frame is one view into it, not a list of
 * per-message buffers joined by a copy.
 *
 * The chunk is a bump allocator: bytes before `start` belong to frames already handed out, which
 * may still sit in a socket's queue, so they are never written again. A message that does not fit
 * moves the frame being built (`start` to `pos`) into a new, larger chunk.
 */

/** Smallest chunk; also the most a connection that sends little keeps (see {@link FrameBuffer.take}). */
export const minChunkBytes = 16 * 1024

const empty = Buffer.alloc(0)

/** Where the messages of the frame being built are written (see the top of this file). */
export class FrameBuffer {
  /** The chunk; replaced by `reserve` when a message does not fit. */
  buf: Buffer = empty
  /** Where the next byte goes. */
  pos = 0
  /** Where the frame being built begins. */
  start = 0

  /** Bytes of the frame being built. */
  get pending(): number {
    return this.pos - this.start
  }

  /** Makes room for `bytes` more bytes at `pos` (which may move: read `buf` and `pos` again after). */
  reserve(bytes: number): void {
    if (this.buf.length - this.pos >= bytes) return
    const pending = this.pos - this.start
    const next = Buffer.allocUnsafe(Math.max(minChunkBytes, 2 * (pending + bytes)))
    this.buf.copy(next, 0, this.start, this.pos)
    this.buf = next
    this.start = 0
    this.pos = pending
  }

  /** Appends a copy of `bytes`. */
  append(bytes: Uint8Array): void {
    this.reserve(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  /**
   * Hands out the bytes from `start` to `end` (default: everything written) as one frame; what
   * lies after `end` starts the next frame. A chunk grown for a burst is dropped once frames are
   * small again, so an idle connection keeps at most a small one.
   */
  take(end = this.pos): Buffer {
    const frame = this.buf.subarray(this.start, end)
    this.start = end
    if (this.start === this.pos && this.buf.length > 4 * minChunkBytes && frame.length * 8 < this.buf.length) {
      this.buf = empty
      this.start = this.pos = 0
    }
    return frame
  }

  /** Forgets the frame being built. */
  discard(): void {
    this.pos = this.start
  }
}
