/**
 * Issue 12, item 6: a spare killed from outside while the server starts (the OOM killer, an
 * operator) is retried: `Server.start` still resolves and serves. Only a module that fails by
 * itself makes the start fail with WorkerModuleError, and its message reads correctly.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { Server, WorkerModuleError } from '@forkd/server'
import { fixture, isAlive, quietLogger, tempDir, waitFor, waitForExit, workerChildren } from '../support/harness.js'

describe('Server.start when a starting worker process dies', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('resolves and serves when one of its two loading spares is SIGKILLed from outside', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const seen = new Set<number>()
    cleanups.push(() => {
      for (const pid of seen) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    })
    // The module takes 2 s to load: time enough to kill a worker process in the middle of it.
    const starting = Server.start({
      listen: path,
      worker: fixture('slow-load-worker.mjs'),
      spares: 2,
      logger: quietLogger,
      env: { ...process.env, FORKD_TEST_LOAD_MS: '2000' },
    })
    const settled = starting.then((server) => ({ server }), (error: unknown) => ({ error }))
    const loading = (await waitFor(() => {
      const pids = workerChildren()
      return pids.length === 2 ? pids : undefined
    }, 'two worker processes loading the module'))!
    for (const pid of loading) seen.add(pid)
    const victim = loading[0]!
    process.kill(victim, 'SIGKILL')

    const outcome = await settled
    if ('error' in outcome) throw new Error(`Server.start rejected after a spare was killed from outside: ${String(outcome.error)}`)
    const server = outcome.server
    cleanups.push(() => server.close({ drain: false }))
    expect(server.state).toBe('listening')
    expect(existsSync(path)).toBe(true)
    // The killed spare was replaced: two spares again.
    await waitFor(() => server.status().spares === 2, 'two spares', 15_000)
    for (const pid of workerChildren()) seen.add(pid)

    const client = new Client({ connect: path, minWorkers: 0, timeout: 15_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const pid = await c.pid()
    expect(pid).toBe(c.worker.pid)
    expect(pid).not.toBe(victim)
    c.release()
    await client.close()
    await server.close({ drain: false })
    await waitForExit(seen)
  }, 40_000)

  it('rejects with WorkerModuleError when the module kills its own process, with a message that reads correctly', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const worker = fixture('self-kill-worker.mjs')
    const error = await Server.start({ listen: path, worker, spares: 2, logger: quietLogger }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerModuleError)
    expect((error as WorkerModuleError).code).toBe('FORKD_ERR_WORKER_MODULE')
    expect((error as WorkerModuleError).module).toBe(worker)
    const message = (error as Error).message
    expect(message).toContain(worker)
    expect(message).toMatch(/killed by SIGKILL/)
    // Today: "the worker process worker killed by SIGKILL before it was ready".
    expect(message).not.toMatch(/worker process worker/)
    // No word twice in a row anywhere ("the the", "process process").
    expect(message).not.toMatch(/\b(\w+)\s+\1\b/i)
    expect(existsSync(path)).toBe(false)
    expect(workerChildren()).toEqual([])
  }, 40_000)
})
