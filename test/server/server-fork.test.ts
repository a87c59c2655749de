import { spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { Server, WorkerModuleError, fetchStatus } from '@forkd/server'
import { fixture, isAlive, tempDir, waitForExit } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

describe('Server.fork', () => {
  let dir = ''
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
    rmSync(dir, { recursive: true, force: true })
  })

  it('starts a server in a child process, which close() stops', async () => {
    dir = tempDir()
    const path = join(dir, 's.sock')
    const forked = Server.fork({ listen: path, worker: fixture('plain-worker.mjs'), spares: 1, name: 'forked' })
    cleanups.push(() => {
      if (isAlive(forked.pid)) process.kill(forked.pid, 'SIGKILL')
    })
    expect(forked.pid).not.toBe(process.pid)
    expect(await forked.ready).toEqual({ address: path })
    const conn = await connectRaw(path)
    expect(conn.hello).toMatchObject({ serverPid: forked.pid, name: 'forked' })
    // The status connection is served by a worker too: the held connection plus the asker.
    expect(await fetchStatus(path)).toMatchObject({ pid: forked.pid, name: 'forked', active: 2 })
    conn.ws.close()
    await forked.close()
    expect(isAlive(forked.pid)).toBe(false)
    await waitForExit([conn.hello.pid])
    expect(existsSync(path)).toBe(false)
  })

  it('rejects ready with WorkerModuleError when the module cannot be loaded', async () => {
    dir = tempDir()
    const forked = Server.fork({ listen: join(dir, 's.sock'), worker: fixture('bad-export-worker.mjs') })
    await expect(forked.ready).rejects.toBeInstanceOf(WorkerModuleError)
    await forked.close()
    expect(isAlive(forked.pid)).toBe(false)
  })

  it('refuses a logger, which cannot cross to the child', () => {
    expect(() => Server.fork({ listen: '/tmp/x.sock', worker: fixture('plain-worker.mjs'), logger: console } as never)).toThrow(TypeError)
  })

  it('exits, with its workers, when its parent process is killed with SIGKILL', async () => {
    dir = tempDir()
    const path = join(dir, 's.sock')
    const parent = spawn(process.execPath, [fixture('fork-parent.mjs'), path, fixture('plain-worker.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanups.push(() => {
      if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL')
    })
    const line = await new Promise<string>((resolve) => createInterface({ input: parent.stdout! }).once('line', resolve))
    const { server, workers } = JSON.parse(line) as { server: number; workers: number[] }
    cleanups.push(() => {
      for (const pid of [server, ...workers]) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    })
    expect(workers).toHaveLength(2)
    expect(await fetchStatus(path)).toMatchObject({ pid: server })

    parent.kill('SIGKILL')
    await waitForExit([server, ...workers])
    expect(existsSync(path)).toBe(false)
  })

  it('keeps a worker serving its client when the server dies with a heartbeat ping still unanswered', async () => {
    dir = tempDir()
    const path = join(dir, 's.sock')
    // hungWorkerTimeout 2 s: the server pings every active worker every 500 ms
    const forked = Server.fork({ listen: path, worker: fixture('echo-worker.mjs'), spares: 1, hungWorkerTimeout: 2_000 })
    cleanups.push(() => {
      if (isAlive(forked.pid)) process.kill(forked.pid, 'SIGKILL')
    })
    await forked.ready
    const client = new Client<{ spin(ms: number): number; echo(x: string): string }>({ connect: path, minWorkers: 1, maxWorkers: 1 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const pid = c.worker.pid
    cleanups.push(() => {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    })
    // The worker spins through a ping or two, and the server dies before it can answer: the worker
    // reads the pings, answers into a channel already broken (EPIPE), and must go on serving.
    const spinning = c.spin(1_400)
    await new Promise((r) => setTimeout(r, 1_100))
    process.kill(forked.pid, 'SIGKILL')
    expect(await spinning).toBe(1_400)
    expect(await c.echo('still served')).toBe('still served')
    c.release()
    await client.close()
    // with no connection left and no server, it exits by itself
    await waitForExit([pid])
  })
})
