/**
 * Issue 12, review: the worker's queue of pipelined calls has a bound (Limits.maxQueuedCalls,
 * 65 536 messages by default), like every other queue that peer input can grow. Past it the worker
 * closes the connection with 4001 (protocol error), with a reason naming the limit, and exits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Codec, CloseCode, Limits, MessageType } from '@forkd/protocol'
import { startEnv, waitForExit, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

/** The bound the worker must enforce; 65 536 until the constant exists. */
const maxQueuedCalls = (Limits as { maxQueuedCalls?: number }).maxQueuedCalls ?? 65_536

describe("the worker's queue of pipelined calls", () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('fault-worker.mjs', { spares: 1 })
  })
  afterAll(() => env.cleanup())

  it(`is bounded: past ${maxQueuedCalls} queued calls the worker closes with 4001 naming the limit, and exits`, async () => {
    expect(maxQueuedCalls).toBe(65_536)
    const conn = await connectRaw(env.path)
    const pid = conn.hello.pid
    env.pids.add(pid)
    const codec = new Codec()
    // The first call waits for ten minutes: every later one stays queued behind it.
    const total = maxQueuedCalls + 2 * Limits.maxBatch
    let id = 0
    while (id < total) {
      const batch: Buffer[] = []
      for (let i = 0; i < Limits.maxBatch && id < total; i++) batch.push(codec.encode([MessageType.Call, ++id, 0, 'sleep', [600_000], 0]))
      conn.ws.send(codec.frame(batch))
    }
    // A ping goes behind every frame sent: once its pong is back, the worker has read them all.
    const pong = new Promise<'pong'>((resolve) => conn.ws.once('pong', () => resolve('pong')))
    conn.ws.ping()
    const first = await Promise.race([conn.closed, pong])
    // A close can come a moment after the pong; give it a second before calling it missing.
    const closed = first === 'pong' ? await Promise.race([conn.closed, new Promise<string>((r) => setTimeout(() => r(`still open after ${total} queued calls`), 1_000))]) : first
    if (typeof closed === 'string') conn.ws.terminate()
    expect(closed).toMatchObject({ code: CloseCode.ProtocolError })
    expect((closed as { reason: string }).reason).toMatch(/maxQueuedCalls|65[ ,._]?536/)
    // No call was answered: the first one was still sleeping.
    expect(conn.messages.filter((m) => Array.isArray(m) && (m[0] === MessageType.Ok || m[0] === MessageType.Error))).toEqual([])
    await waitForExit([pid])
  }, 30_000)

  it('is not hit by a long pipeline below the bound (8 frames of 4096 calls queued behind a slow call, all answered)', async () => {
    const conn = await connectRaw(env.path)
    env.pids.add(conn.hello.pid)
    const codec = new Codec()
    const total = 8 * Limits.maxBatch
    let id = 0
    while (id < total) {
      const batch: Buffer[] = []
      for (let i = 0; i < Limits.maxBatch; i++) {
        ++id
        batch.push(codec.encode(id === 1 ? [MessageType.Call, id, 0, 'sleep', [300], 0] : [MessageType.Call, id, 0, 'echo', [id], 0]))
      }
      conn.ws.send(codec.frame(batch))
    }
    await conn.waitFor((m) => Array.isArray(m) && m[0] === MessageType.Ok && m[1] === total)
    const replies = conn.messages.filter((m) => Array.isArray(m) && m[0] === MessageType.Ok) as [number, number, number][]
    expect(replies).toHaveLength(total)
    expect(replies[0]).toEqual([MessageType.Ok, 1, 300])
    expect(replies.slice(1).every(([, rid, value]) => rid === value)).toBe(true)
    conn.ws.close(1000)
    expect((await conn.closed).code).toBe(1000)
    await waitForExit([conn.hello.pid])
  }, 30_000)
})
