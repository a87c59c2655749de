/**
 * Issue 4: a server restarted again and again under steady load, the way a deployment does it
 * (`forkd serve` started on the same path while the old one runs), loses no call.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { isAlive, tempDir, waitFor, workerChildren } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag, type ServeProcess, killTagged } from '../support/cli.js'

type Who = { version: string; pid: number; server: number }

describe('zero-downtime restart', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('serves every call of 16 concurrent checkout loops (8 workers) while the server is replaced 20 times, alternating versions, and leaves one server', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const servers: ServeProcess[] = []
    // Every server and worker of this test carries the tag, so a /proc scan finds them all, even
    // workers reparented after their server exited.
    const tag = uniqueTag()
    const start = async (version: string) => {
      const server = serveCli(path, 'version-worker.mjs', { env: { FORKD_TEST_VERSION: version, FORKD_TEST_RUN: tag }, args: ['--spares', '2'] })
      servers.push(server)
      await server.listening()
      return server
    }
    cleanups.push(() => {
      killTagged(tag)
    })

    await start('v1')
    const client = new Client({ connect: path, maxWorkers: 8, timeout: 30_000 })
    cleanups.push(() => client.close())

    const served: (Who & { at: number })[] = []
    const errors: unknown[] = []
    let calls = 0
    let running = true
    // A failed wait below ends the test, not the loops: stop them first, or they go on checking out
    // against dead servers until the test process runs out of memory.
    cleanups.push(() => {
      running = false
    })
    const loops = Promise.all(Array.from({ length: 16 }, async (_, loop) => {
      for (let n = 0; running; n++) {
        try {
          const c = await client.checkout()
          try {
            const who = (await c.call('whoami')) as Who
            calls++
            await c.call('sleep', (loop + n) % 4)
            calls++
            if ((await c.call('echo', n)) !== n) throw new Error(`echo ${n} came back wrong`)
            calls++
            served.push({ ...who, at: Date.now() })
          } finally {
            c.release()
          }
        } catch (error) {
          errors.push(error)
        }
      }
    }))

    const began = Date.now()
    await waitFor(() => served.length >= 50, 'the first server to serve', 20_000)
    const restarts = 20
    for (let i = 1; i <= restarts; i++) {
      const server = await start(i % 2 === 1 ? 'v2' : 'v1')
      // Restart again once the new server carries the load: 10 checkouts served by it.
      await waitFor(() => served.filter((s) => s.server === server.pid).length >= 10, `restart ${i} to serve`, 30_000)
    }
    const last = servers.at(-1)!
    const old = servers.slice(0, -1)
    // Every replaced server drains and exits 0.
    const exits = await Promise.all(old.map((s) => s.exited))
    expect(exits).toEqual(old.map(() => ({ code: 0, signal: null })))
    running = false
    await loops
    const elapsed = Date.now() - began

    expect(errors).toEqual([])
    expect(new Set(served.map((s) => s.version))).toEqual(new Set(['v1', 'v2']))
    expect(new Set(served.map((s) => s.server))).toEqual(new Set(servers.map((s) => s.pid)))
    expect(client.stats().retired).toMatchObject({ died: 0, fatal: 0, error: 0 })

    // Only the last server is left, with the client's workers and its 2 spares: every worker of an
    // old server, spare or active, has exited, and none was orphaned.
    expect(old.filter((s) => isAlive(s.pid))).toEqual([])
    const clientWorkers = client.stats().workers
    await waitFor(() => workerChildren(last.pid).length === clientWorkers + 2, `${clientWorkers} client workers and 2 spares under the last server`)
    expect(processesTagged(tag)).toEqual([last.pid, ...workerChildren(last.pid)].sort((a, b) => a - b))

    await client.close()
    last.child.kill('SIGTERM')
    expect(await last.exited).toEqual({ code: 0, signal: null })
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
    console.log(`zero-downtime restart: ${restarts} restarts in ${elapsed} ms, ${served.length} checkouts, ${calls} calls, ${errors.length} errors; ${served.filter((s) => s.version === 'v1').length} on v1, ${served.filter((s) => s.version === 'v2').length} on v2; ${client.stats().retired.serverReplaced} workers retired as serverReplaced`)
  }, 240_000)
})
