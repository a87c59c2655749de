/**
 * Property-based fuzzing of what a client can send to a real worker, over a hand-written WebSocket
 * (test/support/raw-websocket.ts) so that any byte can be sent before and after the upgrade.
 *
 * Each worker process costs a fork, so a generated script reuses its connection: 50 to 70 valid
 * frames (calls with any id, epoch and method, a second done, cancel), every one checked against a
 * simulation of the worker's epochs, then at most one input that must end the connection (garbage
 * bytes, truncated or wrong-shape CBOR, text, frame-level defects, oversized frames, deep nesting,
 * a hang-up). Other scripts attack the handshake. Three scripts run at once; a control client makes
 * a call between batches and must keep the same worker throughout.
 */
import { isUtf8 } from 'node:buffer'
import { Codec, MessageType, checkClientMessage } from '@forkd/protocol'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, waitFor, waitForExit, workerChildren, type TestEnv } from '../support/harness.js'
import { RawWebSocket, encodeFrame, upgradeRequest } from '../support/raw-websocket.js'

const numRuns = 72
const scriptsPerRun = 3
const maxPayload = 64 * 1024
const codec = new Codec()

/** True when every message in `frame` passes the worker's checks. */
function wellFormed(frame: Buffer): boolean {
  try {
    for (const m of codec.decodeFrame(frame)) checkClientMessage(m)
    return true
  } catch {
    return false
  }
}

// ---- generators -----------------------------------------------------------------------------

const hostileKey = fc.constantFrom('toString', 'valueOf', '__proto__', 'constructor', 'then', 'length', '0')
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(hostileKey, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a)),
  fc.constantFrom(undefined, null, -0, NaN, Infinity, 2 ** 64, -(2 ** 63), new Map<unknown, unknown>([[1, 'a'], ['k', null]]), new Set([1, 'a']), new Date(0)),
)

/** A valid client message; epochs are chosen relative to the worker's, resolved while encoding. */
type Good =
  | { t: 'call'; method: string | null; id: number; epoch: 'current' | 'ahead' | 'stale'; args: unknown[]; flags: number }
  | { t: 'done' }
  | { t: 'cancel'; id: number }
const good: fc.Arbitrary<Good> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('call' as const),
      method: fc.oneof({ weight: 4, arbitrary: fc.constant('echo') }, fc.constant('pid'), fc.constant(null), fc.string({ maxLength: 12 }), fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty')),
      id: fc.oneof(fc.nat(1000), fc.maxSafeNat()),
      epoch: fc.constantFrom('current' as const, 'current' as const, 'ahead' as const, 'stale' as const),
      args: fc.array(value, { maxLength: 3 }),
      flags: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'done' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), id: fc.maxSafeNat() }) },
)

const frameDefect = fc.oneof(
  fc.integer({ min: 1, max: 7 }).map((rsv) => ({ name: `rsv ${rsv}`, bytes: encodeFrame({ opcode: 2, rsv, payload: Buffer.from([0x81, 4]) }), code: 1002 })),
  fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf).map((opcode) => ({ name: `opcode ${opcode}`, bytes: encodeFrame({ opcode, payload: Buffer.from([0x81, 4]) }), code: 1002 })),
  fc.constant({ name: 'unmasked', bytes: encodeFrame({ opcode: 2, masked: false, payload: Buffer.from([0x81, 4]) }), code: 1002 }),
  fc.constant({ name: 'continuation first', bytes: encodeFrame({ opcode: 0, payload: Buffer.from([0x81, 4]) }), code: 1002 }),
  fc.constant({ name: 'fragmented ping', bytes: encodeFrame({ opcode: 9, fin: false }), code: 1002 }),
  fc.integer({ min: 126, max: 300 }).map((n) => ({ name: 'long ping', bytes: encodeFrame({ opcode: 9, payload: Buffer.alloc(n) }), code: 1002 })),
  fc.constant({ name: 'new message inside a fragmented one', bytes: Buffer.concat([encodeFrame({ opcode: 2, fin: false, payload: Buffer.from([0x81]) }), encodeFrame({ opcode: 2, payload: Buffer.from([4]) })]), code: 1002 }),
  fc.constant({ name: 'one-byte close', bytes: encodeFrame({ opcode: 8, payload: Buffer.from([3]) }), code: 1002 }),
  fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535).map((code) => {
    const payload = Buffer.alloc(2)
    payload.writeUInt16BE(code)
    return { name: `close code ${code}`, bytes: encodeFrame({ opcode: 8, payload }), code: 1002 }
  }),
  fc.constant({ name: 'close reason not UTF-8', bytes: encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]) }), code: 1007 }),
)

