/** Turning a thrown value into plain data that can cross the wire. */
import type { WireError, WireErrorKind } from './messages.js'

/** Most properties kept in `data`. */
export const maxDataKeys = 32
/** Longest string in a WireError, in bytes of UTF-8, the ellipsis of a cut string included. */
export const maxWireStringBytes = 64 * 1024

const ellipsis = '…'
/** A string of this many UTF-16 code units or fewer takes at most 3 bytes each: never cut. */
const neverCut = Math.floor(maxWireStringBytes / 3)

/**
 * A string cut to at most 64 KiB of UTF-8: its longest prefix of whole characters that fits in
 * 65 533 bytes, then `…` (3 bytes). Counted in UTF-8, not UTF-16 code units, so that every
 * implementation cuts at the same place.
 */
export function clip(s: string): string {
  if (s.length <= neverCut || Buffer.byteLength(s, 'utf8') <= maxWireStringBytes) return s
  const bytes = Buffer.from(s, 'utf8')
  let cut = maxWireStringBytes - Buffer.byteLength(ellipsis)
  // back up to the start of a character: continuation bytes are 10xxxxxx
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--
  return bytes.toString('utf8', 0, cut) + ellipsis
}

/**
 * Describes any thrown value (an Error, a string, an object, undefined...) as a WireError.
 * Own enumerable properties besides name/message/stack/code whose values are strings, numbers,
 * booleans or null are kept in `data` (at most 32), so details such as PostgreSQL's `detail` and
 * `constraint` reach the caller; properties holding undefined, a bigint, a symbol, an object or a
 * function are left out. A thrown value that is not an Error is named `NonErrorThrown`.
 */
export function toWireError(thrown: unknown, kind: WireErrorKind): WireError {
  if (thrown instanceof Error) {
    const wire: WireError = { name: clip(String(thrown.name)), message: clip(String(thrown.message)), kind }
    if (typeof thrown.stack === 'string') wire.stack = clip(thrown.stack)
    const code = (thrown as { code?: unknown }).code
    if (typeof code === 'string' || typeof code === 'number') wire.code = code
    const data = primitiveProps(thrown)
    if (data !== undefined) wire.data = data
    return wire
  }
  if (typeof thrown === 'object' && thrown !== null) {
    const message = (thrown as { message?: unknown }).message
    const wire: WireError = {
      name: 'NonErrorThrown',
      message: clip(typeof message === 'string' ? message : safeString(thrown)),
      kind,
    }
    const data = primitiveProps(thrown)
    if (data !== undefined) wire.data = data
    return wire
  }
  return { name: 'NonErrorThrown', message: clip(safeString(thrown)), kind }
}

function safeString(value: unknown): string {
  try {
    if (typeof value === 'object') return JSON.stringify(value) ?? String(value)
    return String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

function primitiveProps(value: object): Record<string, string | number | boolean | null> | undefined {
  let data: Record<string, string | number | boolean | null> | undefined
  let count = 0
  for (const key of Object.keys(value)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'code') continue
    const v = (value as Record<string, unknown>)[key]
    if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') {
      data ??= {}
      data[key] = typeof v === 'string' ? clip(v) : v
      if (++count >= maxDataKeys) break
    }
  }
  return data
}
