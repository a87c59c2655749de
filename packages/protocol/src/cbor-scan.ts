/**
 * One pass over the item structure of encoded CBOR, without decoding it: no values are built and
 * nothing recurses, so a hostile frame costs a loop over its item heads, skipping string contents.
 *
 * Two uses, one per direction (codec.ts):
 * - before decoding a frame (`scanFrame`): the nesting depth limit, the message count limit and the
 *   refusal of indefinite-length strings are checked before cbor-x, which recurses, sees the bytes;
 *   the scan also reports which 8-byte integers the frame holds, so that those within ±(2^53-1)
 *   decode as numbers.
 * - after encoding (`fixEncoded`): cbor-x writes integers of 2^32 and above as floats, bigints that
 *   fit 64 bits as 8-byte integers, and lone surrogates of short strings as ill-formed UTF-8; the
 *   pass rewrites those items into what docs/protocol.md specifies.
 */

/** A structural defect of a frame; the codec turns it into a ProtocolError. */
export class CborScanError extends Error {}

/**
 * What a frame holds, as far as decoding it needs to know. One object per Codec, filled in again
 * by every scan: the hot path allocates nothing.
 */
export class FrameScan {
  /** Top-level items: the messages of the frame. */
  messages = 0
  /**
   * Offsets of the 8-byte integers (major type 0 or 1, additional information 27) within
   * ±(2^53-1), which must decode as numbers; `safeInt64Count` of them are valid.
   */
  readonly safeInt64At: number[] = []
  safeInt64Count = 0
  /** Whether an 8-byte integer beyond ±(2^53-1) occurs: it must decode as a bigint. */
  unsafeInt64 = false
  /**
   * The items still expected by each enclosing container, outermost first (negative for an
   * indefinite-length one, which only a break ends): scratch space for `maxDepth + 1` levels.
   * Int32, not Float64: the counts stay small integers and the scan about a sixth faster.
   */
  readonly outer: Int32Array

  constructor(readonly maxDepth: number) {
    this.outer = new Int32Array(maxDepth + 1)
  }
}

const two32 = 0x1_0000_0000
/** 2^53 - 1 split at bit 32: the high word of the largest safe integer. */
const maxSafeHigh = 0x1f_ffff

function fail(what: string): never {
  throw new CborScanError(what)
}

const tooDeep = (maxDepth: number) => fail(`nested deeper than ${maxDepth} levels (maxDepth)`)

/** The 32-bit big-endian unsigned integer at `at`. */
function read32(buf: Uint8Array, at: number): number {
  return buf[at]! * 0x100_0000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!)
}

/**
 * Checks a frame's structure into `scan`: at most `scan.maxDepth` levels of arrays, maps and tags
 * (a message's own array is level 1), at most `maxMessages` top-level items, no indefinite-length
 * strings, nothing truncated.
 *
 * The count of items the innermost container still expects lives in a local (`left`); the outer
 * containers' counts are stacked in `scan.outer` only when a container opens.
 */
export function scanFrame(buf: Uint8Array, maxMessages: number, scan: FrameScan): void {
  const end = buf.length
  // item counts are bounded by the frame's length, and must fit the Int32 scratch
  if (end > 0x7fff_ffff) fail('a frame of 2 GiB or more')
  const maxDepth = scan.maxDepth
  const outer = scan.outer
  let pos = 0
  let depth = 0
  let left = -1
  let messages = 0
  let safeInt64Count = 0
  let unsafeInt64 = false
  while (pos < end) {
    if (depth === 0 && ++messages > maxMessages) fail(`more than ${maxMessages} messages in one frame (maxBatch)`)
    const head = buf[pos++]!
    const major = head >> 5
    let arg = head & 0x1f
    if (arg >= 24) {
      if (arg === 24) arg = buf[pos++]!
      else if (arg === 25) {
        arg = (buf[pos]! << 8) | buf[pos + 1]!
        pos += 2
      } else if (arg === 26) {
        arg = read32(buf, pos)
        pos += 4
      } else if (arg === 27) {
        const high = read32(buf, pos)
        const low = read32(buf, pos + 4)
        if (major < 2) {
          // n is safe up to 2^53 - 1, -1 - n up to n = 2^53 - 2: the high word decides, but for one value
          if (high < maxSafeHigh || (high === maxSafeHigh && (major === 0 || low < 0xffff_ffff))) scan.safeInt64At[safeInt64Count++] = pos - 1
          else unsafeInt64 = true
        }
        arg = high * two32 + low
        pos += 8
      } else if (arg === 31) {
        if (major === 7) {
          // break: ends the innermost indefinite-length container, which is then a whole item
          if (depth === 0 || left >= 0) fail('break code outside an indefinite-length array or map')
          left = outer[depth--]!
          while (depth > 0 && --left === 0) left = outer[depth--]!
          continue
        }
        if (major !== 4 && major !== 5) fail(major === 2 || major === 3 ? 'indefinite-length byte or text string (not allowed)' : `indefinite length on major type ${major}`)
        if (++depth > maxDepth) tooDeep(maxDepth)
        outer[depth] = left
        left = -1
        continue
      } else fail(`reserved additional information ${arg}`)
      if (pos > end) fail('truncated item')
    }
    if (major >= 2) {
      if (major < 4) {
        if (arg > end - pos) fail('string longer than the frame')
        pos += arg
      } else if (major < 6) {
        if (arg !== 0) {
          // every item takes at least one byte
          if (major === 5) arg *= 2
          if (arg > end - pos) fail('array or map longer than the frame')
          if (++depth > maxDepth) tooDeep(maxDepth)
          outer[depth] = left
          left = arg
          continue
        }
      } else if (major === 6) {
        if (++depth > maxDepth) tooDeep(maxDepth)
        outer[depth] = left
        left = 1
        continue
      }
    }
    // a whole item ended: count it against its container, closing every container it completes
    while (depth > 0 && --left === 0) left = outer[depth--]!
  }
  if (depth !== 0) fail('truncated: a container is not complete')
  scan.messages = messages
  scan.safeInt64Count = safeInt64Count
  scan.unsafeInt64 = unsafeInt64
}

