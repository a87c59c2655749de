import { describe, expect, it } from 'vitest'
import { toWireError } from '@forkd/protocol'

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8')

describe('toWireError', () => {
  it('keeps strings of up to 64 KiB of UTF-8 whole', () => {
    expect(toWireError(new Error('a'.repeat(65_536)), 'throw').message).toBe('a'.repeat(65_536))
    // 21 845 three-byte characters: 65 535 bytes
    expect(toWireError(new Error('€'.repeat(21_845)), 'throw').message).toBe('€'.repeat(21_845))
  })

  it('cuts a longer string at a character boundary to 65 533 bytes, then "…": 64 KiB of UTF-8 at most', () => {
    const ascii = toWireError(new Error('a'.repeat(70_000)), 'throw').message
    expect(ascii).toBe('a'.repeat(65_533) + '…')
    expect(utf8(ascii)).toBe(65_536)
    // 2-byte, 3-byte and 4-byte characters: never half a character, never a lone surrogate
    for (const char of ['é', '€', '😀']) {
      const cut = toWireError(new Error(char.repeat(40_000)), 'throw').message
      expect(cut.endsWith('…')).toBe(true)
      expect(cut.slice(0, -1)).toBe(char.repeat(Math.floor(65_533 / utf8(char))))
      expect(utf8(cut)).toBeLessThanOrEqual(65_536)
      expect(Buffer.from(cut).toString()).toBe(cut)
    }
  })

  it('cuts name, stack and data strings the same way', () => {
    const error = Object.assign(new Error('m'), { detail: 'd'.repeat(70_000) })
    error.name = 'N'.repeat(70_000)
    error.stack = 's'.repeat(70_000)
    const wire = toWireError(error, 'throw')
    expect([wire.name, wire.stack, wire.data?.detail].map((s) => utf8(s as string))).toEqual([65_536, 65_536, 65_536])
  })

  it('keeps own string, number, boolean and null properties in data and drops undefined, bigint, symbol, object and function ones', () => {
    const error = Object.assign(new Error('m'), {
      code: 'E_X', detail: 'd', status: 418, retry: false, hint: null,
      missing: undefined, big: 5n, sym: Symbol('s'), nested: { a: 1 }, fn: () => 1,
    })
    expect(toWireError(error, 'throw')).toMatchObject({ name: 'Error', message: 'm', code: 'E_X', kind: 'throw', data: { detail: 'd', status: 418, retry: false, hint: null } })
    expect(Object.keys(toWireError(error, 'throw').data!)).toEqual(['detail', 'status', 'retry', 'hint'])
  })

  it('keeps at most 32 data properties', () => {
    const error = Object.assign(new Error('m'), Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, i])))
    expect(Object.keys(toWireError(error, 'throw').data!)).toHaveLength(32)
  })

  it('keeps a string or number code and drops any other', () => {
    expect(toWireError(Object.assign(new Error('m'), { code: 23505 }), 'throw').code).toBe(23505)
    expect(toWireError(Object.assign(new Error('m'), { code: 5n }), 'throw')).not.toHaveProperty('code')
  })

  it.each([
    ['a string', 'just a string', { name: 'NonErrorThrown', message: 'just a string', kind: 'throw' }],
    ['undefined', undefined, { name: 'NonErrorThrown', message: 'undefined', kind: 'throw' }],
    ['a number', 42, { name: 'NonErrorThrown', message: '42', kind: 'throw' }],
    ['an object with a message', { message: 'an object', status: 418 }, { name: 'NonErrorThrown', message: 'an object', kind: 'throw', data: { status: 418 } }],
    ['an object without one', { status: 418 }, { name: 'NonErrorThrown', message: '{"status":418}', kind: 'throw', data: { status: 418 } }],
  ])('names a thrown %s NonErrorThrown', (_what, thrown, expected) => {
    expect(toWireError(thrown, 'throw')).toEqual(expected)
  })

  it('carries the kind it is given, uncaught included', () => {
    expect(toWireError(new Error('boom'), 'uncaught').kind).toBe('uncaught')
  })
})
