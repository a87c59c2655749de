import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { MessageType } from '@forkd/protocol'
import { startFakeWorker } from '../support/fake-worker.js'
import { startEnv, type TestEnv } from '../support/harness.js'

describe('calls made without awaiting', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('run in the order they were made, on the same worker', async () => {
    const client = env.client()
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const calls = Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? c.sleep(0).then(() => c.counter()) : c.counter()))
    const direct = await Promise.all(Array.from({ length: 500 }, () => c.counter()))
    expect(direct).toEqual([...direct].sort((a, b) => a - b))
    expect(new Set(direct).size).toBe(500)
    await Promise.all(calls)
    expect(await c.pid()).toBe(c.worker.pid)
    c.release()
  })

  it('are sent before earlier ones reply (pipelined), in one frame when made in one tick', async () => {
    const fake = await startFakeWorker()
    try {
      const client = new Client({ connect: fake.path, minWorkers: 1, maxWorkers: 1 })
      const c = await client.checkout()
      const calls = [c.a(1), c.b(2), c.c(3)]
      // The fake worker has not replied to anything yet: all three calls must still arrive.
      const conn = fake.connections[0]!
      const received = await conn.waitForMessages(3)
      expect(received.map((m) => (m as unknown[]).slice(0, 5))).toEqual([
        [MessageType.Call, 1, 0, 'a', [1]],
        [MessageType.Call, 2, 0, 'b', [2]],
        [MessageType.Call, 3, 0, 'c', [3]],
      ])
      // Made in one tick, they travel in one frame: one write, one WebSocket message.
      expect(conn.frames).toHaveLength(1)
      expect(conn.frames[0]).toHaveLength(3)
      conn.send([MessageType.Ok, 1, 'A'], [MessageType.Ok, 2, 'B'], [MessageType.Ok, 3, 'C'])
      expect(await Promise.all(calls)).toEqual(['A', 'B', 'C'])
      c.release()
      await client.close()
    } finally {
      await fake.close()
    }
  })
})
