/**
 * Issue 4: SIGHUP on `forkd serve` replaces the spares with fresh processes and leaves busy workers
 * alone: their checkout keeps working, and the worker is retired only when it is released.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { startSleep, tempDir, waitFor, waitForExit, workerChildren } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag, killTagged } from '../support/cli.js'

describe('forkd serve and SIGHUP', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('replaces spares with new processes; a busy checkout keeps its worker until it is released', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const server = serveCli(path, 'version-worker.mjs', { env: { FORKD_TEST_RUN: tag }, args: ['--spares', '2'] })
    cleanups.push(() => {
      killTagged(tag)
    })
    await server.listening()
    const client = new Client({ connect: path, minWorkers: 1, maxWorkers: 1, timeout: 20_000 })
    cleanups.push(() => client.close())

    const c = await client.checkout()
    const busy = c.worker.pid
    await waitFor(() => workerChildren(server.pid).length === 3, 'the busy worker and two spares')
    const oldSpares = workerChildren(server.pid).filter((pid) => pid !== busy)
    const { running, started } = startSleep(c, 1_000)
    await started

    server.child.kill('SIGHUP')
    await waitForExit(oldSpares)
    const fresh = (await waitFor(() => {
      const spares = workerChildren(server.pid).filter((pid) => pid !== busy)
      return spares.length === 2 ? spares : undefined
    }, 'two fresh spares'))!
    expect(fresh.filter((pid) => oldSpares.includes(pid))).toEqual([])

    // The busy worker was not touched: its call finishes and the checkout keeps working.
    expect(await running).toBe(1_000)
    expect(await c.call('whoami')).toMatchObject({ pid: busy, server: server.pid })
    expect(await c.echo('still mine')).toBe('still mine')
    expect(workerChildren(server.pid)).toContain(busy)

    // Released, it is retired; the next checkout gets one of the fresh processes.
    c.release()
    await waitForExit([busy])
    expect(client.stats().retired).toMatchObject({ serverReplaced: 1, died: 0, fatal: 0 })
    const d = await client.checkout()
    expect(fresh).toContain(d.worker.pid)
    d.release()

    await client.close()
    server.child.kill('SIGTERM')
    expect(await server.exited).toEqual({ code: 0, signal: null })
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })
})
