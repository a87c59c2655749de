/** Length-prefixed messages (4-byte big-endian length, then the bytes) for the raw-socket baseline. */

/** The two buffers that send `body`: its length, then itself. */
export function lengthPrefix(body: Buffer): [Buffer, Buffer] {
  const head = Buffer.allocUnsafe(4)
  head.writeUInt32BE(body.length, 0)
  return [head, body]
}

/** Cuts a byte stream into the messages it carries, keeping a partial message for the next chunk. */
export class LengthPrefixed {
  #pending: Buffer = Buffer.alloc(0)

  /** The complete messages in what has arrived so far. */
  push(chunk: Buffer): Buffer[] {
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    const out: Buffer[] = []
    let offset = 0
    while (buffer.length - offset >= 4) {
      const length = buffer.readUInt32BE(offset)
      if (buffer.length - offset - 4 < length) break
      out.push(buffer.subarray(offset + 4, offset + 4 + length))
      offset += 4 + length
    }
    buffer = buffer.subarray(offset)
    // a copy, so that a small remainder does not keep a large chunk alive
    this.#pending = buffer.length === 0 ? Buffer.alloc(0) : Buffer.from(buffer)
    return out
  }
}