/** The one input that ends a connection, and how it must end. */
type Terminal =
  | { t: 'bytes'; bytes: Uint8Array }
  | { t: 'truncated'; call: Good; cut: number }
  | { t: 'shape'; messages: unknown[] }
  | { t: 'text'; text: string }
  | { t: 'text-bytes'; bytes: Uint8Array }
  | { t: 'oversized'; extra: number }
  | { t: 'fragments-oversized'; pieces: number }
  | { t: 'frame'; defect: { name: string; bytes: Buffer; code: number } }
  | { t: 'deep'; depth: number }
  | { t: 'huge-length'; head: number; length: bigint }
  | { t: 'hangup'; cut: number }
  | { t: 'close' }
const terminal: fc.Arbitrary<Terminal> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('bytes' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 300 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('truncated' as const), call: good, cut: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({
    t: fc.constant('shape' as const),
    messages: fc.array(
      fc.oneof(
        fc.tuple(fc.oneof(fc.integer({ min: -1, max: 12 }), fc.integer(), fc.string(), value), fc.array(value, { maxLength: 7 })).map(([tag, rest]) => [tag, ...rest]),
        value,
      ),
      { minLength: 1, maxLength: 3 },
    ),
  }) },
  fc.record({ t: fc.constant('text' as const), text: fc.string({ maxLength: 100 }) }),
  fc.record({ t: fc.constant('text-bytes' as const), bytes: fc.uint8Array({ maxLength: 100 }) }),
  fc.record({ t: fc.constant('oversized' as const), extra: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 2 ** 40 })) }),
  fc.record({ t: fc.constant('fragments-oversized' as const), pieces: fc.integer({ min: 2, max: 5 }) }),
  { weight: 3, arbitrary: fc.record({ t: fc.constant('frame' as const), defect: frameDefect }) },
  fc.record({ t: fc.constant('deep' as const), depth: fc.oneof(fc.integer({ min: 400, max: 700 }), fc.integer({ min: 1, max: 60_000 })) }),
  fc.record({ t: fc.constant('huge-length' as const), head: fc.constantFrom(0x5b, 0x7b, 0x9b, 0xbb, 0x5a, 0x9a), length: fc.bigInt({ min: 1n << 20n, max: (1n << 64n) - 1n }) }),
  fc.record({ t: fc.constant('hangup' as const), cut: fc.nat() }),
  fc.constant({ t: 'close' as const }),
)

/** What arrives before (instead of) a proper upgrade. */
type Handshake =
  | { t: 'garbage'; bytes: Uint8Array; thenUpgrade: boolean }
  | { t: 'protocol'; protocol: string | null }
  | { t: 'path'; path: string }
  | { t: 'version'; version: string }
  | { t: 'no-key' }
