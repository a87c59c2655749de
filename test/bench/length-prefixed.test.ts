import { describe, expect, it } from 'vitest'
import { LengthPrefixed, lengthPrefix } from '../../bench/baselines/length-prefixed.js'

const wire = (...bodies: string[]) => Buffer.concat(bodies.flatMap((b) => lengthPrefix(Buffer.from(b))))

describe('LengthPrefixed', () => {
  it('cuts one chunk into every message it holds', () => {
    expect(new LengthPrefixed().push(wire('a', 'bc', '')).map(String)).toEqual(['a', 'bc', ''])
  })

  it('keeps a message split across chunks, even inside its length', () => {
    const bytes = wire('hello', 'world!')
    const frames = new LengthPrefixed()
    expect(frames.push(bytes.subarray(0, 2))).toEqual([])
    expect(frames.push(bytes.subarray(2, 7)).map(String)).toEqual([])
    expect(frames.push(bytes.subarray(7, 12)).map(String)).toEqual(['hello'])
    expect(frames.push(bytes.subarray(12)).map(String)).toEqual(['world!'])
  })

  it('does not hand out views of a partial message that a later chunk could change', () => {
    const frames = new LengthPrefixed()
    const chunk = wire('abcd').subarray(0, 6)
    frames.push(chunk)
    chunk.fill(0)
    expect(frames.push(Buffer.from('cd')).map(String)).toEqual(['abcd'])
  })
})
