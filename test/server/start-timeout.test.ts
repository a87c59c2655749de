/**
 * startTimeout: a worker not ready that long after its start (its module hangs at import, its
 * setup never settles) is killed. While the server starts, that fails Server.start with
 * WorkerModuleError; later, the worker is replaced and the kill counted, so a start that hangs
 * never holds a start slot for good.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Server, WorkerModuleError } from '@forkd/server'
import { fixture, quietLogger, serverLog, startEnv, tempDir, waitFor, workerChildren, type TestEnv } from '../support/harness.js'

describe('startTimeout', () => {
  let env: TestEnv | undefined
  const dirs: string[] = []
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
    expect(workerChildren()).toEqual([])
  })

  it('fails Server.start with WorkerModuleError when the first worker is not ready in time', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const marker = join(dir, 'hang')
    writeFileSync(marker, '')
    const started = Date.now()
    const start = Server.start({
      listen: join(dir, 's.sock'), worker: fixture('hang-on-load-worker.mjs'), spares: 1, startTimeout: 500,
      logger: quietLogger, env: { ...process.env, HANG_MARKER: marker },
    })
    await expect(start).rejects.toThrow(WorkerModuleError)
    await expect(start).rejects.toThrow(/hang-on-load-worker\.mjs: worker killed: not ready within 500 ms of its start \(startTimeout\)/)
    // killed at the deadline, not at some later sweep
    expect(Date.now() - started).toBeLessThan(10_000)
    await waitFor(() => workerChildren().length === 0, 'the killed worker to be gone')
  })

  it('after the start, kills a spare that is not ready in time, counts it, and starts others until one is', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const marker = join(dir, 'hang')
    env = await startEnv('hang-on-load-worker.mjs', { spares: 1, startTimeout: 500, env: { ...process.env, HANG_MARKER: marker } })
    const before = serverLog.length
    const client = env.client<{ pid(): number }>({ minWorkers: 0, maxCheckouts: 1 })
    // From now on every new worker hangs at import; this checkout takes the ready spare.
    writeFileSync(marker, '')
    const first = await client.checkout()
    env.pids.add(first.worker.pid)
    expect(await first.pid()).toBe(first.worker.pid)
    first.release()
    await waitFor(() => env!.server.status().killed.startTimeout >= 2, 'two start timeouts')
    const errors = serverLog.slice(before).filter((r) => r.level === 'error' && r.message.includes('not ready within 500 ms of its start (startTimeout)'))
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors[0]!.message).toMatch(/^forkd-worker:\(\d+\)\[\d+\] worker killed: not ready within 500 ms/)
    expect(env.server.status().spares).toBe(0)
    // The module can start again: the next worker after the backoff is ready and serves.
    rmSync(marker)
    const second = await client.checkout({ timeout: 20_000 })
    env.pids.add(second.worker.pid)
    expect(second.worker.pid).not.toBe(first.worker.pid)
    expect(await second.pid()).toBe(second.worker.pid)
    second.release()
  })
})