const headerText = fc.string({ unit: 'grapheme-ascii', maxLength: 30 })
const handshake: fc.Arbitrary<Handshake> = fc.oneof(
  fc.record({ t: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }), thenUpgrade: fc.boolean() })
    // HTTP parsers skip empty lines before a request: CR/LF alone is not garbage.
    .filter((g) => g.bytes.some((b) => b !== 13 && b !== 10)),
  fc.record({ t: fc.constant('protocol' as const), protocol: fc.oneof(fc.constant(null), fc.constantFrom('forkd.v0', 'forkd.v2', 'forkd', 'FORKD.V1', 'forkd.v1.1'), headerText) })
    .filter((h) => h.protocol === null || !h.protocol.split(',').map((s) => s.trim()).includes('forkd.v1')),
  fc.record({ t: fc.constant('path' as const), path: headerText.map((p) => '/' + p.replace(/[ ?#]/g, '')) })
    .filter((h) => h.path !== '/forkd' && h.path !== '/forkd/status'),
  fc.record({ t: fc.constant('version' as const), version: headerText }).filter((h) => h.version.trim() !== '13'),
  fc.constant({ t: 'no-key' as const }),
)

type Script = { t: 'session'; frames: Good[][]; terminal: Terminal | null } | { t: 'handshake'; handshake: Handshake }
const script: fc.Arbitrary<Script> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('session' as const),
      frames: fc.array(fc.array(good, { minLength: 1, maxLength: 4 }), { minLength: 50, maxLength: 70 }),
      terminal: fc.option(terminal, { freq: 8 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('handshake' as const), handshake }) },
)

// ---- running a script -----------------------------------------------------------------------

interface Tally {
  cases: number
  frames: number
  messages: number
  connections: number
  kinds: Record<string, number>
  pids: Set<number>
}

/** Encodes `call` with its epoch resolved against the simulated worker epoch `w`. */
function toMessage(m: Good, w: number): unknown[] {
  if (m.t === 'done') return [MessageType.Done]
  if (m.t === 'cancel') return [MessageType.Cancel, m.id]
  const epoch = m.epoch === 'current' ? w : m.epoch === 'ahead' ? w + 1 + (m.id % 5) : Math.max(0, w - 1)
  return [MessageType.Call, m.id, epoch, m.method, m.args, m.flags]
}

async function runSession(path: string, s: Extract<Script, { t: 'session' }>, tally: Tally): Promise<void> {
  // Prepare the terminal input first, so that a discarded case opens no connection.
  let end: { bytes: Buffer | null; expect: 'close' | number | 'reply-or-4001' | 'hangup'; kind: string } | undefined
  const t = s.terminal
  if (t !== null) {
    switch (t.t) {
      case 'bytes': {
        const payload = Buffer.from(t.bytes)
        fc.pre(!wellFormed(payload))
        end = { bytes: encodeFrame({ opcode: 2, payload }), expect: 4001, kind: 'random binary frame' }
        break
      }
      case 'truncated': {
        const whole = codec.encode(toMessage(t.call, 0))
        const payload = whole.subarray(0, 1 + (t.cut % (whole.length - 1)))
        fc.pre(!wellFormed(payload))
        end = { bytes: encodeFrame({ opcode: 2, payload }), expect: 4001, kind: 'truncated CBOR' }
        break
      }
      case 'shape': {
        let payload: Buffer
        try {
          payload = codec.frame(t.messages.map((m) => codec.encode(m)))
        } catch {
          fc.pre(false)
          return
        }
        fc.pre(!wellFormed(payload))
        end = { bytes: encodeFrame({ opcode: 2, payload }), expect: 4001, kind: 'wrong shape' }
        break
      }
      case 'text':
        end = { bytes: encodeFrame({ opcode: 1, payload: Buffer.from(t.text) }), expect: 4001, kind: 'text frame' }
        break
      case 'text-bytes': {
        const payload = Buffer.from(t.bytes)
        end = { bytes: encodeFrame({ opcode: 1, payload }), expect: isUtf8(payload) ? 4001 : 1007, kind: 'text frame, any bytes' }
        break
      }
      case 'oversized':
        // Only the header: ws refuses the declared length before reading any payload.
        end = { bytes: encodeFrame({ opcode: 2, declaredLength: maxPayload + t.extra, payload: Buffer.alloc(16) }), expect: 1009, kind: 'oversized frame' }
        break
      case 'fragments-oversized': {
        const piece = Math.ceil((maxPayload + 1) / t.pieces)
        const frames = Array.from({ length: t.pieces }, (_, i) => encodeFrame({ opcode: i === 0 ? 2 : 0, fin: i === t.pieces - 1, payload: Buffer.alloc(piece) }))
        end = { bytes: Buffer.concat(frames), expect: 1009, kind: 'oversized in fragments' }
        break
      }
      case 'frame':
        end = { bytes: t.defect.bytes, expect: t.defect.code, kind: `frame: ${t.defect.name}` }
        break
      case 'deep': {
        const inner = Buffer.concat([Buffer.alloc(t.depth, 0x81), Buffer.from([0x00])])
        // An epoch far ahead: the call runs whatever errors the valid frames caused.
        const head = codec.encode([MessageType.Call, 7, 2 ** 31, 'echo'])
        // Rewrite the array head from 4 to 6 elements: [1, 7, 0, 'echo', [inner], 0].
        const payload = Buffer.concat([Buffer.from([0x86]), head.subarray(1), Buffer.from([0x81]), inner, Buffer.from([0x00])])
        end = { bytes: encodeFrame({ opcode: 2, payload }), expect: 'reply-or-4001', kind: 'deep nesting' }
        break
      }
      case 'huge-length': {
        const len = Buffer.alloc(8)
        len.writeBigUInt64BE(t.length)
        const payload = Buffer.concat([Buffer.from([0x86, 0x01, 0x01, 0x00, 0x64]), Buffer.from('echo'), Buffer.from([0x81, t.head]), t.head === 0x5a || t.head === 0x9a ? len.subarray(4) : len, Buffer.from('abc')])
        fc.pre(!wellFormed(payload))
        end = { bytes: encodeFrame({ opcode: 2, payload }), expect: 4001, kind: 'CBOR length beyond the frame' }
        break
      }
      case 'hangup': {
        const frame = encodeFrame({ opcode: 2, payload: codec.encode([MessageType.Call, 1, 0, 'echo', ['x'.repeat(200)], 0]) })
        end = { bytes: frame.subarray(0, 1 + (t.cut % (frame.length - 1))), expect: 'hangup', kind: 'hang-up mid-frame' }
        break
      }
      case 'close':
        end = { bytes: encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }), expect: 'close', kind: 'close 1000' }
        break
    }
  }

  const ws = await RawWebSocket.open(path)
  tally.connections++
  tally.pids.add(ws.hello.pid)
  try {
    // Valid frames, pipelined, replies predicted by simulating the worker's epoch.
    let w = 0
    const expected: { id: number; type?: number; echo?: string }[] = []
    let bytes: Buffer[] = []
    for (const frame of s.frames) {
      const messages = frame.map((m) => toMessage(m, w))
      for (const m of messages) {
        if (m[0] !== MessageType.Call || (m[2] as number) < w) continue
        const method = m[3]
        const ok = method === 'echo' || method === 'pid'
        const arg = (m[4] as unknown[])[0]
        expected.push({ id: m[1] as number, type: ok ? 2 : 3, ...(method === 'echo' && typeof arg === 'string' ? { echo: arg } : {}) })
        if (!ok) w++
      }
      bytes.push(encodeFrame({ opcode: 2, payload: codec.frame(messages.map((m) => codec.encode(m))) }))
      tally.messages += messages.length
    }
    ws.write(Buffer.concat(bytes))
    bytes = []
    await ws.until(() => ws.messages.length >= 1 + expected.length || ws.ended, `${expected.length} replies`)
    const replies = ws.messages.slice(1) as unknown[][]
    expect(replies.map((r) => [r[0], r[1]])).toEqual(expected.map((e) => [e.type, e.id]))
    for (let i = 0; i < expected.length; i++) if (expected[i]!.echo !== undefined) expect(replies[i]![2]).toBe(expected[i]!.echo)
    tally.frames += s.frames.length
    tally.cases += s.frames.length
    tally.kinds['valid frames'] = (tally.kinds['valid frames'] ?? 0) + s.frames.length

    if (end === undefined) {
      ws.write(encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }))
      await ws.closed()
      expect(ws.closeCode).toBe(1000)
      return
    }
    const before = ws.messages.length
    ws.write(end.bytes!)
    if (end.expect === 'hangup') {
      ws.socket.end()
      await ws.closed()
      expect(ws.closeCode).toBeUndefined()
    } else if (end.expect === 'reply-or-4001') {
      await ws.until(() => ws.messages.length > before || ws.closeCode !== undefined, 'a reply or a close')
      if (ws.closeCode !== undefined) expect(ws.closeCode).toBe(4001)
      else {
        const reply = ws.messages[before] as unknown[]
        expect([reply[0], reply[1]]).toEqual([reply[0] === 2 ? 2 : 3, 7])
        ws.write(encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }))
      }
      await ws.closed()
    } else {
      await ws.closed()
      expect(ws.closeCode, end.kind).toBe(end.expect === 'close' ? 1000 : end.expect)
    }
    tally.cases++
    tally.kinds[end.kind] = (tally.kinds[end.kind] ?? 0) + 1
  } finally {
    ws.destroy()
  }
}

