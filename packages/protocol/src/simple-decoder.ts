/**
 * The decoder for the frames most calls and replies make: messages that are arrays of ASCII
 * strings, integers below 2^32, doubles, booleans, null and undefined (what simple-encoder.ts
 * writes). It gives exactly what cbor-x would (a unit test compares the two on random frames).
 *
 * Why not leave it to cbor-x: cbor-x builds each string of 16 to 64 bytes from an array of its
 * character codes, about 150 bytes of garbage per string, and a burst of pipelined calls is mostly
 * such strings. Here an ASCII string is one native slice (or, when short, a few characters joined).
 *
 * Anything else in a frame (a map, binary data, a tag, a non-ASCII string, an 8-byte integer, a
 * float of another width, deeper nesting) makes it give up on the whole frame, and the Codec
 * decodes that frame with cbor-x. It runs after `scanFrame`, which has already refused malformed
 * frames; it still checks every length against the frame's end.
 */

/** Nesting the simple decoder handles (a message's array is level 1); deeper goes to cbor-x. */
const maxSimpleDepth = 8
/** Up to this length a string is joined from its characters in JS; longer ones are a native slice. */
const joinedString = 12

/** Thrown to give up on a frame; never escapes `decodeSimpleFrame`. */
const giveUp = Symbol('not a simple frame')

const emptyFrame = Buffer.alloc(0)
/** The frame being decoded and where in it: one decoder runs at a time, and never re-enters. */
let src: Buffer = emptyFrame
let pos = 0
let end = 0

/**
 * Decodes the messages of `frame`, or returns undefined when it holds anything this decoder leaves
 * to cbor-x. `frame` must have passed `scanFrame`.
 */
export function decodeSimpleFrame(frame: Buffer): unknown[] | undefined {
  src = frame
  pos = 0
  end = frame.length
  const messages: unknown[] = []
  try {
    while (pos < end) {
      if (src[pos]! >>> 5 !== 4) return undefined
      messages.push(readItem(maxSimpleDepth))
    }
    return messages
  } catch (error) {
    if (error === giveUp) return undefined
    throw error
  } finally {
    src = emptyFrame
  }
}

/** The argument of the head at `pos` (its additional information `info`), moving `pos` past it. */
function readArgument(info: number): number {
  if (info < 24) return info
  let value: number
  switch (info) {
    case 24:
      if (pos + 1 > end) throw giveUp
      value = src[pos]!
      pos += 1
      return value
    case 25:
      if (pos + 2 > end) throw giveUp
      value = (src[pos]! << 8) | src[pos + 1]!
      pos += 2
      return value
    case 26:
      if (pos + 4 > end) throw giveUp
      value = src.readUInt32BE(pos)
      pos += 4
      return value
    default:
      // 8-byte arguments (the Codec's int64 rules), indefinite lengths and reserved values
      throw giveUp
  }
}

function readItem(depthLeft: number): unknown {
  const head = src[pos++]!
  const info = head & 0x1f
  switch (head >>> 5) {
    case 0:
      return readArgument(info)
    case 1:
      return -1 - readArgument(info)
    case 3:
      return readString(readArgument(info))
    case 4: {
      if (depthLeft === 0) throw giveUp
      const length = readArgument(info)
      // Every item takes a byte at least: a longer claim is a lie the scan would have caught.
      if (length > end - pos) throw giveUp
      // Sized at once: an array grown by push starts with room for 16 items.
      const array = new Array<unknown>(length)
      for (let i = 0; i < length; i++) array[i] = readItem(depthLeft - 1)
      return array
    }
    case 7:
      switch (head) {
        case 0xf4: return false
        case 0xf5: return true
        case 0xf6: return null
        case 0xf7: return undefined
        case 0xfb: {
          if (pos + 8 > end) throw giveUp
          const value = src.readDoubleBE(pos)
          pos += 8
          return value
        }
      }
      throw giveUp
    default:
      // byte strings, maps and tags
      throw giveUp
  }
}

function readString(length: number): string {
  const start = pos
  const stop = start + length
  if (stop > end) throw giveUp
  if (length <= joinedString) {
    let s = ''
    for (let i = start; i < stop; i++) {
      const c = src[i]!
      if (c >= 0x80) throw giveUp
      s += String.fromCharCode(c)
    }
    pos = stop
    return s
  }
  for (let i = start; i < stop; i++) if (src[i]! >= 0x80) throw giveUp
  pos = stop
  return src.toString('latin1', start, stop)
}