/**
 * A copy of `buf` in which the 8-byte integers at `offsets` are float64s of the same value (exact,
 * since they are safe integers, and of the same length): for a frame mixing safe and unsafe 8-byte
 * integers, which no single cbor-x option decodes right.
 */
export function int64AsFloats(buf: Uint8Array, offsets: readonly number[], count: number): Buffer {
  const copy = Buffer.from(buf)
  for (let i = 0; i < count; i++) {
    const at = offsets[i]!
    const n = copy.readUInt32BE(at + 1) * two32 + copy.readUInt32BE(at + 5)
    const value = copy[at] === 0x1b ? n : -1 - n
    copy[at] = 0xfb
    copy.writeDoubleBE(value, at + 1)
  }
  return copy
}

/**
 * Bytes fixEncoded looks for: 1 for the heads of 8-byte integers (0x1b, 0x3b) and of float64s
 * (0xfb), 2 for 0xED, the lead byte of a UTF-8-encoded surrogate.
 */
const interesting = new Uint8Array(256)
interesting[0x1b] = interesting[0x3b] = interesting[0xfb] = 1
interesting[0xed] = 2
/** Up to this size a byte loop decides whether fixEncoded has anything to do, before any parsing (measured: faster than parsing below about 48 bytes). */
const prefilterMax = 48
/** How far one search for an 0xED byte (the lead byte of a UTF-8-encoded surrogate) reads ahead. */
const surrogateWindow = 64 * 1024

/**
 * Rewrites, in a copy when lengths change, the items of cbor-x's output that docs/protocol.md
 * specifies differently (see the file comment), and checks that the message nests at most
 * `scan.maxDepth` levels of arrays, maps and tags (counting the tag each bigint becomes), so that
 * no peer's decoder has to refuse it. Returns `buf` itself when nothing needed a change, which is
 * the case for nearly every message. `scan` lends its scratch space.
 */
