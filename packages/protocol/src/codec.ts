/**
 * CBOR encoding of messages and frames.
 *
 * A frame (one WebSocket binary message) carries a CBOR sequence of one or more messages, so a
 * burst of calls or replies costs one frame and one write. Decoding uses cbor-x's no-eval build:
 * the default build compiles record readers with `new Function` from peer-chosen keys, a path no
 * data from a peer should reach.
 *
 * cbor-x does the work; cbor-scan.ts closes its gaps with the wire rules of docs/protocol.md
 * ("CBOR conventions"): integers within ±(2^53-1) are numbers whatever their encoded size, bigints
 * are always bignums, lone surrogates are sent as U+FFFD, and a frame is checked for depth, message
 * count and indefinite-length strings before cbor-x, which recurses, decodes it.
 */
import { cborX } from './commonjs.js'
import { FrameScan, fixEncoded, int64AsFloats, scanFrame } from './cbor-scan.js'
import { Limits } from './constants.js'
import { ProtocolError, UnencodableError } from './errors.js'
import type { FrameBuffer } from './frame-buffer.js'
import { writeSimpleMessage } from './simple-encoder.js'
import { decodeSimpleFrame } from './simple-decoder.js'

const { Decoder, Encoder } = cborX

const cborOptions = {
  useRecords: false,
  mapsAsObjects: true,
  // Tag 259 keeps a Map a Map and a plain object a plain object across the wire.
  useTag259ForMaps: true,
  tagUint8Array: false,
  // Binary values are views into the received frame: no copy for large payloads.
  copyBuffers: false,
} as const

/**
 * Deepest nesting a Codec may be configured to accept: cbor-x decodes recursively, and past about
 * a thousand Maps (two levels each) it exhausts a default Node stack.
 */
export const maxConfigurableDepth = 1024

/** Limits of a {@link Codec}. */
export interface CodecOptions {
  /** Most messages in one frame. Default Limits.maxBatch (4096). */
  maxBatch?: number
  /**
   * Deepest nesting of arrays, maps and tags in a received message, its own array counting as
   * level 1. Default Limits.maxDepth (512); at most 1024.
   */
  maxDepth?: number
}

/**
 * Encodes and decodes forkd messages: CBOR (cbor-x), several messages per frame as a CBOR sequence.
 * Decoding checks the frame against the limits and hands back plain data; {@link checkWorkerMessage}
 * and {@link checkClientMessage} then check each message's shape.
 */
export class Codec {
  readonly #encoder = new Encoder(cborOptions)
  readonly #decoder = new Decoder(cborOptions)
  /** For frames whose 8-byte integers are all safe: decodes them as numbers, without a copy. */
  // int64AsNumber is documented in cbor-x's README but missing from its Options type
  readonly #int64Decoder = new Decoder({ ...cborOptions, int64AsNumber: true } as typeof cborOptions)
  readonly #scan: FrameScan
  /** Most messages accepted in one frame. */
  readonly maxBatch: number
  /** Deepest nesting accepted in a received message. */
  readonly maxDepth: number

  constructor(options: CodecOptions = {}) {
    this.maxBatch = options.maxBatch ?? Limits.maxBatch
    this.maxDepth = options.maxDepth ?? Limits.maxDepth
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1)
      throw new TypeError(`forkd Codec: option "maxBatch" must be an integer ≥ 1, got ${String(this.maxBatch)}`)
    if (!Number.isInteger(this.maxDepth) || this.maxDepth < 1 || this.maxDepth > maxConfigurableDepth)
      throw new TypeError(`forkd Codec: option "maxDepth" must be an integer from 1 to ${maxConfigurableDepth}, got ${String(this.maxDepth)}`)
    this.#scan = new FrameScan(this.maxDepth)
  }

  /**
   * Encodes one message. The returned buffer stays valid after later calls (cbor-x never writes over
   * bytes it handed out), so callers may queue it and send it later as part of a batch.
   * Throws UnencodableError when the message would nest deeper than `maxDepth` (a peer would refuse
   * it); `assertEncodable` says the same earlier, naming the place, and catches cycles, which
   * cbor-x itself would follow until the stack runs out.
   */
  encode(message: unknown): Buffer {
    const encoded = this.#encoder.encode(message) as Buffer
    try {
      return fixEncoded(encoded, this.#scan)
    } catch (error) {
      throw new UnencodableError(`cannot encode the message: ${(error as Error).message}`, { cause: error })
    }
  }

  /**
   * Encodes one message at the end of the frame `out` is building. A message of strings, numbers,
   * booleans, null, undefined and arrays is written there directly (simple-encoder.ts) and null is
   * returned; any other goes through {@link encode}, whose buffer is returned for the caller to
   * place, with `out.pos` where it was. Throws as `encode` does, then too with `out.pos` unchanged.
   */
  encodeInto(message: readonly unknown[], out: FrameBuffer): Buffer | null {
    // An offset into the frame, not into the chunk, which may be replaced while writing.
    const at = out.pending
    if (writeSimpleMessage(message, out, this.maxDepth)) return null
    out.pos = out.start + at
    return this.encode(message)
  }

  /** Joins encoded messages into one frame. */
  frame(encoded: readonly Buffer[]): Buffer {
    return encoded.length === 1 ? encoded[0]! : Buffer.concat(encoded as Buffer[])
  }

  /** Decodes a frame into its messages; any defect becomes a ProtocolError. */
  decodeFrame(data: Buffer): unknown[] {
    if (data.length === 0) throw new ProtocolError('malformed frame: empty')
    let messages: unknown[]
    try {
      const scan = this.#scan
      scanFrame(data, this.maxBatch, scan)
      if (scan.safeInt64Count === 0) messages = decodeSimpleFrame(data) ?? this.#decoder.decodeMultiple(data) as unknown[]
      else if (!scan.unsafeInt64) messages = this.#int64Decoder.decodeMultiple(data) as unknown[]
      else messages = this.#decoder.decodeMultiple(int64AsFloats(data, scan.safeInt64At, scan.safeInt64Count)) as unknown[]
    } catch (error) {
      throw new ProtocolError(`malformed frame: ${(error as Error).message}`, { cause: error })
    }
    return messages
  }
}

