/**
 * The encoder for the messages most calls and replies are: arrays of strings, numbers, booleans,
 * null and undefined (`[1, id, epoch, "hash", ["secret"], 0]`, `[2, id, "ok"]`). It writes them
 * straight into the frame being built, with the bytes cbor-x followed by fixEncoded (cbor-scan.ts)
 * writes for them, so the wire is the same whichever encoder ran; a unit test compares the two.
 *
 * Anything else (objects, Maps, binary data, bigints, deep nesting) makes it give up, and the Codec
 * encodes the message with cbor-x instead. Giving up leaves the bytes written so far: the caller
 * rewinds `pos` to where the message began in the frame (`start` plus the frame's length before it).
 */
import type { FrameBuffer } from './frame-buffer.js'

/** Nesting the simple encoder handles (the message's array is level 1); deeper goes to cbor-x. */
const maxSimpleDepth = 8
/** Below this length a string is written by a JS loop; longer ones by Buffer's native UTF-8 encoder. */
const shortString = 64

const two32 = 0x1_0000_0000

/**
 * Writes `message` (one array) at `out.pos` if it holds only what this encoder handles, nesting at
 * most `maxDepth` levels; returns false otherwise, with `out.pos` somewhere past where it was.
 */
export function writeSimpleMessage(message: readonly unknown[], out: FrameBuffer, maxDepth: number): boolean {
  return writeArray(message, out, Math.min(maxDepth, maxSimpleDepth) - 1)
}

function writeArray(array: readonly unknown[], out: FrameBuffer, depthLeft: number): boolean {
  const length = array.length
  writeHead(out, 0x80, length)
  for (let i = 0; i < length; i++) if (!writeItem(array[i], out, depthLeft)) return false
  return true
}

function writeItem(value: unknown, out: FrameBuffer, depthLeft: number): boolean {
  switch (typeof value) {
    case 'string':
      writeString(value, out)
      return true
    case 'number':
      writeNumber(value, out)
      return true
    case 'boolean':
      writeByte(out, value ? 0xf5 : 0xf4)
      return true
    case 'undefined':
      writeByte(out, 0xf7)
      return true
    case 'object':
      if (value === null) {
        writeByte(out, 0xf6)
        return true
      }
      // A subclass or another realm's Array may encode differently: cbor-x decides those.
      if (depthLeft > 0 && Array.isArray(value) && value.constructor === Array) return writeArray(value, out, depthLeft - 1)
      return false
    default:
      return false
  }
}

function writeByte(out: FrameBuffer, byte: number): void {
  out.reserve(1)
  out.buf[out.pos++] = byte
}

/** A head (major type in the top 3 bits of `major`) with `n` in its shortest form. */
function writeHead(out: FrameBuffer, major: number, n: number): void {
  out.reserve(9)
  const buf = out.buf
  let pos = out.pos
  if (n < 24) buf[pos++] = major | n
  else if (n < 0x100) {
    buf[pos++] = major | 24
    buf[pos++] = n
  } else if (n < 0x1_0000) {
    buf[pos++] = major | 25
    buf[pos++] = n >>> 8
    buf[pos++] = n & 0xff
  } else if (n < two32) {
    buf[pos++] = major | 26
    buf.writeUInt32BE(n, pos)
    pos += 4
  } else {
    buf[pos++] = major | 27
    const high = Math.floor(n / two32)
    buf.writeUInt32BE(high, pos)
    buf.writeUInt32BE(n - high * two32, pos + 4)
    pos += 8
  }
  out.pos = pos
}

/** docs/protocol.md, "Integers": a safe integer in its shortest form (-0 as 0), any other number as a float64. */
function writeNumber(n: number, out: FrameBuffer): void {
  if (Number.isSafeInteger(n)) {
    if (n >= 0) writeHead(out, 0x00, n)
    else writeHead(out, 0x20, -1 - n)
    return
  }
  out.reserve(9)
  out.buf[out.pos] = 0xfb
  out.buf.writeDoubleBE(n, out.pos + 1)
  out.pos += 9
}

/** UTF-8, a lone surrogate as U+FFFD (docs/protocol.md, "Text"). */
function writeString(s: string, out: FrameBuffer): void {
  const length = s.length
  if (length < shortString) {
    // Most strings are ASCII: the head is then known before the bytes are written.
    out.reserve(2 + length)
    const buf = out.buf
    const headAt = out.pos
    let pos = headAt + (length < 24 ? 1 : 2)
    let i = 0
    for (; i < length; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      buf[pos++] = c
    }
    if (i === length) {
      if (length < 24) buf[headAt] = 0x60 | length
      else {
        buf[headAt] = 0x78
        buf[headAt + 1] = length
      }
      out.pos = pos
      return
    }
  }
  // Buffer's encoder writes U+FFFD for a lone surrogate, as the protocol asks.
  const bytes = Buffer.byteLength(s)
  writeHead(out, 0x60, bytes)
  out.reserve(bytes)
  out.pos += out.buf.write(s, out.pos, bytes, 'utf8')
}