export function fixEncoded(buf: Buffer, scan: FrameScan): Buffer {
  const end = buf.length
  const maxDepth = scan.maxDepth
  const outer = scan.outer
  // Tiny messages: a byte loop answers "anything to do?" faster than parsing. Every level takes
  // at least one byte, so such a message cannot be too deep either.
  let surrogates = true
  if (end <= prefilterMax && end <= maxDepth) {
    let seen = 0
    for (let i = 0; i < end; i++) seen |= interesting[buf[i]!]!
    if (seen === 0) return buf
    surrogates = (seen & 2) !== 0
  }
  let pos = 0
  let depth = 0
  let left = -1
  /** No 0xED byte lies between the string being checked and this offset. */
  let clean = 0
  // bigints to rewrite as bignums: offsets of their 0x1b/0x3b heads
  let bignums: number[] | undefined
  while (pos < end) {
    const head = buf[pos++]!
    const major = head >> 5
    let arg = head & 0x1f
    if (arg >= 24) {
      if (arg === 24) arg = buf[pos++]!
      else if (arg === 25) {
        arg = (buf[pos]! << 8) | buf[pos + 1]!
        pos += 2
      } else if (arg === 26) {
        arg = read32(buf, pos)
        pos += 4
      } else if (arg === 27) {
        if (major === 7) {
          // only a float64 of magnitude 2^32..2^53 can be a safe integer cbor-x did not write as one
          const exponent = ((buf[pos]! & 0x7f) << 4) | (buf[pos + 1]! >> 4)
          if (exponent >= 1055 && exponent <= 1075) fixFloat(buf, pos - 1)
        } else if (major < 2) {
          // a bigint: it becomes a tag, one level below its container
          if (depth + 1 > maxDepth) tooDeep(maxDepth)
          ;(bignums ??= []).push(pos - 1)
        }
        // lengths beyond 2^32 cannot occur in a buffer cbor-x made
        arg = read32(buf, pos + 4)
        pos += 8
      } else if (arg === 31) {
        // cbor-x writes an iterable as an indefinite-length array, ended by 0xff
        if (major === 7) {
          left = outer[depth--]!
          while (depth > 0 && --left === 0) left = outer[depth--]!
        } else {
          if (++depth > maxDepth) tooDeep(maxDepth)
          outer[depth] = left
          left = -1
        }
        continue
      }
    }
    if (major === 3) {
      // cbor-x encodes strings shorter than 64 code units itself, a lone surrogate as 3 bytes of
      // ill-formed UTF-8 (ED A0-BF xx); longer ones go through Buffer, which writes U+FFFD already
      const to = pos + arg
      if (surrogates && arg < 190 && to > clean) {
        clean = nextSurrogateLead(buf, pos > clean ? pos : clean, end)
        if (clean < to) fixSurrogates(buf, clean, to)
      }
      pos = to
    } else if (major === 2) pos += arg
    else if ((major === 4 || major === 5) && arg !== 0) {
      if (++depth > maxDepth) tooDeep(maxDepth)
      outer[depth] = left
      left = major === 5 ? arg * 2 : arg
      continue
    } else if (major === 6) {
      if (++depth > maxDepth) tooDeep(maxDepth)
      outer[depth] = left
      left = 1
      continue
    }
    while (depth > 0 && --left === 0) left = outer[depth--]!
  }
  return bignums === undefined ? buf : rewriteBignums(buf, bignums)
}

/**
 * The offset of the next 0xED byte at or after `from`, or the end of the window searched when
 * there is none: native searches over a bounded window, so that a large binary value after a short
 * string is not read to its end for every string.
 */
function nextSurrogateLead(buf: Buffer, from: number, end: number): number {
  // a native call costs more than looking at a few bytes
  if (end - from <= 64) {
    for (let i = from; i < end; i++) if (buf[i] === 0xed) return i
    return end
  }
  if (end - from <= surrogateWindow) {
    const at = buf.indexOf(0xed, from)
    return at === -1 ? end : at
  }
  const at = buf.subarray(from, from + surrogateWindow).indexOf(0xed)
  return at === -1 ? from + surrogateWindow : from + at
}

/** Scratch for reading a big-endian float64 without Buffer's range checks. */
const float64 = new Float64Array(1)
const float64Bytes = new Uint8Array(float64.buffer)
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** A float64 holding a safe integer becomes that integer (same length: 0x1b/0x3b and 8 bytes). */
function fixFloat(buf: Buffer, at: number): void {
  for (let i = 0; i < 8; i++) float64Bytes[littleEndian ? 7 - i : i] = buf[at + 1 + i]!
  const value = float64[0]!
  if (!Number.isSafeInteger(value)) return
  const n = value >= 0 ? value : -1 - value
  const high = Math.floor(n / two32)
  const low = n - high * two32
  buf[at] = value >= 0 ? 0x1b : 0x3b
  buf[at + 1] = high >>> 24
  buf[at + 2] = (high >>> 16) & 0xff
  buf[at + 3] = (high >>> 8) & 0xff
  buf[at + 4] = high & 0xff
  buf[at + 5] = low >>> 24
  buf[at + 6] = (low >>> 16) & 0xff
  buf[at + 7] = (low >>> 8) & 0xff
  buf[at + 8] = low & 0xff
}

/** Lone surrogates in a short string's UTF-8 become U+FFFD (EF BF BD), like TextEncoder writes. */
function fixSurrogates(buf: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    if (buf[i] !== 0xed || buf[i + 1]! < 0xa0) continue
    buf[i] = 0xef
    buf[i + 1] = 0xbf
    buf[i + 2] = 0xbd
    i += 2
  }
}

/**
 * cbor-x writes a bigint that fits 64 bits as an 8-byte integer, which decodes as a number when it
 * is safe: a bignum (tag 2 or 3) keeps it a bigint across the wire, whatever its size.
 */
function rewriteBignums(buf: Buffer, heads: number[]): Buffer {
  const parts: Buffer[] = []
  let from = 0
  for (const at of heads) {
    parts.push(buf.subarray(from, at))
    let first = at + 1
    while (first < at + 9 && buf[first] === 0) first++
    const magnitude = buf.subarray(first, at + 9)
    parts.push(Buffer.from([buf[at] === 0x1b ? 0xc2 : 0xc3, 0x40 | magnitude.length]), magnitude)
    from = at + 9
  }
  parts.push(buf.subarray(from))
  return Buffer.concat(parts)
}
