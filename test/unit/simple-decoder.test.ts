/** The simple decoder against cbor-x: the same values for every frame it decodes, and no opinion on the rest. */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Decoder } from 'cbor-x'
import { Codec, MessageType } from '@forkd/protocol'
import { decodeSimpleFrame } from '../../packages/protocol/src/simple-decoder.js'

const codec = new Codec()
/** cbor-x as the Codec configures it, without the simple decoder in front. */
const cborX = new Decoder({ useRecords: false, mapsAsObjects: true, useTag259ForMaps: true, tagUint8Array: false, copyBuffers: false } as never)
const frameOf = (messages: unknown[][]) => Buffer.concat(messages.map((m) => codec.encode(m)))

const asciiStrings = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.integer({ min: 0, max: 70_000 }).map((n) => 'q'.repeat(n)),
)
const anyStrings = fc.oneof(asciiStrings, fc.string({ maxLength: 40 }), fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀'), maxLength: 30 }))
const numbers = fc.oneof(
  fc.integer(), fc.maxSafeInteger(), fc.double(),
  fc.constantFrom(0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 1.5, NaN, Infinity, -Infinity),
)
const plainLeaf = fc.oneof(asciiStrings, numbers, fc.boolean(), fc.constant(null), fc.constant(undefined))
const otherLeaf = fc.oneof(anyStrings, fc.constant({ a: 1 }), fc.constant(new Map([[1, 2]])), fc.constant(Buffer.from('xy')), fc.bigInt(), fc.constant(new Date(0)))
const valueOf = (leaf: fc.Arbitrary<unknown>) => fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 5 })),
})).value
const messagesOf = (leaf: fc.Arbitrary<unknown>) => fc.array(fc.array(valueOf(leaf), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 })

describe('decodeSimpleFrame', () => {
  it('decodes every frame of plain messages (ASCII strings, numbers, booleans, null, undefined, arrays) as cbor-x does', () => {
    let decoded = 0
    fc.assert(fc.property(messagesOf(plainLeaf), (messages) => {
      const frame = frameOf(messages)
      const mine = decodeSimpleFrame(frame)
      const theirs = cborX.decodeMultiple(frame) as unknown[]
      // it may give up (integers of 2^32 and more are 8-byte ones, nesting past 8 levels), never differ
      if (mine !== undefined) {
        decoded++
        expect(mine).toEqual(theirs)
        expect(mine.map((m) => (m as unknown[]).length)).toEqual(theirs.map((m) => (m as unknown[]).length))
      }
    }), { numRuns: 2000 })
    expect(decoded).toBeGreaterThan(300)
  })

  it('gives up on frames holding anything else, or agrees with cbor-x', () => {
    fc.assert(fc.property(messagesOf(fc.oneof(plainLeaf, otherLeaf)), (messages) => {
      const frame = frameOf(messages)
      const mine = decodeSimpleFrame(frame)
      if (mine !== undefined) expect(mine).toEqual(cborX.decodeMultiple(frame))
    }), { numRuns: 1000 })
  })

  it.each([
    ['a non-ASCII string', ['é']],
    ['a long non-ASCII string', ['x'.repeat(40) + '€']],
    ['an object', [{ a: 1 }]],
    ['a Map', [new Map()]],
    ['binary', [Buffer.from('x')]],
    ['an 8-byte integer', [2 ** 40]],
    ['a bigint', [5n]],
    ['a Date (a tag)', [new Date(0)]],
    ['nesting past eight levels', [[[[[[[[[1]]]]]]]]]],
  ])('leaves a frame with %s to cbor-x', (_, message) => {
    const frame = frameOf([[MessageType.Ok, 1, 'fine'], message as unknown[]])
    expect(decodeSimpleFrame(frame)).toBeUndefined()
    // and the Codec still decodes it, through cbor-x
    expect(codec.decodeFrame(frame)).toEqual([[MessageType.Ok, 1, 'fine'], message])
  })

  it('decodes a call and a reply frame as the Codec gives them', () => {
    const call = [MessageType.Call, 70_000, 3, 'hash', ['0123456789abcdef', 12, true, null, undefined, [1.5, -7]], 0]
    const reply = [MessageType.Ok, 70_000, 'a reply of more than twelve characters']
    expect(decodeSimpleFrame(frameOf([call, reply]))).toEqual([call, reply])
    expect(codec.decodeFrame(frameOf([call, reply]))).toEqual([call, reply])
  })

  it('never throws on bytes the scan accepts, and agrees with cbor-x whenever it decodes them', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
      const frame = Buffer.from(bytes)
      let scanned: unknown[]
      try {
        scanned = codec.decodeFrame(frame)
      } catch {
        return
      }
      const mine = decodeSimpleFrame(frame)
      if (mine !== undefined) expect(mine).toEqual(scanned)
      const theirs = cborX.decodeMultiple(frame)
      if (mine !== undefined) expect(mine).toEqual(theirs)
    }), { numRuns: 5000 })
  })

  it('gives up on a top-level item that is not an array, leaving its refusal to the validation', () => {
    expect(decodeSimpleFrame(codec.encode('text' as never))).toBeUndefined()
  })
})
