/**
 * Shape checks for decoded messages and an encodability check for values. Everything a peer sends
 * passes through here before any other code looks at it.
 */
import { CallFlags, DoneFlags, Limits, MessageType } from './constants.js'
import { ProtocolError, UnencodableError } from './errors.js'
import type { ClientMessage, WireError, WorkerMessage } from './messages.js'

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map)
const allFlags = CallFlags.Logs | CallFlags.Events
const allDoneFlags = DoneFlags.Stats

function malformed(what: string): never {
  throw new ProtocolError(`malformed message: ${what}`)
}

const isPrimitive = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'

/**
 * Names a peer-chosen value for an error message without calling anything on it: `String(v)` runs a
 * decoded map's own `toString`/`valueOf` keys and throws a TypeError when they are not functions
 * (test/fuzz/fuzz-client-input.test.ts). The result is short ASCII, so a close reason built from it
 * fits the 123 bytes of a close frame once cut to 120 characters.
 */
function describeValue(v: unknown): string {
  if (typeof v === 'string') {
    const shown = JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}...` : v)
    return shown.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  }
  if (typeof v !== 'object' || v === null) return String(v)
  return Array.isArray(v) ? 'an array' : v instanceof Map ? 'a Map' : 'a map'
}

function checkWireError(e: unknown): asserts e is WireError {
  if (!isRecord(e) || typeof e.name !== 'string' || typeof e.message !== 'string' || typeof e.kind !== 'string')
    malformed('error must be a map with string name, message and kind')
  // The client builds messages and stacks from these fields: a map where a string belongs would
  // throw from a template literal inside a ws event handler (test/fuzz/fuzz-client-input.test.ts).
  if (e.code !== undefined && typeof e.code !== 'string' && typeof e.code !== 'number') malformed('error code must be a string or a number')
  if (e.stack !== undefined && typeof e.stack !== 'string') malformed('error stack must be a string')
  if (e.data !== undefined && (!isRecord(e.data) || !Object.values(e.data).every(isPrimitive)))
    malformed('error data must be a map of strings, numbers, booleans and nulls')
}

/** Narrows a decoded value to a message a client may send; throws ProtocolError otherwise. */
export function checkClientMessage(m: unknown): ClientMessage {
  if (!Array.isArray(m)) malformed('not an array')
  switch (m[0]) {
    case MessageType.Call:
      if (m.length !== 6 || !isUint(m[1]) || !isUint(m[2]) || !(m[3] === null || typeof m[3] === 'string') ||
        !Array.isArray(m[4]) || !isUint(m[5]))
        malformed('call must be [1, id, epoch, method|null, args[], flags]')
      // Compared, not masked: `&` would cut a flags value of 2^32 or more to its low 32 bits.
      if (m[5] > allFlags) malformed(`call flags ${m[5]} set bits other than 1 (logs) and 2 (events)`)
      return m as ClientMessage
    case MessageType.Done:
      if (m.length === 1) return m as ClientMessage
      if (m.length !== 2 || !isUint(m[1])) malformed('done must be [4] or [4, flags]')
      if (m[1] > allDoneFlags) malformed(`done flags ${m[1]} set bits other than 1 (stats)`)
      return m as ClientMessage
    case MessageType.Cancel:
      if (m.length !== 2 || !isUint(m[1])) malformed('cancel must be [8, id]')
      return m as ClientMessage
    default:
      return malformed(`unknown client message type ${describeValue(m[0])}`)
  }
}

/** Narrows a decoded value to a message a worker may send; throws ProtocolError otherwise. */
export function checkWorkerMessage(m: unknown): WorkerMessage {
  if (!Array.isArray(m)) malformed('not an array')
  switch (m[0]) {
    case MessageType.Hello: {
      const h = m[1]
      if (m.length !== 2 || !isRecord(h) || !isUint(h.v) || !isUint(h.pid) || !isUint(h.id) ||
        typeof h.name !== 'string' || !isUint(h.serverPid) || typeof h.checkoutDone !== 'boolean' ||
        (h.concurrency !== undefined && !(isUint(h.concurrency) && h.concurrency >= 1)))
        malformed('hello must be [0, {v, pid, id, name, serverPid, checkoutDone, concurrency?, maxPayload?}]')
      // Optional: a worker from before the field sends none, and the client assumes the default.
      if (h.maxPayload !== undefined && !(isUint(h.maxPayload) && h.maxPayload >= 1)) malformed(`hello maxPayload must be an integer ≥ 1, got ${describeValue(h.maxPayload)}`)
      break
    }
    case MessageType.Ok:
      if (m.length !== 3 || !isUint(m[1])) malformed('ok must be [2, id, value]')
      break
    case MessageType.Error:
      if (m.length !== 3 || !isUint(m[1])) malformed('error must be [3, id, error]')
      checkWireError(m[2])
      break
    case MessageType.DoneAck: {
      const stats = m[2] as Record<string, unknown> | undefined
      if ((m.length !== 2 && m.length !== 3) || (m.length === 3 && !(isRecord(stats) && isUint(stats.rss))))
        malformed('done-ack must be [5, error|null] or [5, error|null, {rss}]')
      if (m[1] !== null) checkWireError(m[1])
      break
    }
    case MessageType.Log:
      if (m.length !== 6 || !isUint(m[1]) || typeof m[2] !== 'string' || typeof m[3] !== 'number' ||
        typeof m[4] !== 'string' || !(m[5] === null || isRecord(m[5])))
        malformed('log must be [6, id, level, time, message, fields|null]')
      break
    case MessageType.Event:
      if (m.length !== 4 || !isUint(m[1]) || typeof m[2] !== 'string') malformed('event must be [7, id, name, data]')
      break
    case MessageType.Retire:
      if (m.length !== 2 || typeof m[1] !== 'string') malformed('retire must be [9, reason]')
      break
    case MessageType.Bye: {
      const b = m[1]
      if (m.length !== 2 || !isRecord(b) || typeof b.reason !== 'string' || (b.exitCode !== undefined && typeof b.exitCode !== 'number') ||
        (b.signal !== undefined && typeof b.signal !== 'string'))
        malformed('bye must be [10, {reason, exitCode?, signal?, error?}]')
      if (b.error !== undefined) checkWireError(b.error)
      break
    }
    case MessageType.Status:
      if (m.length !== 2 || !isRecord(m[1])) malformed('status must be [11, {...}]')
      break
    default:
      malformed(`unknown worker message type ${describeValue(m[0])}`)
  }
  return m as WorkerMessage
}

const plainPrototypes = new Set<unknown>([Object.prototype, null])

/**
 * Throws UnencodableError naming the first part of `value` that CBOR cannot carry faithfully:
 * functions, symbols, class instances with no encoding, and nesting that would make its message
 * deeper than `maxDepth` levels (which is also how a cycle shows up). Cheap for the common case of
 * strings and numbers.
 *
 * Depth is counted as the receiving decoder counts it (docs/protocol.md, "Limits"): arrays, maps
 * and tags each add a level, the message's own array being level 1. `level` is the level the value
 * itself occupies: 2 for a call's arguments array, a result, an event's data and a log's fields.
 * So a Map costs two levels (tag 259 and the map), a Set two, a Date, a bigint or a typed array
 * other than Uint8Array one (its tag); binary data, strings, numbers, booleans, null and undefined
 * none.
 */
export function assertEncodable(value: unknown, maxDepth: number = Limits.maxDepth, level = 2): void {
  try {
    check(value, undefined, level, maxDepth)
  } catch (error) {
    // Paths are built only to name a failure: a value that passes costs no string per element.
    if (error === namePath) check(value, '', level, maxDepth)
    throw error
  }
}

/** Thrown by a check without paths: run it again with them, for the message. */
const namePath = Symbol('name the path')

/** `path` undefined: fail fast with `namePath` (nothing is built on the way); a string: fail with the error naming it. */
function fail(path: string | undefined, message: (at: string) => string): never {
  if (path === undefined) throw namePath
  throw new UnencodableError(message(path || 'the top level'))
}

function tooDeep(path: string | undefined, maxDepth: number): never {
  fail(path, (at) => `value nested too deep at ${at}: a message may nest arrays, maps and tags at most ${maxDepth} levels deep (is it cyclic?)`)
}

function check(value: unknown, path: string | undefined, level: number, maxDepth: number): void {
  switch (typeof value) {
    case 'string': case 'number': case 'boolean': case 'undefined':
      return
    case 'bigint':
      // sent as a bignum: tag 2 or 3 around a byte string
      if (level > maxDepth) tooDeep(path, maxDepth)
      return
    case 'function':
      fail(path, (at) => `cannot encode a function at ${at}`)
    case 'symbol':
      fail(path, (at) => `cannot encode a symbol at ${at}`)
  }
  if (value === null) return
  const obj = value as object
  if (Array.isArray(obj)) {
    if (level > maxDepth) tooDeep(path, maxDepth)
    for (let i = 0; i < obj.length; i++) check(obj[i], path === undefined ? undefined : `${path}[${i}]`, level + 1, maxDepth)
    return
  }
  // Uint8Array, Buffer and DataView are byte strings, which nest nothing
  if (obj instanceof Uint8Array && (obj.constructor === Uint8Array || Buffer.isBuffer(obj)) || obj instanceof DataView) return
  if (level > maxDepth) tooDeep(path, maxDepth)
  // other typed arrays are a tag around a byte string, a Date a tag around a number
  if (ArrayBuffer.isView(obj) || obj instanceof Date) return
  // tag 27 around an array of strings
  if (obj instanceof RegExp || obj instanceof Error) {
    if (level + 1 > maxDepth) tooDeep(path, maxDepth)
    return
  }
  if (obj instanceof Map) {
    // tag 259 around a map
    if (level + 1 > maxDepth) tooDeep(path, maxDepth)
    for (const [k, v] of obj) {
      check(k, path === undefined ? undefined : `${path}<key>`, level + 2, maxDepth)
      check(v, path === undefined ? undefined : `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : typeof k})`, level + 2, maxDepth)
    }
    return
  }
  if (obj instanceof Set) {
    // tag 258 around an array
    if (level + 1 > maxDepth) tooDeep(path, maxDepth)
    for (const v of obj) check(v, path === undefined ? undefined : `${path}<item>`, level + 2, maxDepth)
    return
  }
  const proto = Object.getPrototypeOf(obj)
  if (!plainPrototypes.has(proto)) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'anonymous class'
    fail(path, (at) => `cannot encode an instance of ${name} at ${at}: only plain objects, arrays, Map, Set, Date, RegExp, binary and primitives cross the wire`)
  }
  for (const key in obj) check((obj as Record<string, unknown>)[key], path === undefined ? undefined : path ? `${path}.${key}` : key, level + 1, maxDepth)
}
