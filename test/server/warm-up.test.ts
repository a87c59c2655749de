/**
 * A spare warms its code paths with a short checkout of its own before it says ready
 * (packages/server/src/worker/prewarm.ts). It must leave no trace a client can see: none of the
 * module's methods runs (not even one called `warm`, the warm-up's own method name), and `log`
 * records of the first real call reach its caller, with one connection per process (where each
 * session installs itself as the sink) and with several (where calls find theirs through
 * AsyncLocalStorage). A warm-up that cannot run (here: the workers' TMPDIR does not exist, so its
 * throwaway socket cannot be made) is a warning in the server's log naming the worker and why, and
 * the worker serves all the same. Its socket file, named after the worker's pid, never outlives it:
 * a worker removes one left by a dead process with its pid, and the server removes the one of a
 * worker that died before it was ready.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { LogRecord } from '@forkd/client'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Server } from '@forkd/server'
import { fixture, quietLogger, serverLog, startEnv, tempDir, waitFor, workerChildren, type TestEnv } from '../support/harness.js'

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
      // every worker started (the one served, the spares started after it) warmed up
      await waitFor(() => env!.server.status().starting === 0 && env!.server.status().spares >= 1 && env!.server.status().started >= 2, 'the next spare')
      expect(serverLog.filter((r) => r.message.includes('could not warm up'))).toEqual([])
    })
  }

  it('that cannot run is a warning naming the worker and why, and the worker serves all the same', async () => {
    const missing = join(process.env.TMPDIR ?? '/tmp', `forkd-no-such-dir-${process.pid}`)
    const before = serverLog.length
    env = await startEnv('warm-up-witness.mjs', { spares: 1, env: { ...process.env, TMPDIR: missing } })
    const client = env.client<Witness>({ minWorkers: 0 })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    expect(await c.calls()).toBe(1)
    c.release()
    const warnings = serverLog.slice(before).filter((r) => r.message.includes('could not warm up'))
    expect(warnings.length).toBeGreaterThanOrEqual(1)
    expect(warnings[0]).toMatchObject({ level: 'warn' })
    expect(warnings[0]!.message).toMatch(/^forkd-worker:\(\d+\)\[\d+\] could not warm up \(listen (ENOENT|EACCES)[^)]*.*forkd-no-such-dir-[^)]*\); it serves all the same/)
  })

  it('removes a socket that a dead process with the same pid left at its path, and warms up all the same', async () => {
    const workerTmp = tempDir()
    try {
      const before = serverLog.length
      env = await startEnv('stale-warm-socket-worker.mjs', { spares: 1, env: { ...process.env, TMPDIR: workerTmp } })
      const client = env.client<{ pid(): number }>({ minWorkers: 0 })
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      expect(await c.pid()).toBe(c.worker.pid)
      c.release()
      await waitFor(() => env!.server.status().starting === 0 && env!.server.status().started >= 2, 'the next spare')
      expect(serverLog.slice(before).filter((r) => r.message.includes('could not warm up'))).toEqual([])
      // each worker wrote its file, and its warm-up listened there and removed it
      expect(readdirSync(workerTmp)).toEqual([])
    } finally {
      rmSync(workerTmp, { recursive: true, force: true })
    }
  })

  it('of a worker killed before it is ready leaves no socket behind: the server removes it', async () => {
    const workerTmp = tempDir()
    try {
      // The module writes the file, then never finishes loading: startTimeout kills the worker.
      const start = Server.start({
        listen: join(workerTmp, 's.sock'), worker: fixture('stale-warm-socket-worker.mjs'), spares: 1, startTimeout: 1000,
        logger: quietLogger, env: { ...process.env, TMPDIR: workerTmp, HANG_AFTER_STALE_SOCKET: '1' },
      })
      await waitFor(() => readdirSync(workerTmp).find((f) => f.startsWith('forkd-warm-')), 'the worker to write its file')
      await expect(start).rejects.toThrow(/not ready within 1000 ms of its start \(startTimeout\)/)
      await waitFor(() => workerChildren().length === 0, 'the killed worker to be gone')
      expect(readdirSync(workerTmp).filter((f) => f.startsWith('forkd-warm-'))).toEqual([])
    } finally {
      rmSync(workerTmp, { recursive: true, force: true })
    }
  })
})
