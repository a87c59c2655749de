import { describe, expect, it } from 'vitest'
import { Codec, Limits, ProtocolError, UnencodableError, assertEncodable, checkClientMessage, checkWorkerMessage } from '@forkd/protocol'

/** A value of `levels` nested arrays around a 0: its outermost array is at the level it is put at. */
const arrays = (levels: number): unknown => (levels === 0 ? 0 : [arrays(levels - 1)])
const maps = (levels: number): unknown => (levels === 0 ? 0 : new Map([[1, maps(levels - 1)]]))
/** [Set {Map {1 => `levels` arrays around 5n}}]: a result whose deepest item is the bigint's tag, at level levels + 7. */
const setOfMapOfBigint = (levels: number): unknown => {
  let inner: unknown = 5n
  for (let i = 0; i < levels; i++) inner = [inner]
  return [new Set([new Map([[1, inner]])])]
}

describe('checkClientMessage', () => {
  it.each([0, 1, 2, 3])('accepts call flags %d', (flags) => {
    expect(checkClientMessage([1, 1, 0, 'm', [], flags])).toEqual([1, 1, 0, 'm', [], flags])
  })

  it.each([4, 8, 0x80, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1])('refuses call flags %d: only bits 1 and 2 are defined', (flags) => {
    expect(() => checkClientMessage([1, 1, 0, 'm', [], flags])).toThrow(new ProtocolError(`malformed message: call flags ${flags} set bits other than 1 (logs) and 2 (events)`))
  })

  it.each([-1, 1.5, 2n, '1', null])('refuses call flags %s of the wrong type', (flags) => {
    expect(() => checkClientMessage([1, 1, 0, 'm', [], flags])).toThrow('malformed message: call must be [1, id, epoch, method|null, args[], flags]')
  })

  it('accepts any id and epoch up to 2^53-1, in any order, and refuses larger ones (bigints)', () => {
    for (const id of [0, 7, 3, 2 ** 40, Number.MAX_SAFE_INTEGER]) expect(checkClientMessage([1, id, id, null, [], 0])[1]).toBe(id)
    const [big] = new Codec().decodeFrame(Buffer.from('86 01 1b0020000000000000 00 f6 80 00'.replace(/ /g, ''), 'hex'))
    expect(() => checkClientMessage(big)).toThrow(ProtocolError)
  })
})

describe('done and done-ack (stats)', () => {
  it.each([[[4]], [[4, 0]], [[4, 1]]])('accepts done %j', (done) => {
    expect(checkClientMessage(done)).toEqual(done)
  })

  it.each([2, 3, 2 ** 32])('refuses done flags %d: only bit 1 (stats) is defined', (flags) => {
    expect(() => checkClientMessage([4, flags])).toThrow(new ProtocolError(`malformed message: done flags ${flags} set bits other than 1 (stats)`))
  })

  it.each([[[4, -1]], [[4, 1.5]], [[4, '1']], [[4, null]], [[4, 1, 0]]])('refuses the done %j', (done) => {
    expect(() => checkClientMessage(done)).toThrow(new ProtocolError('malformed message: done must be [4] or [4, flags]'))
  })

  it('accepts a done-ack with or without stats, and refuses stats without an unsigned rss', () => {
    expect(checkWorkerMessage([5, null])).toEqual([5, null])
    expect(checkWorkerMessage([5, null, { rss: 61_000_000 }])).toEqual([5, null, { rss: 61_000_000 }])
    expect(checkWorkerMessage([5, null, { rss: 1, later: 'ignored' }])).toEqual([5, null, { rss: 1, later: 'ignored' }])
    const error = { name: 'Error', message: 'rollback failed', kind: 'checkout-done' }
    expect(checkWorkerMessage([5, error, { rss: 5 }])).toEqual([5, error, { rss: 5 }])
    for (const bad of [[5, null, {}], [5, null, { rss: -1 }], [5, null, { rss: '5' }], [5, null, null], [5, null, [1]], [5, null, { rss: 1 }, 0]])
      expect(() => checkWorkerMessage(bad)).toThrow(new ProtocolError('malformed message: done-ack must be [5, error|null] or [5, error|null, {rss}]'))
  })
})

describe('hello', () => {
  const hello = { v: 1, pid: 5, id: 1, name: '', serverPid: 4, checkoutDone: false }

  it('accepts a concurrency of 1 or more, and no concurrency at all (a worker that predates it)', () => {
    expect(checkWorkerMessage([0, hello])).toEqual([0, hello])
    expect(checkWorkerMessage([0, { ...hello, concurrency: 1 }])[1]).toMatchObject({ concurrency: 1 })
    expect(checkWorkerMessage([0, { ...hello, concurrency: 16 }])[1]).toMatchObject({ concurrency: 16 })
  })

  it.each([0, -1, 1.5, '2', null])('refuses concurrency %j', (concurrency) => {
    expect(() => checkWorkerMessage([0, { ...hello, concurrency }])).toThrow(new ProtocolError('malformed message: hello must be [0, {v, pid, id, name, serverPid, checkoutDone, concurrency?, maxPayload?}]'))
  })
})

