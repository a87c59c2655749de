/**
 * Issue 12 (6): while a server starts, a spare killed from outside (the OOM killer, an operator) is
 * replaced; the module is blamed (WorkerModuleError) only when it fails by itself, or when workers
 * keep dying by a signal.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Server, WorkerModuleError } from '@forkd/server'
import { fixture, tempDir, waitFor, waitForExit, workerChildren } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

function capturingLogger() {
  const records: { level: string; message: string }[] = []
  const at = (level: string) => (message: string) => void records.push({ level, message })
  return { records, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } }
}

describe('Server.start and workers that die before they are ready', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
    expect(workerChildren()).toEqual([])
  })

  function listenPath(): string {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    return join(dir, 's.sock')
  }

  it('replaces a spare killed from outside while the server starts, and starts', async () => {
    const { records, logger } = capturingLogger()
    const listen = listenPath()
    const starting = Server.start({ listen, worker: fixture('slow-load-worker.mjs'), spares: 2, logger, env: { ...process.env, FORKD_TEST_LOAD_MS: '1500' } })
    // The slow module keeps both spares loading for 1.5 s: kill one of them meanwhile.
    const victim = await waitFor(() => workerChildren()[0], 'a worker process')
    process.kill(victim, 'SIGKILL')
    const server = await starting
    cleanups.push(() => server.close({ drain: false }))
    await waitForExit([victim])
    expect(server.status()).toMatchObject({ state: 'listening', exits: { SIGKILL: 1 } })
    expect(server.status().started).toBeGreaterThanOrEqual(3)
    expect(records).toContainEqual({ level: 'warn', message: expect.stringMatching(/\[\d+\] worker killed by SIGKILL before it was ready; starting another$/) })
    // And it serves, on a worker other than the one killed.
    const conn = await connectRaw(listen)
    expect(conn.hello.pid).not.toBe(victim)
    expect(await conn.call('pid')).toEqual([2, 1, conn.hello.pid])
    conn.ws.close()
  })

  it('blames a module that kills itself with a signal at import, after a bounded number of workers in a row', async () => {
    const listen = listenPath()
    const error = await Server.start({ listen, worker: fixture('self-kill-worker.mjs'), spares: 2, logger: capturingLogger().logger }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerModuleError)
    expect((error as Error).message).toMatch(/^worker module \/.*self-kill-worker\.mjs: worker killed by SIGKILL before it was ready \(5 workers in a row\)$/)
    expect(existsSync(listen)).toBe(false)
  })

  it('blames a module that exits by itself at once, with no second attempt', async () => {
    const marker = join('/tmp', `fd-break-${process.pid}-${Date.now()}`)
    writeFileSync(marker, '')
    cleanups.push(() => rmSync(marker, { force: true }))
    const { records, logger } = capturingLogger()
    const error = await Server.start({ listen: listenPath(), worker: fixture('flaky-load-worker.mjs'), spares: 2, logger, env: { ...process.env, FORKD_TEST_BREAK: marker } })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerModuleError)
    expect((error as Error).message).toMatch(/^worker module \/.*flaky-load-worker\.mjs: worker exited with code 5 before it was ready; its last output: broken on purpose/)
    // Only the two spares of the first round were ever started.
    expect(records.filter((r) => / starting$/.test(r.message))).toHaveLength(2)
    expect(records.filter((r) => /starting another|next start in/.test(r.message))).toEqual([])
  })
})
