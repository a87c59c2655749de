import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { Client, WorkerDiedError } from '@forkd/client'
import { isAlive, startServerProcess, startSleep, tempDir, waitForExit } from '../support/harness.js'

describe('a worker whose server died', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  // A worker stuck in synchronous code when its server dies cannot even notice the death: that case
  // stays the client's to handle (its timeout discards the connection). See docs/lifecycle.md.
  it('is still killed when an asynchronous call hangs past hungWorkerTimeout', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const server = await startServerProcess(path, 'echo-worker.mjs', 600)
    cleanups.push(() => server.exitCode === null && server.signalCode === null && server.kill('SIGKILL'))
    const client = new Client({ connect: path, minWorkers: 1, maxWorkers: 1, timeout: 60_000 })
    cleanups.push(() => client.close())
    const sleeper = await client.checkout()
    const pids = [sleeper.worker.pid]
    const { running, started } = startSleep(sleeper, 60_000)
    const sleeping = running.catch((e: unknown) => e)
    await started
    server.kill('SIGKILL')
    await new Promise((r) => server.once('exit', r))
    // nobody is left to watch them but themselves
    await waitForExit(pids, 15_000)
    expect(pids.some(isAlive)).toBe(false)
    expect(await sleeping).toBeInstanceOf(WorkerDiedError)
    sleeper.release()
  })
})