async function runHandshake(path: string, h: Handshake, tally: Tally): Promise<void> {
  let request: Buffer
  switch (h.t) {
    case 'garbage':
      request = Buffer.concat([Buffer.from(h.bytes), h.thenUpgrade ? Buffer.from(upgradeRequest()) : Buffer.alloc(0)])
      break
    case 'protocol':
      request = Buffer.from(upgradeRequest({ protocol: h.protocol }))
      break
    case 'path':
      request = Buffer.from(upgradeRequest({ path: h.path }))
      break
    case 'version':
      request = Buffer.from(upgradeRequest({ version: h.version }))
      break
    case 'no-key':
      request = Buffer.from(upgradeRequest({ key: null }))
      break
  }
  const ws = new RawWebSocket(path)
  tally.connections++
  try {
    ws.write(request)
    // Our end is done: a request the worker is still waiting to complete meets end-of-stream.
    ws.socket.end()
    await ws.closed()
    // Never upgraded: either an HTTP error answer, or closed without one.
    if (ws.responseHead !== undefined) expect(ws.responseHead).toMatch(/^HTTP\/1\.1 4\d\d /)
    expect(ws.messages).toEqual([])
    tally.cases++
    const kind = `handshake: ${h.t}`
    tally.kinds[kind] = (tally.kinds[kind] ?? 0) + 1
  } finally {
    ws.destroy()
  }
}