describe('checkWorkerMessage: hello', () => {
  const hello = { v: 1, pid: 10, id: 1, name: '', serverPid: 9, checkoutDone: false }

  it('accepts a hello with maxPayload, and one without it (a worker from before the field)', () => {
    expect(checkWorkerMessage([0, { ...hello, maxPayload: 4096 }])).toEqual([0, { ...hello, maxPayload: 4096 }])
    expect(checkWorkerMessage([0, hello])).toEqual([0, hello])
  })

  it('ignores keys it does not know', () => {
    expect(checkWorkerMessage([0, { ...hello, later: 'x' }])[1]).toMatchObject(hello)
  })

  it.each([0, -1, 1.5, '4096', null])('refuses maxPayload %s', (maxPayload) => {
    expect(() => checkWorkerMessage([0, { ...hello, maxPayload }])).toThrow(/^malformed message: hello maxPayload must be an integer ≥ 1, got /)
  })
})

describe('protocol error messages', () => {
  it('name a peer-chosen string in short ASCII, so a close reason made from them fits a close frame', () => {
    let message = ''
    try {
      checkClientMessage(['€'.repeat(100)])
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toBe(`malformed message: unknown client message type "${'\\u20ac'.repeat(24)}..."`)
    expect(Buffer.byteLength(message.slice(0, 120))).toBeLessThanOrEqual(123)
  })
})

describe('assertEncodable', () => {
  it(`lets a value reach level ${Limits.maxDepth} of its message and no further (a call's arguments start at level 2)`, () => {
    expect(() => assertEncodable(arrays(Limits.maxDepth - 1))).not.toThrow()
    expect(() => assertEncodable(arrays(Limits.maxDepth))).toThrow(new UnencodableError(
      `value nested too deep at ${'[0]'.repeat(Limits.maxDepth - 1)}: a message may nest arrays, maps and tags at most ${Limits.maxDepth} levels deep (is it cyclic?)`))
  })

  it('counts a Map and a Set as two levels (tag and container), a bigint and a Date as one, binary as none', () => {
    expect(() => assertEncodable(maps(255))).not.toThrow()
    expect(() => assertEncodable(maps(256))).toThrow(UnencodableError)
    expect(() => assertEncodable([arrays(509), new Set([1])])).not.toThrow()
    const deepest = (leaf: unknown) => {
      let value: unknown = leaf
      for (let i = 0; i < Limits.maxDepth - 1; i++) value = [value]
      return value
    }
    // the innermost array is at level 512: a leaf inside it adds a level only if it is tagged
    expect(() => assertEncodable(deepest(Buffer.alloc(4)))).not.toThrow()
    expect(() => assertEncodable(deepest('text'))).not.toThrow()
    expect(() => assertEncodable(deepest(5n))).toThrow(UnencodableError)
    expect(() => assertEncodable(deepest(new Date(0)))).toThrow(UnencodableError)
    expect(() => assertEncodable(deepest(new Float64Array(1)))).toThrow(UnencodableError)
  })

  it('agrees exactly with the decoder: what it accepts a peer decodes, one level more the peer refuses', () => {
    const codec = new Codec()
    const call = (arg: unknown) => [1, 1, 0, 'm', [arg], 0]
    const ok = (value: unknown) => [2, 1, value]
    // [message, value checked, fits]: a call's argument sits one level below a result
    const cases: [unknown[], unknown, boolean][] = [
      [call(arrays(510)), [arrays(510)], true], [call(arrays(511)), [arrays(511)], false],
      [ok(arrays(511)), arrays(511), true], [ok(arrays(512)), arrays(512), false],
      [ok([maps(255)]), [maps(255)], true], [ok(maps(256)), maps(256), false],
      [ok([new Set([arrays(508)])]), [new Set([arrays(508)])], true], [ok([new Set([arrays(509)])]), [new Set([arrays(509)])], false],
      [ok(setOfMapOfBigint(505)), setOfMapOfBigint(505), true], [ok(setOfMapOfBigint(506)), setOfMapOfBigint(506), false],
    ]
    for (const [message, value, fits] of cases) {
      if (fits) {
        expect(() => assertEncodable(value)).not.toThrow()
        expect(codec.decodeFrame(codec.encode(message))).toHaveLength(1)
      } else {
        expect(() => assertEncodable(value)).toThrow(UnencodableError)
        expect(() => codec.decodeFrame(codec.encode(message))).toThrow(`nested deeper than ${Limits.maxDepth} levels`)
      }
    }
  })

  it('names where the unencodable value sits, in arrays, objects, maps and sets', () => {
    expect(() => assertEncodable({ a: [1, () => 1] })).toThrow(new UnencodableError('cannot encode a function at a[1]'))
    expect(() => assertEncodable([new Map([['k', { s: Symbol('x') }]])])).toThrow(new UnencodableError('cannot encode a symbol at [0].get("k").s'))
    expect(() => assertEncodable(new Set([new URL('http://x')]))).toThrow(/^cannot encode an instance of URL at <item>: only plain objects/)
    expect(() => assertEncodable(() => 1)).toThrow(new UnencodableError('cannot encode a function at the top level'))
  })

  it('reports a cycle as nesting too deep', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => assertEncodable(cyclic)).toThrow(/value nested too deep at self\.self\.self.*\(is it cyclic\?\)/)
  })
})
