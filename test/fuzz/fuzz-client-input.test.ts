/**
 * Property-based fuzzing of what a worker can send to the client. A hand-written fake worker
 * (test/support/fake-worker.ts) answers one checkout with generated garbage; whatever it sends, that
 * checkout fails with a sticky ProtocolError, the client process does not crash (vitest fails the
 * run on any uncaught exception or unhandled rejection), and a second checkout on another
 * connection of the same client keeps working.
 */
import { Codec, MessageType, PROTOCOL_VERSION, ProtocolError, checkWorkerMessage } from '@forkd/protocol'
import { Client } from '@forkd/client'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFakeWorker, type FakeConnection, type FakeWorker } from '../support/fake-worker.js'

const numRuns = 1_500
const codec = new Codec()

interface Echo {
  echo(x: unknown): unknown
}

/** A hello the client accepts. */
const hello = (n: number) => [MessageType.Hello, { v: PROTOCOL_VERSION, pid: 800_000 + n, id: n, name: 'fake', serverPid: process.pid, checkoutDone: false }]

/** True when every message in `frame` passes the client's syntactic checks (so it is not garbage by itself). */
function wellFormed(frame: Buffer): boolean {
  try {
    for (const m of codec.decodeFrame(frame)) checkWorkerMessage(m)
    return true
  } catch {
    return false
  }
}

const encodeFrame = (messages: unknown[]) => codec.frame(messages.map((m) => codec.encode(m)))

// ---- generators -----------------------------------------------------------------------------

/** Keys that trip code calling String(), template literals, or promise resolution on decoded maps. */
const hostileKey = fc.constantFrom('toString', 'valueOf', '__proto__', 'constructor', 'then', 'name', 'message', 'stack', 'code', 'kind', 'v', 'reason', 'error', 'exitCode')
/** A map with keys that code must not trust: `String(map)` throws when it has a non-function toString. */
const hostileMap = fc.dictionary(hostileKey, fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.jsonValue({ maxDepth: 1 })), { minKeys: 1, maxKeys: 4 })
const value: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  hostileMap,
  fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
  fc.constantFrom(undefined, null, -1, 2 ** 53, 1.5, -0, NaN, Infinity, new Map([[1, 2]]), new Set(['a'])),
)
const workerTypes = fc.constantFrom(0, 2, 3, 5, 6, 7, 9, 10, 11)
const anyTag = fc.oneof(workerTypes, fc.constantFrom(1, 4, 8, 12, 255, -1), fc.integer(), hostileMap, value)
const validWireError = fc.record({ name: fc.string(), message: fc.string(), kind: fc.constantFrom('throw', 'encode', 'setup') })
/** Something in the place of a wire error: a valid one, a valid one with a bad optional field, or any map. */
const wireError = fc.oneof(
  validWireError,
  fc.tuple(validWireError, fc.record({ code: value, stack: value, data: fc.oneof(value, fc.dictionary(fc.string(), value)) }, { requiredKeys: [] }))
    .map(([base, extra]) => ({ ...base, ...extra })),
  fc.record({ name: value, message: value, kind: value, code: value, stack: value, data: value }, { requiredKeys: [] }),
)

/** Garbage the fake worker sends while a call with id `sent` is running. */
type Garbage =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'truncated'; message: unknown[]; cut: number }
  | { kind: 'shape'; messages: unknown[] }
  | { kind: 'unknown-id'; type: 2 | 3; offset: number; payload: unknown }
  | { kind: 'reply-twice'; oneFrame: boolean; payload: unknown }
  | { kind: 'event-not-running'; afterReply: boolean; offset: number; name: string; data: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'second-hello' }
  | { kind: 'done-ack'; error: unknown }
  | { kind: 'bad-error-reply'; error: unknown }
  | { kind: 'bad-bye'; info: unknown }
  | { kind: 'reply-then-garbage'; bytes: Uint8Array }

