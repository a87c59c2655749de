/**
 * Issue 12, review: the worker's queue of pipelined calls is bounded at Limits.maxQueuedCalls; one
 * call more ends the connection with a protocol error (4001) naming the limit.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Codec, Limits } from '@forkd/protocol'
import { startEnv, waitForExit, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw, type RawConnection } from '../support/raw-connection.js'

const codec = new Codec()

/** Sends `[method, args]` calls with consecutive ids from `firstId`, in frames of at most maxBatch messages. */
function sendCalls(conn: RawConnection, firstId: number, calls: [string, unknown[]][]): void {
  for (let start = 0; start < calls.length; start += Limits.maxBatch) {
    const frame = calls.slice(start, start + Limits.maxBatch).map(([method, args], i) => codec.encode([1, firstId + start + i, 0, method, args, 0]))
    conn.ws.send(Buffer.concat(frame))
  }
}

const replies = (conn: RawConnection) => conn.messages.filter((m): m is [number, number, unknown] => Array.isArray(m) && m[0] === 2)

describe('the queue of pipelined calls in a worker', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it(`holds ${Limits.maxQueuedCalls} calls behind a running one, and closes with 4001 at one more`, async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    sendCalls(conn, 1, [['sleep', [60_000]]])
    sendCalls(conn, 2, Array.from({ length: Limits.maxQueuedCalls }, (_, i) => ['echo', [i]] as [string, unknown[]]))
    // ws answers a ping after the frames before it: all of them were taken, and the connection is open.
    await new Promise<void>((resolve) => {
      conn.ws.once('pong', () => resolve())
      conn.ws.ping()
    })
    expect(conn.ws.readyState).toBe(conn.ws.OPEN)
    sendCalls(conn, 2 + Limits.maxQueuedCalls, [['echo', ['one too many']]])
    expect(await conn.closed).toEqual({ code: 4001, reason: `too many queued calls: more than ${Limits.maxQueuedCalls} waiting to run (maxQueuedCalls)` })
    expect(replies(conn)).toEqual([])
    await waitForExit([conn.hello.pid])
  })

  it('runs, in order, calls that arrive while thousands already ran behind a waiting call', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    // 4096 calls run at once, then the pump waits on the sleep; the next frame arrives meanwhile.
    sendCalls(conn, 1, [...Array.from({ length: Limits.maxBatch - 1 }, (_, i) => ['echo', [i + 1]] as [string, unknown[]]), ['sleep', [1_000]]])
    await conn.waitFor((m) => Array.isArray(m) && m[0] === 2 && m[1] === Limits.maxBatch - 1)
    sendCalls(conn, Limits.maxBatch + 1, Array.from({ length: 10 }, (_, i) => ['echo', [Limits.maxBatch + 1 + i]] as [string, unknown[]]))
    await conn.waitFor((m) => Array.isArray(m) && m[0] === 2 && m[1] === Limits.maxBatch + 10)
    const ids = replies(conn).map((m) => m[1])
    expect(ids).toEqual(Array.from({ length: Limits.maxBatch + 10 }, (_, i) => i + 1))
    expect(replies(conn).filter((m) => m[1] !== Limits.maxBatch).every((m) => m[2] === m[1])).toBe(true)
    conn.ws.close()
  })
})
