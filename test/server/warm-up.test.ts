/**
 * A spare warms its code paths with a short checkout of its own before it says ready
 * (packages/server/src/worker/prewarm.ts). It must leave no trace a client can see: none of the
 * module's methods runs (not even one called `warm`, the warm-up's own method name), and `log`
 * records of the first real call reach its caller, with one connection per process (where each
 * session installs itself as the sink) and with several (where calls find theirs through
 * AsyncLocalStorage).
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { LogRecord } from '@forkd/client'
import { startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'

type Witness = { warm(): number; calls(): number; logged(message: string): number }

describe('the warm-up of a spare', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  for (const concurrency of [1, 2]) {
    it(`runs none of the module's methods and leaves log records to the real caller (concurrency ${concurrency})`, async () => {
      env = await startEnv('warm-up-witness.mjs', { spares: 1, concurrency })
      const client = env.client<Witness>({ minWorkers: 0, maxCheckouts: 1 })
      const records: LogRecord[] = []
      const c = await client.checkout({ log: (r) => records.push(r) })
      env.pids.add(c.worker.pid)
      // the first call of the module is this one
      expect(await c.calls()).toBe(1)
      expect(await c.warm()).toBe(2)
      expect(await c.logged('first real log record')).toBe(c.worker.pid)
      c.release()
      await waitFor(() => records.some((r) => r.level === 'done'), 'the done record of the release')
      expect(records.filter((r) => r.level === 'info').map((r) => [r.message, r.method, r.pid])).toEqual([['first real log record', 'logged', c.worker.pid]])
    })
  }
})
