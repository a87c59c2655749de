/**
 * Issue 4: a worker whose server died keeps serving its open connection, and exits when that
 * connection closes; spares of the dead server exit at once.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { fork } from 'node:child_process'
import { fixture, isAlive, startServerProcess, tempDir, waitFor, waitForExit, workerChildren } from '../support/harness.js'

describe('a worker whose server died', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('serves its client to the end of the connection, then exits; spares exit with the server', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const server = await startServerProcess(path, 'echo-worker.mjs')
    cleanups.push(() => {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
    })
    const client = new Client({ connect: path, minWorkers: 2, maxWorkers: 2, timeout: 20_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const pid = c.worker.pid
    await waitFor(() => client.stats().idle === 1, 'the second pool worker')
    const all = (await waitFor(() => {
      const pids = workerChildren(server.pid!)
      return pids.length === 4 ? pids : undefined
    }, 'two connected workers and two spares'))!
    cleanups.push(() => {
      for (const p of all) if (isAlive(p)) process.kill(p, 'SIGKILL')
    })
    const running = c.sleep(500)

    server.kill('SIGKILL')
    await new Promise((r) => server.once('exit', r))
    // Spares have nobody to serve: they exit when their IPC channel closes.
    const connected = (await waitFor(() => {
      const alive = all.filter(isAlive)
      return alive.length === 2 ? alive : undefined
    }, 'the spares to exit'))!
    expect(connected).toContain(pid)

    // The connected workers outlive the server: the running call finishes, new calls run.
    expect(await running).toBe(500)
    expect(await c.pid()).toBe(pid)
    expect(await c.add(2, 3)).toBe(5)
    c.release()
    const again = await client.checkout()
    expect(connected).toContain(again.worker.pid)
    expect(await again.echo('no server needed')).toBe('no server needed')
    again.release()
    expect(connected.every(isAlive)).toBe(true)

    // Once their connections close, they exit.
    await client.close()
    await waitForExit(connected)
  })

  it('exits once loaded when its server died while it was still loading, even if its module keeps a timer running', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    // serve.mjs, but with the slow module's load time in the environment its workers inherit.
    const server = fork(fixture('serve.mjs'), [path, fixture('slow-load-worker.mjs')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, FORKD_TEST_LOAD_MS: '1500' } })
    cleanups.push(() => {
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
    })
    await new Promise((resolve, reject) => {
      server.once('message', resolve)
      server.once('exit', (code) => reject(new Error(`server exited with code ${code} before listening`)))
    })
    const client = new Client({ connect: path, minWorkers: 2, maxWorkers: 2, timeout: 20_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const d = await client.checkout()
    // Two connections handed out: the server starts two replacement spares, which take 1.5 s to load.
    const loading = (await waitFor(() => {
      const pids = workerChildren(server.pid!).filter((pid) => pid !== c.worker.pid && pid !== d.worker.pid)
      return pids.length === 2 ? pids : undefined
    }, 'two replacement spares'))!
    cleanups.push(() => {
      for (const p of [...loading, c.worker.pid, d.worker.pid]) if (isAlive(p)) process.kill(p, 'SIGKILL')
    })
    server.kill('SIGKILL')
    await new Promise((r) => server.once('exit', r))

    await waitForExit(loading, 15_000)
    expect(await c.pid()).toBe(c.worker.pid)
    c.release()
    d.release()
    await client.close()
    await waitForExit([c.worker.pid, d.worker.pid])
  })
})
