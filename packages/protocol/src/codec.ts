/**
 * CBOR encoding of messages and frames.
 *
 * A frame (one WebSocket binary message) carries a CBOR sequence of one or more messages, so a
 * burst of calls or replies costs one frame and one write. Decoding uses cbor-x's no-eval build:
 * the default build compiles record readers with `new Function` from peer-chosen keys, a path no
 * data from a peer should reach.
 */
import { Decoder, Encoder } from 'cbor-x/index-no-eval'
import { Limits } from './constants.js'
import { ProtocolError } from './errors.js'

const cborOptions = {
  useRecords: false,
  mapsAsObjects: true,
  // Tag 259 keeps a Map a Map and a plain object a plain object across the wire.
  useTag259ForMaps: true,
  tagUint8Array: false,
  // Binary values are views into the received frame: no copy for large payloads.
  copyBuffers: false,
} as const

export class Codec {
  readonly #encoder = new Encoder(cborOptions)
  readonly #decoder = new Decoder(cborOptions)
  readonly maxBatch: number

  constructor(options: { maxBatch?: number } = {}) {
    this.maxBatch = options.maxBatch ?? Limits.maxBatch
  }

  /**
   * Encodes one message. The returned buffer stays valid after later calls (cbor-x never writes over
   * bytes it handed out), so callers may queue it and send it later as part of a batch.
   */
  encode(message: unknown): Buffer {
    return this.#encoder.encode(message) as Buffer
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
      messages = this.#decoder.decodeMultiple(data) as unknown[]
    } catch (error) {
      throw new ProtocolError(`malformed frame: ${(error as Error).message}`, { cause: error })
    }
    if (messages.length > this.maxBatch)
      throw new ProtocolError(`malformed frame: ${messages.length} messages, more than the limit of ${this.maxBatch}`)
    return messages
  }
}
