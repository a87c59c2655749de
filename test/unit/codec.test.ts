import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Codec, Limits, ProtocolError, UnencodableError } from '@forkd/protocol'

const codec = new Codec()
const hex = (value: unknown) => codec.encode(value).toString('hex')
const decodeHex = (h: string) => codec.decodeFrame(Buffer.from(h.replace(/\s+/g, ''), 'hex'))
/** A frame that nests `levels` arrays of one element around a 0, as one message. */
const nested = (levels: number) => Buffer.concat([Buffer.alloc(levels, 0x81), Buffer.from([0x00])])
function decodeError(frame: Buffer, with_ = codec): ProtocolError {
  try {
    with_.decodeFrame(frame)
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError)
    return error as ProtocolError
  }
  throw new Error(`frame ${frame.toString('hex').slice(0, 40)} decoded without an error`)
}

describe('Codec', () => {
  describe('integers', () => {
    it.each([
      [2 ** 32, '1b0000000100000000'],
      [2 ** 40, '1b0000010000000000'],
      [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
      [-(2 ** 32) - 1, '3b0000000100000000'],
      [-Number.MAX_SAFE_INTEGER, '3b001ffffffffffffe'],
      [1_763_900_000_123, '1b0000019ab0a2077b'],
    ])('encodes the safe integer %d as a CBOR integer (%s), not a float', (value, expected) => {
      expect(hex(value)).toBe(expected)
      expect(decodeHex(expected)).toEqual([value])
    })

    it.each([
      [0, '00'], [23, '17'], [24, '1818'], [2 ** 32 - 1, '1affffffff'], [-1, '20'], [-(2 ** 32), '3affffffff'],
    ])('keeps the shortest form for %d (%s)', (value, expected) => {
      expect(hex(value)).toBe(expected)
    })

    it.each([
      [2 ** 53, 'fb4340000000000000'],
      [1.5, 'fb3ff8000000000000'],
      [2 ** 32 + 0.5, 'fb41f0000000080000'],
      [1e300, 'fb7e37e43c8800759c'],
    ])('sends %d, not a safe integer, as a float', (value, expected) => {
      expect(hex(value)).toBe(expected)
      expect(decodeHex(expected)).toEqual([value])
    })

    it('decodes an 8-byte integer within ±(2^53-1) as a number, beyond as a bigint', () => {
      expect(decodeHex('1b001fffffffffffff')).toEqual([2 ** 53 - 1])
      expect(decodeHex('1b0020000000000000')).toEqual([2n ** 53n])
      expect(decodeHex('3b001ffffffffffffe')).toEqual([-(2 ** 53 - 1)])
      expect(decodeHex('3b001fffffffffffff')).toEqual([-(2n ** 53n)])
      expect(decodeHex('1bffffffffffffffff')).toEqual([2n ** 64n - 1n])
      expect(decodeHex('3bffffffffffffffff')).toEqual([-(2n ** 64n)])
      // not the shortest form, still an integer
      expect(decodeHex('1b0000000000000005')).toEqual([5])
      expect(typeof (decodeHex('1b0000010000000000')[0] as number)).toBe('number')
    })

    it('decodes a frame mixing safe and unsafe 8-byte integers exactly, without touching the frame', () => {
      const frame = Buffer.from('83 1b0000010000000000 1b1000000000000001 a1 61 6b 3b0000010000000000   82 1b0000000000000007 c24105'.replace(/\s+/g, ''), 'hex')
      const copy = Buffer.from(frame)
      expect(codec.decodeFrame(frame)).toEqual([[2 ** 40, 2n ** 60n + 1n, { k: -(2 ** 40) - 1 }], [7, 5n]])
      expect(frame.equals(copy)).toBe(true)
    })

    it('decodes safe 8-byte integers as numbers inside maps, Map keys, Sets and dates', () => {
      const [value] = decodeHex('a2 6161 1b0000010000000000 6162 d90103 a1 1b0000010000000000 6178') as [Record<string, unknown>]
      expect(value).toEqual({ a: 2 ** 40, b: new Map([[2 ** 40, 'x']]) })
      // 2200-01-01T00:00:00Z in whole epoch seconds, above 2^32
      const date = new Date('2200-01-01T00:00:00.000Z')
      expect(hex(date)).toBe('c11b00000001b09e1900')
      expect(codec.decodeFrame(codec.encode(date))).toEqual([date])
    })

    it('sends every bigint as a bignum (tag 2 or 3), so that it arrives as a bigint whatever its size', () => {
      expect(hex(5n)).toBe('c24105')
      expect(hex(0n)).toBe('c240')
      expect(hex(-1n)).toBe('c340')
      expect(hex(2n ** 64n - 1n)).toBe('c248ffffffffffffffff')
      expect(hex(-(2n ** 64n))).toBe('c348ffffffffffffffff')
      expect(hex(2n ** 70n)).toBe('c249400000000000000000')
      for (const value of [5n, 0n, -1n, 2n ** 40n, 2n ** 64n - 1n, -(2n ** 64n), 2n ** 70n, -(2n ** 70n)])
        expect(codec.decodeFrame(codec.encode([value]))).toEqual([[value]])
    })

    it('round-trips any mix of numbers and bigints with the types the mapping promises', () => {
      const int = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: true }))
      fc.assert(fc.property(fc.array(fc.oneof(int, fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }))), (values) => {
        const [back] = codec.decodeFrame(codec.encode(values)) as [unknown[]]
        // -0 is sent as the integer 0
        expect(back).toEqual(values.map((v) => (Object.is(v, -0) ? 0 : v)))
      }))
    })
  })

  describe('strings', () => {
    it.each([
      ['a lone high surrogate', 'a\ud800b', '6561efbfbd62'],
      ['a lone low surrogate', '\udc00', '63efbfbd'],
      ['a low surrogate before a high one', '\udc00\ud800', '66efbfbdefbfbd'],
    ])('sends %s as U+FFFD, like TextEncoder', (_what, value, expected) => {
      expect(hex(value)).toBe(expected)
      expect(decodeHex(expected)).toEqual([value.replace(/[\ud800-\udfff]/g, '\ufffd')])
    })

    it('sends lone surrogates as U+FFFD in long strings, in map keys and deep in large messages', () => {
      const long = 'x'.repeat(100) + '\ud800'
      expect(codec.decodeFrame(codec.encode(long))).toEqual(['x'.repeat(100) + '\ufffd'])
      expect(codec.decodeFrame(codec.encode({ ['k\udbff']: 1 }))).toEqual([{ 'k\ufffd': 1 }])
      const big = [Buffer.alloc(200_000, 0xed), 'tail \udfff', ...Array.from({ length: 3000 }, (_, i) => `row ${i}`), 'end \ud800']
      const [back] = codec.decodeFrame(codec.encode(big)) as [unknown[]]
      expect(back[1]).toBe('tail \ufffd')
      expect(back.at(-1)).toBe('end \ufffd')
      expect((back[0] as Buffer).every((b) => b === 0xed)).toBe(true)
    })

    it('leaves well-formed text alone, including surrogate pairs and U+D000..U+D7FF (0xED lead bytes)', () => {
      for (const s of ['ok 😀', '한국어 텍스트', '\ud7ff', '𝄞'.repeat(40), 'x'.repeat(70) + '한'])
        expect(codec.decodeFrame(codec.encode([s]))).toEqual([[s]])
      expect(hex('한')).toBe('63ed959c')
    })

    it('encodes every string, well-formed or not, as the UTF-8 TextEncoder writes', () => {
      const encoder = new TextEncoder()
      fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        const encoded = codec.encode(s)
        const utf8 = Buffer.from(encoder.encode(s))
        expect(encoded.subarray(encoded.length - utf8.length).equals(utf8)).toBe(true)
      }))
    })
  })

  describe('depth', () => {
    it(`accepts a message nested ${Limits.maxDepth} levels and refuses ${Limits.maxDepth + 1}, naming the limit`, () => {
      expect(codec.decodeFrame(nested(Limits.maxDepth))).toHaveLength(1)
      expect(decodeError(nested(Limits.maxDepth + 1)).message).toBe(`malformed frame: nested deeper than ${Limits.maxDepth} levels (maxDepth)`)
    })

    it('counts maps and tags as levels', () => {
      // 256 levels of tag 259 around a one-entry map
      const maps = (n: number) => Buffer.concat([Buffer.from('d90103a10a'.repeat(n), 'hex'), Buffer.from([0x00])])
      expect(codec.decodeFrame(maps(256))).toHaveLength(1)
      expect(decodeError(maps(257)).message).toContain('nested deeper than 512 levels')
      expect(decodeError(Buffer.concat([Buffer.alloc(600, 0xc6), Buffer.from([0])])).message).toContain('nested deeper than 512 levels')
    })

    it('refuses input far deeper than any stack before decoding it (no RangeError)', () => {
      for (const levels of [2_000, 100_000, 1_000_000]) expect(decodeError(nested(levels)).cause).not.toBeInstanceOf(RangeError)
      // indefinite-length arrays too
      expect(decodeError(Buffer.alloc(100_000, 0x9f)).message).toContain('nested deeper than 512 levels')
    })

    it('takes a configurable limit', () => {
      const shallow = new Codec({ maxDepth: 3 })
      expect(shallow.decodeFrame(nested(3))).toHaveLength(1)
      expect(decodeError(nested(4), shallow).message).toBe('malformed frame: nested deeper than 3 levels (maxDepth)')
      const deep = new Codec({ maxDepth: 1024 })
      expect(deep.decodeFrame(nested(1024))).toHaveLength(1)
    })

    it('never encodes a message its peer would refuse: one level too deep is an UnencodableError', () => {
      const value = (levels: number): unknown => (levels === 0 ? 0 : [value(levels - 1)])
      expect(codec.decodeFrame(codec.encode(value(Limits.maxDepth)))).toHaveLength(1)
      expect(() => codec.encode(value(Limits.maxDepth + 1))).toThrow(new UnencodableError(`cannot encode the message: nested deeper than ${Limits.maxDepth} levels (maxDepth)`))
      // a bigint is a tag: one level more than a number in its place
      let withBigint: unknown = 5n
      for (let i = 0; i < Limits.maxDepth - 1; i++) withBigint = [withBigint]
      expect(codec.decodeFrame(codec.encode(withBigint))).toHaveLength(1)
      expect(() => codec.encode([withBigint])).toThrow(UnencodableError)
      // a log record's fields, which nothing else checks: [6, id, level, time, message, fields]
      expect(() => codec.encode([6, 1, 'info', Date.now(), 'm', { deep: value(Limits.maxDepth) }])).toThrow(UnencodableError)
      const shallow = new Codec({ maxDepth: 3 })
      expect(shallow.encode([[[1]]]).toString('hex')).toBe('81818101')
      expect(() => shallow.encode([[[[1]]]])).toThrow(UnencodableError)
    })

    it.each([0, 1025, 1.5, NaN, '512'])('refuses maxDepth %s with a TypeError naming the option', (maxDepth) => {
      expect(() => new Codec({ maxDepth: maxDepth as number })).toThrow(new TypeError(`forkd Codec: option "maxDepth" must be an integer from 1 to 1024, got ${String(maxDepth)}`))
    })
  })

  describe('frames', () => {
    it('refuses indefinite-length byte and text strings, and accepts indefinite-length arrays and maps', () => {
      expect(decodeError(Buffer.from('5f4101ff', 'hex')).message).toBe('malformed frame: indefinite-length byte or text string (not allowed)')
      expect(decodeError(Buffer.from('827f6161ff', 'hex')).message).toBe('malformed frame: indefinite-length byte or text string (not allowed)')
      expect(decodeHex('9f 01 bf 6161 02 ff ff')).toEqual([[1, { a: 2 }]])
    })

    it(`refuses more than ${Limits.maxBatch} messages in one frame before decoding them`, () => {
      expect(codec.decodeFrame(Buffer.alloc(Limits.maxBatch, 0x80))).toHaveLength(Limits.maxBatch)
      expect(decodeError(Buffer.alloc(Limits.maxBatch + 1, 0x80)).message).toBe(`malformed frame: more than ${Limits.maxBatch} messages in one frame (maxBatch)`)
    })

    it.each([
      ['empty', '', 'malformed frame: empty'],
      ['truncated array', '8301', 'malformed frame: array or map longer than the frame'],
      ['unfinished indefinite-length array', '9f01', 'malformed frame: truncated: a container is not complete'],
      ['truncated head', '19', 'malformed frame: truncated item'],
      ['string beyond the frame', '6561', 'malformed frame: string longer than the frame'],
      ['array length beyond the frame', '9b00000000ffffffff00', 'malformed frame: array or map longer than the frame'],
      ['stray break', 'ff', 'malformed frame: break code outside an indefinite-length array or map'],
      ['reserved additional information', '1c', 'malformed frame: reserved additional information 28'],
      ['indefinite integer', '1f', 'malformed frame: indefinite length on major type 0'],
    ])('refuses a frame with %s', (_what, frame, message) => {
      expect(decodeError(Buffer.from(frame, 'hex')).message).toBe(message)
    })

    it('never lets anything but a ProtocolError out of decodeFrame', () => {
      fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        try {
          codec.decodeFrame(Buffer.from(bytes))
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError)
        }
      }), { numRuns: 5000 })
    })

    it('decodes a 1 MiB byte string as a view into the frame, not a copy', () => {
      const frame = codec.encode([2, 1, Buffer.alloc(1 << 20, 7)])
      const [[, , value]] = codec.decodeFrame(frame) as [[number, number, Buffer]]
      expect(value.length).toBe(1 << 20)
      expect(value.buffer).toBe(frame.buffer)
    })

    it('decodes a map key "__proto__" as "__proto_": no decoded map can change its prototype', () => {
      const [value] = decodeHex('a1 69 5f5f70726f746f5f5f 00') as [Record<string, unknown>]
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype)
      expect(Object.keys(value)).toEqual(['__proto_'])
    })

    it('round-trips what it encodes', () => {
      const json = fc.jsonValue({ maxDepth: 6 }).filter((v) => !JSON.stringify(v).includes('"__proto__"'))
      fc.assert(fc.property(fc.array(json, { minLength: 1, maxLength: 20 }), (messages) => {
        const frame = codec.frame(messages.map((m) => codec.encode(m)))
        expect(codec.decodeFrame(frame)).toEqual(messages.map((m) => JSON.parse(JSON.stringify(m)) as unknown))
      }))
    })
  })
})
