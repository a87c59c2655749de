import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Codec, MessageType } from '@forkd/protocol'
import { FrameBuffer } from '../../packages/protocol/src/frame-buffer.js'
import { writeSimpleMessage } from '../../packages/protocol/src/simple-encoder.js'

const codec = new Codec()

/** What the simple encoder writes for `message`, or undefined when it gives up. */
function simple(message: unknown[], maxDepth = 512): Buffer | undefined {
  const out = new FrameBuffer()
  return writeSimpleMessage(message, out, maxDepth) ? Buffer.from(out.take()) : undefined
}

/** Strings with lone surrogates, astral characters, and lengths around the short-string and head-size edges. */
const strings = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '\ud800', '\udc00'), maxLength: 100 }),
  fc.integer({ min: 0, max: 70_000 }).map((n) => 'x'.repeat(n)),
)
const numbers = fc.oneof(
  fc.integer(), fc.maxSafeInteger(), fc.double(),
  fc.constantFrom(0, -0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53, -(2 ** 53), NaN, Infinity, -Infinity),
)
const leaf = fc.oneof(strings, numbers, fc.boolean(), fc.constant(null), fc.constant(undefined))
const value = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 5 })),
})).value

describe('writeSimpleMessage', () => {
  it('writes the bytes cbor-x and fixEncoded write, for any message of strings, numbers, booleans, null, undefined and arrays', () => {
    fc.assert(fc.property(fc.array(value, { maxLength: 8 }), (message) => {
      const mine = simple(message)
      // deeper than its own limit it gives up, which is allowed; otherwise the bytes must match
      if (mine !== undefined) expect(mine.toString('hex')).toBe(codec.encode(message).toString('hex'))
    }), { numRuns: 2000 })
  })

  it('writes a call and a reply as the Codec does, decoding to the same values', () => {
    const call = [MessageType.Call, 70_000, 3, 'hash', ['secret password', 12, true, null, undefined, [1.5, -7]], 0]
    expect(simple(call)!.toString('hex')).toBe(codec.encode(call).toString('hex'))
    expect(codec.decodeFrame(simple(call)!)).toEqual([call])
    expect(simple([MessageType.Ok, 1, 'ok'])!.toString('hex')).toBe('8302016' + '26f6b')
  })

  it('writes a lone surrogate as U+FFFD, in short and long strings', () => {
    expect(simple(['a\ud800'])!.toString('hex')).toBe('8164' + '61efbfbd')
    const long = 'y'.repeat(70) + '\udfff'
    expect(codec.decodeFrame(simple([long])!)).toEqual([['y'.repeat(70) + '\ufffd']])
  })

  it.each([
    ['an object', { a: 1 }],
    ['a Map', new Map()],
    ['a Buffer', Buffer.from('x')],
    ['a bigint', 5n],
    ['a Date', new Date(0)],
    ['an Array subclass', new (class Row extends Array {})()],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('gives up on %s, leaving it to cbor-x', (_name, v) => {
    expect(simple([MessageType.Ok, 1, [v]])).toBeUndefined()
  })

  it('gives up past the Codec\'s depth or its own, so that cbor-x and the depth check decide', () => {
    expect(simple([[[0]]], 3)).toBeDefined()
    expect(simple([[[0]]], 2)).toBeUndefined()
    let deep: unknown = 0
    for (let i = 0; i < 20; i++) deep = [deep]
    expect(simple([deep])).toBeUndefined()
  })
})

describe('FrameBuffer', () => {
  it('never writes again over bytes it handed out, when it grows', () => {
    const out = new FrameBuffer()
    out.append(Buffer.alloc(10, 1))
    const first = out.take()
    out.append(Buffer.alloc(5, 2))
    out.reserve(100_000)
    out.append(Buffer.alloc(100_000, 3))
    const second = out.take()
    expect(first.equals(Buffer.alloc(10, 1))).toBe(true)
    expect(second.length).toBe(100_005)
    expect(second.subarray(0, 5).equals(Buffer.alloc(5, 2))).toBe(true)
    expect(second[100_004]).toBe(3)
  })

  it('hands out a frame up to a point, keeping what follows as the start of the next frame', () => {
    const out = new FrameBuffer()
    out.append(Buffer.from([1, 2]))
    out.append(Buffer.from([3]))
    expect([...out.take(out.pos - 1)]).toEqual([1, 2])
    expect(out.pending).toBe(1)
    expect([...out.take()]).toEqual([3])
  })

  it('discards the frame being built, and keeps a small chunk once a grown one sends small frames again', () => {
    const out = new FrameBuffer()
    out.append(Buffer.alloc(200_000))
    out.take()
    expect(out.buf.length).toBeGreaterThanOrEqual(200_000)
    out.append(Buffer.from([7]))
    out.discard()
    expect(out.pending).toBe(0)
    out.append(Buffer.from([8]))
    expect([...out.take()]).toEqual([8])
    expect(out.buf.length).toBe(0)
  })
})
