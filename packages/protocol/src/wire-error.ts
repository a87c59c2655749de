/** Turning a thrown value into plain data that can cross the wire. */
import type { WireError, WireErrorKind } from './messages.js'

const maxDataKeys = 32
const maxStringLength = 64 * 1024

const clip = (s: string) => (s.length > maxStringLength ? s.slice(0, maxStringLength) + '…' : s)

/**
 * Describes any thrown value (an Error, a string, an object, undefined...) as a WireError.
 * Own primitive properties besides name/message/stack/code are kept in `data`, so details such as
 * PostgreSQL's `detail` and `constraint` reach the caller.
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