const garbage: fc.Arbitrary<Garbage> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }) }),
  fc.record({
    kind: fc.constant('truncated' as const),
    message: fc.tuple(fc.constantFrom(2, 3, 6, 7, 9, 10), fc.nat(), value, fc.string()).map((t) => [...t]),
    cut: fc.nat(),
  }),
  fc.record({ kind: fc.constant('shape' as const), messages: fc.array(fc.oneof(fc.tuple(anyTag, fc.array(value, { maxLength: 6 })).map(([t, rest]) => [t, ...rest]), value), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('unknown-id' as const), type: fc.constantFrom(2 as const, 3 as const), offset: fc.integer({ min: 1, max: 2 ** 40 }), payload: value }),
  fc.record({ kind: fc.constant('reply-twice' as const), oneFrame: fc.boolean(), payload: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ kind: fc.constant('event-not-running' as const), afterReply: fc.boolean(), offset: fc.integer({ min: 1, max: 1000 }), name: fc.string(), data: value }),
  fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'binary', maxLength: 100 }) }),
  fc.constant({ kind: 'second-hello' as const }),
  fc.record({ kind: fc.constant('done-ack' as const), error: fc.oneof(fc.constant(null), wireError) }),
  fc.record({ kind: fc.constant('bad-error-reply' as const), error: wireError }),
  fc.record({ kind: fc.constant('bad-bye' as const), info: fc.oneof(value, fc.record({ reason: value, exitCode: value, signal: value, error: wireError }, { requiredKeys: [] })) }),
  fc.record({ kind: fc.constant('reply-then-garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
)

/** Frames (binary Buffers, or strings sent as text frames) for `g`, given the running call's id. */
function framesFor(g: Garbage, sent: number): (Buffer | string)[] {
  switch (g.kind) {
    case 'bytes': {
      const frame = Buffer.from(g.bytes)
      fc.pre(!wellFormed(frame))
      return [frame]
    }
    case 'truncated': {
      const whole = codec.encode(g.message)
      const frame = whole.subarray(0, 1 + (g.cut % (whole.length - 1)))
      fc.pre(!wellFormed(frame))
      return [frame]
    }
    case 'shape': {
      let frame: Buffer
      try {
        frame = encodeFrame(g.messages)
      } catch {
        fc.pre(false)
        throw new Error('unreachable')
      }
      fc.pre(!wellFormed(frame))
      return [frame]
    }
    case 'unknown-id':
      return [encodeFrame([[g.type, sent + g.offset, g.type === 2 ? g.payload : { name: 'E', message: 'm', kind: 'throw' }]])]
    case 'reply-twice': {
      const reply = codec.encode([MessageType.Ok, sent, g.payload])
      return g.oneFrame ? [codec.frame([reply, reply])] : [reply, reply]
    }
    case 'event-not-running':
      return g.afterReply
        ? [encodeFrame([[MessageType.Ok, sent, 1], [MessageType.Event, sent, g.name, g.data]])]
        : [encodeFrame([[MessageType.Event, sent + g.offset, g.name, g.data]])]
    case 'text':
      return [g.text]
    case 'second-hello':
      return [encodeFrame([hello(0)])]
    case 'done-ack':
      return [encodeFrame([[MessageType.DoneAck, g.error]])]
    case 'bad-error-reply': {
      const frame = encodeFrame([[MessageType.Error, sent, g.error]])
      fc.pre(!wellFormed(frame))
      return [frame]
    }
    case 'bad-bye': {
      const frame = encodeFrame([[MessageType.Bye, g.info]])
      fc.pre(!wellFormed(frame))
      return [frame]
    }
    case 'reply-then-garbage': {
      const tail = Buffer.from(g.bytes)
      fc.pre(!wellFormed(tail))
      return [Buffer.concat([codec.encode([MessageType.Ok, sent, 'ok']), tail])]
    }
  }
}

/** Garbage sent to a connection idle in the pool, or in place of the hello. */
const idleGarbage = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 100 }).map((b) => Buffer.from(b)).filter((b) => !wellFormed(b)),
  fc.tuple(fc.constantFrom(2, 3), fc.nat()).map(([type, id]) => encodeFrame([[type, id, type === 2 ? 'late' : { name: 'E', message: 'm', kind: 'throw' }]])),
  fc.tuple(fc.constantFrom(6, 7), fc.nat(), fc.string()).map(([type, id, s]) => encodeFrame([type === 6 ? [6, id, 'info', 0, s, null] : [7, id, s, null]])),
  fc.constant(encodeFrame([[MessageType.DoneAck, null]])),
  fc.string({ maxLength: 50 }),
)
const badHello = fc.oneof(
  idleGarbage,
  fc.integer().filter((v) => v !== PROTOCOL_VERSION).map((v) => encodeFrame([[MessageType.Hello, { ...(hello(1)[1] as object), v }]])),
  fc.dictionary(hostileKey, value).map((info) => encodeFrame([[MessageType.Hello, info]])),
  fc.constant(encodeFrame([[MessageType.Ok, 1, 'before hello']])),
)

type Case = { phase: 'busy'; garbage: Garbage } | { phase: 'idle'; garbage: Buffer | string } | { phase: 'hello'; garbage: Buffer | string }
const cases: fc.Arbitrary<Case> = fc.oneof(
  { weight: 6, arbitrary: garbage.map((g) => ({ phase: 'busy' as const, garbage: g })) },
  { weight: 1, arbitrary: idleGarbage.map((g) => ({ phase: 'idle' as const, garbage: g })) },
  { weight: 1, arbitrary: badHello.map((g) => ({ phase: 'hello' as const, garbage: g })) },
)

// ---- the test -------------------------------------------------------------------------------

