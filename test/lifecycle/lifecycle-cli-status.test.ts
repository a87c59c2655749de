/**
 * Issue 4: `forkd status PATH` reports the server's pid, version, uptime, worker counts, and how
 * many workers started, exited and were killed, by reason.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, WorkerDiedError } from '@forkd/client'
import { fetchStatus } from '@forkd/server'
import { tempDir, waitFor } from '../support/harness.js'
import { cliPath, processesTagged, serveCli, uniqueTag, killTagged } from '../support/cli.js'

const version = (JSON.parse(readFileSync(new URL('../../packages/server/package.json', import.meta.url), 'utf8')) as { version: string }).version

describe('forkd status', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('reports pid, version, uptime, spares and active workers, and started/exited/killed counts with reasons', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const server = serveCli(path, 'echo-worker.mjs', { env: { FORKD_TEST_RUN: tag }, args: ['--name', 'st', '--spares', '2', '--hung-worker-timeout', '1000'] })
    cleanups.push(() => {
      killTagged(tag)
    })
    await server.listening()
    const status = () => {
      const result = spawnSync(process.execPath, [cliPath, 'status', path], { encoding: 'utf8', timeout: 20_000 })
      expect(result.status).toBe(0)
      return JSON.parse(result.stdout) as Record<string, unknown>
    }

    const before = status()
    // The status connection itself is served by a worker, taken from the spares.
    expect(before).toMatchObject({
      pid: server.pid, version, protocol: 1, name: 'st', state: 'listening', listen: path,
      active: 1, pending: 0, exited: 0, refused: 0, killed: { hung: 0, unresponsive: 0, shutdown: 0, startTimeout: 0 }, exits: {},
    })
    expect(before.uptime).toEqual(expect.any(Number))
    expect(before.started).toBeGreaterThanOrEqual(2)

    const client = new Client({ connect: path, minWorkers: 1, maxWorkers: 4, timeout: 20_000 })
    cleanups.push(() => client.close())
    const [a, b, c, held] = await Promise.all([client.checkout(), client.checkout(), client.checkout(), client.checkout()])
    const died = await Promise.all([
      a.sleep(60_000).catch((e: unknown) => e), // busy past hungWorkerTimeout: killed as hung
      b.spinForever().catch((e: unknown) => e), // stuck in synchronous code: killed as unresponsive
      c.exit(3).catch((e: unknown) => e), // exits on its own with code 3
    ])
    for (const error of died) expect(error).toBeInstanceOf(WorkerDiedError)
    for (const x of [a, b, c]) x.release()
    // The three status connections so far exited with code 0, as the three above did not.
    await waitFor(() => (status().exits as Record<string, number>)['3'] === 1, 'the exit to be counted')

    const after = status()
    expect(after).toMatchObject({
      pid: server.pid, version, state: 'listening',
      active: 2, // the held checkout and the status connection
      killed: { hung: 1, unresponsive: 1, shutdown: 0, startTimeout: 0 },
      exits: { SIGKILL: 2, '3': 1 },
    })
    expect(after.uptime as number).toBeGreaterThan(before.uptime as number)
    expect(after.started as number).toBeGreaterThanOrEqual((before.started as number) + 4)
    expect(after.exited as number).toBeGreaterThanOrEqual(3)
    expect(after.spares as number).toBeLessThanOrEqual(2)
    // fetchStatus() is what the command prints.
    expect(await fetchStatus(path)).toMatchObject({ pid: server.pid, killed: { hung: 1, unresponsive: 1, shutdown: 0, startTimeout: 0 } })

    held.release()
    await client.close()
    server.child.kill('SIGTERM')
    expect(await server.exited).toEqual({ code: 0, signal: null })
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })
})
