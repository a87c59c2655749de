/**
 * Issue 12, review: `server.close()` and `forkd serve` on SIGTERM finish within the drain timeout
 * plus the SIGTERM → SIGKILL grace (2 s) even when a worker spins in synchronous code and ignores
 * SIGTERM: the close escalates to SIGKILL and never hangs.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, WorkerDiedError } from '@forkd/client'
import { serverLog, startEnv, tempDir, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag, killTagged } from '../support/cli.js'

const drainTimeout = 500
/** SIGTERM → SIGKILL grace of a terminated worker (worker-process.ts). */
const terminateGrace = 2_000
/** Room for process exits and scheduling on a loaded machine. */
const margin = 4_000

describe('closing with a worker that ignores SIGTERM in a busy loop', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  let env: TestEnv | undefined
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('server.close() kills it with SIGKILL after the drain and the grace, and resolves', async () => {
    env = await startEnv('stubborn-worker.mjs', { spares: 1, drainTimeout })
    const client = env.client<{ spinIgnoringSigterm(): never }>({ minWorkers: 0 })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const call = c.spinIgnoringSigterm().catch((e: unknown) => e)
    await waitFor(() => serverLog.some((r) => r.message.includes(`[${c.worker.pid}] spinning, deaf to SIGTERM`)), 'the call to spin')
    // The spare that replaced the used one is ready: at close it exits when asked, with no signal.
    await waitFor(() => env!.server.status().spares === 1 && env!.server.status().starting === 0, 'a ready spare')

    const started = Date.now()
    await env.server.close()
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(drainTimeout + terminateGrace - 100)
    expect(took).toBeLessThan(drainTimeout + terminateGrace + margin)
    const error = await call
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as Error).message).toContain('worker killed by SIGKILL: server shutting down')
    expect(env.server.status()).toMatchObject({ state: 'closed', active: 0, ending: 0, killed: { shutdown: 1 }, exits: { SIGKILL: 1 } })
    c.release()
  })

  it('forkd serve on SIGTERM exits 0 within the drain timeout plus the grace', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const server = serveCli(path, 'stubborn-worker.mjs', { env: { FORKD_TEST_RUN: tag }, args: ['--spares', '1', '--drain-timeout', String(drainTimeout)] })
    cleanups.push(() => {
      killTagged(tag)
    })
    await server.listening()
    const client = new Client<{ spinIgnoringSigterm(): never }>({ connect: path, minWorkers: 0 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const call = c.spinIgnoringSigterm().catch((e: unknown) => e)
    await waitFor(() => server.stderr().includes(`[${c.worker.pid}] spinning, deaf to SIGTERM`), 'the call to spin')

    const started = Date.now()
    server.child.kill('SIGTERM')
    expect(await server.exited).toEqual({ code: 0, signal: null })
    expect(Date.now() - started).toBeLessThan(drainTimeout + terminateGrace + margin)
    expect(await call).toBeInstanceOf(WorkerDiedError)
    c.release()
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })
})