/** Resolves with the close code once the client has closed `conn`; rejects if it does not within 5 s. */
const closedCode = (conn: FakeConnection) =>
  new Promise<number>((resolve, reject) => {
    if (conn.ws.readyState === conn.ws.CLOSED) return resolve(-1)
    const timer = setTimeout(() => reject(new Error('the client did not close the connection that sent garbage')), 5_000)
    conn.ws.once('close', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })

describe('client against a fuzzing fake worker', () => {
  let fake: FakeWorker
  let client: Client<Echo>

  beforeAll(async () => {
    fake = await startFakeWorker({}, { sendHello: false })
    client = new Client<Echo>({ connect: fake.path, minWorkers: 0, maxWorkers: 2, timeout: 10_000, connectRetryMin: 1, connectRetryMax: 5 })
  })
  afterAll(async () => {
    await client.close()
    await fake.close()
  })

  it(`fails only the checkout that got garbage, with a sticky ProtocolError (${numRuns} cases)`, async () => {
    // The control checkout: held on its own connection for the whole run, called after every case.
    const nextControl = fake.nextConnection()
    const controlPending = client.checkout()
    const controlConn = await nextControl
    controlConn.send(hello(0))
    const control = await controlPending
    let controlReplies = 0
    const checkControl = async (n: number) => {
      const result = control.echo(n)
      const [call] = (await controlConn.waitForMessages(controlReplies + 1)).slice(controlReplies) as [number, number][]
      controlReplies++
      controlConn.send([MessageType.Ok, call![1], n])
      expect(await result).toBe(n)
    }

    const counts: Record<string, number> = {}
    let run = 0
    const startedAt = Date.now()
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        run++
        const key = c.phase === 'busy' ? c.garbage.kind : c.phase
        if (c.phase === 'hello') {
          // Malformed hello: that connection is refused, the checkout is served by the next one.
          const nextBad = fake.nextConnection()
          const pending = client.checkout()
          const bad = await nextBad
          const badClosed = closedCode(bad)
          const nextGood = fake.nextConnection()
          bad.sendRaw(c.garbage)
          expect(await badClosed).toBe(4000)
          const good = await nextGood
          good.send(hello(run))
          const checkout = await pending
          const result = checkout.echo('after a bad hello')
          const [call] = (await good.waitForMessages(1)) as [number, number][]
          good.send([MessageType.Ok, call![1], 'served'])
          expect(await result).toBe('served')
          checkout.release()
          // Retire this good connection so that the next case opens a fresh one.
          const goodClosed = closedCode(good)
          good.send([MessageType.Retire, 'fuzz'])
          await goodClosed
        } else {
          // Every checkout numbers its calls from 1: the garbage is made (and filtered) before the
          // checkout exists, so that a discarded case leaves nothing behind.
          const frames = c.phase === 'busy' ? framesFor(c.garbage, 1) : []
          const next = fake.nextConnection()
          const pending = client.checkout()
          const conn = await next
          conn.send(hello(run))
          const checkout = await pending
          const connClosed = closedCode(conn)
          const first = checkout.echo('first')
          const outcome = first.then((v) => ({ ok: v }), (e: unknown) => ({ error: e }))
          const [call] = (await conn.waitForMessages(1)) as [number, number][]
          expect(call![1]).toBe(1)
          if (c.phase === 'idle') {
            // A proper reply, release: the connection sits idle in the pool; then the garbage.
            conn.send([MessageType.Ok, call![1], 'first'])
            expect(await outcome).toEqual({ ok: 'first' })
            checkout.release()
            // Release sends done ([4]); once it arrives the connection is back in the pool.
            await conn.waitForMessages(2)
            expect(client.stats().idle).toBe(1)
            conn.sendRaw(c.garbage)
            expect(await connClosed).toBe(4000)
            expect(client.stats()).toMatchObject({ idle: 0, workers: 1 })
          } else {
            for (const frame of frames) conn.sendRaw(frame)
            // The client discards the connection (4000: the worker may exit at once)...
            expect(await connClosed).toBe(4000)
            // ...and the checkout is fatal: the call in flight failed with a ProtocolError (or had
            // its reply before the garbage), and every later call rejects with the same error.
            const later = await checkout.echo('later').then(() => undefined, (e: unknown) => e)
            expect(later).toBeInstanceOf(ProtocolError)
            const got = await outcome
            if ('error' in got) expect(got.error).toBe(later)
            else expect(['reply-twice', 'event-not-running', 'reply-then-garbage']).toContain(c.garbage.kind)
            await expect(checkout.echo('again')).rejects.toBe(later)
            checkout.release()
          }
        }
        counts[key] = (counts[key] ?? 0) + 1
        await checkControl(run)
      }),
      { numRuns, endOnFailure: true, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
    )
    const total = Object.values(counts).reduce((a, b) => a + b, 0)
    console.log(`fuzz-client-input: ${total} cases in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`, counts)
    expect(total).toBeGreaterThanOrEqual(1_000)
    // Only the control connection is left, still busy with its checkout.
    expect(client.stats()).toMatchObject({ workers: 1, busy: 1, idle: 0, connecting: 0, pending: 0 })
    control.release()
  }, 120_000)
})