// ---- the test -------------------------------------------------------------------------------

describe('worker against fuzzed client input', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('plain-worker.mjs', { spares: 6, maxWorkers: 32, maxPayload, handshakeTimeout: 3_000 })
  })
  afterAll(async () => {
    await env.cleanup()
    expect(workerChildren()).toEqual([])
  })

  it('closes only the offending connection, with a protocol close code, and leaves no process behind', async () => {
    const control = env.client<{ pid(): number; echo(x: unknown): unknown }>({ minWorkers: 1, maxWorkers: 1, timeout: 30_000 })
    const first = await control.checkout()
    const controlPid = await first.pid()
    first.release()
    env.pids.add(controlPid)

    const tally: Tally = { cases: 0, frames: 0, messages: 0, connections: 0, kinds: {}, pids: new Set() }
    const startedAt = Date.now()
    let batch = 0
    await fc.assert(
      fc.asyncProperty(fc.array(script, { minLength: scriptsPerRun, maxLength: scriptsPerRun }), async (scripts) => {
        await Promise.all(scripts.map((s) => (s.t === 'session' ? runSession(env.path, s, tally) : runHandshake(env.path, s.handshake, tally))))
        // Between batches: the server is up and the control worker, untouched, still answers.
        expect(env.server.state).toBe('listening')
        const c = await control.checkout()
        try {
          expect(await c.echo(++batch)).toBe(batch)
          expect(await c.pid()).toBe(controlPid)
        } finally {
          c.release()
        }
      }),
      { numRuns, endOnFailure: true, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    )
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1)
    console.log(`fuzz-worker-input: ${tally.cases} cases (${tally.frames} valid frames, ${tally.messages} messages) over ${tally.connections} connections in ${seconds} s`, tally.kinds)
    expect(tally.cases).toBeGreaterThanOrEqual(10_000)

    // Every fuzzed worker has exited; only the control worker and the spares are left.
    for (const pid of tally.pids) env.pids.add(pid)
    await waitForExit(tally.pids, 30_000)
    await waitFor(() => {
      const s = env.server.status()
      return s.active === 1 && s.pending === 0 && s.starting === 0 && s.spares === 6 && workerChildren().length === 7
    }, 'the server to settle at 6 spares and the control worker', 30_000)
    expect(env.server.status().killed).toEqual({ hung: 0, unresponsive: 0, shutdown: 0, startTimeout: 0 })
  }, 300_000)
})
