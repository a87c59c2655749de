/**
 * Issue 12, review: `server.close()` and `forkd serve` on SIGTERM finish within the drain timeout
 * plus the SIGTERM-to-SIGKILL grace and a small margin, even when a worker spins in synchronous
 * code and ignores SIGTERM: the server escalates to SIGKILL. A close that never resolves is the
 * most common shutdown bug of process pools.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, WorkerDiedError } from '@forkd/client'
import { isAlive, startEnv, tempDir, waitFor, waitForExit } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag, killTagged } from '../support/cli.js'
import { killAll } from '../support/faults.js'

/** Drain timeout + 2 s grace + a wide margin for a loaded machine. */
const bound = 6_000

describe('closing a server whose worker spins and ignores SIGTERM', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('server.close({ timeout: 1000 }) resolves within the bound and the worker is gone', async () => {
    const env = await startEnv('fault-worker.mjs', { spares: 1 })
    cleanups.push(() => env.cleanup())
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 60_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    cleanups.push(() => killAll([pid]))
    const marker = join(env.dir, 'spinning')
    const call = c.spinIgnoringTerm(marker).catch((e: unknown) => e)
    await waitFor(() => existsSync(marker), 'the worker to start spinning')

    const started = Date.now()
    const closed = await Promise.race([env.server.close({ timeout: 1_000 }).then(() => 'closed'), new Promise((r) => setTimeout(() => r('still closing'), 20_000))])
    const elapsed = Date.now() - started
    expect(closed).toBe('closed')
    expect(elapsed).toBeGreaterThanOrEqual(900)
    expect(elapsed).toBeLessThan(bound)
    expect(isAlive(pid)).toBe(false)
    const error = await call
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as WorkerDiedError).signal).toBe('SIGKILL')
    expect(env.server.status()).toMatchObject({ state: 'closed', active: 0, spares: 0, starting: 0, ending: 0 })
    c.release()
  }, 40_000)

  it('forkd serve --drain-timeout 1000 exits 0 on SIGTERM within the bound, and no process of it is left', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    cleanups.push(() => killTagged(tag))
    const server = serveCli(path, 'fault-worker.mjs', { env: { FORKD_TEST_RUN: tag }, args: ['--spares', '1', '--drain-timeout', '1000'] })
    cleanups.push(() => server.kill())
    await server.listening()
    const client = new Client({ connect: path, minWorkers: 1, maxWorkers: 1, timeout: 60_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const pid = c.worker.pid
    const marker = join(dir, 'spinning')
    const call = c.spinIgnoringTerm(marker).catch((e: unknown) => e)
    await waitFor(() => existsSync(marker), 'the worker to start spinning')

    const started = Date.now()
    server.child.kill('SIGTERM')
    const exit = await Promise.race([server.exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))])
    const elapsed = Date.now() - started
    expect(exit).toEqual({ code: 0, signal: null })
    expect(elapsed).toBeLessThan(bound)
    expect(await call).toBeInstanceOf(WorkerDiedError)
    await waitForExit([pid], 2_000)
    c.release()
    await client.close()
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the server to exit', 3_000)
  }, 40_000)
})
