import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import type { ChildProcess } from 'node:child_process'
import { Client, WorkerDiedError } from '@forkd/client'
import { isAlive, startServerProcess, tempDir, waitFor, waitForExit, workerChildren } from '../support/harness.js'

describe('reconnecting to the server', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function killOnCleanup(child: ChildProcess) {
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await new Promise((r) => child.once('exit', r))
      }
    })
  }

  it('serves, in order, the checkouts made before the server started', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const client = new Client({ connect: path, timeout: 10_000, maxWorkers: 1, minWorkers: 1 })
    cleanups.push(() => client.close())
    const order: number[] = []
    const waiting = Array.from({ length: 5 }, async (_, i) => {
      const c = await client.checkout()
      order.push(i)
      const pid = await c.pid()
      c.release()
      return pid
    })
    // The checkouts wait while the client's attempts fail.
    await waitFor(() => client.stats().connectFailures > 0, 'a failed connection attempt')
    expect(client.stats()).toMatchObject({ pending: 5, busy: 0, idle: 0 })
    const server = await startServerProcess(path, 'echo-worker.mjs')
    killOnCleanup(server)
    const pids = await Promise.all(waiting)
    expect(order).toEqual([0, 1, 2, 3, 4])
    expect(new Set(pids).size).toBe(1)
  })

  it('survives the server being killed: running calls fail or finish, new checkouts wait for the next server', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const first = await startServerProcess(path, 'echo-worker.mjs')
    killOnCleanup(first)
    const client = new Client({ connect: path, timeout: 10_000, maxWorkers: 4, minWorkers: 2 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const oldPid = c.worker.pid
    const slow = c.sleep(300)
    first.kill('SIGKILL')
    await new Promise((r) => first.once('exit', r))
    // The worker outlives its server and finishes the running call (like AnyEvent::Task).
    expect(await slow).toBe(300)
    expect(isAlive(oldPid)).toBe(true)
    c.release()
    // A worker that had to die on its own gives WorkerDiedError, never a hang.
    const d = await client.checkout()
    const killed = d.sleep(5_000)
    process.kill(d.worker.pid, 'SIGKILL')
    await expect(killed).rejects.toBeInstanceOf(WorkerDiedError)
    d.release()
    // Use up the old workers, then new checkouts must wait for a new server.
    const oldPids = new Set<number>([oldPid, d.worker.pid])
    const laterCheckouts = Array.from({ length: 6 }, async () => {
      const e = await client.checkout({ timeout: 10_000 })
      oldPids.add(e.worker.pid)
      const pid = await e.pid()
      e.abort('retire it') // never return old workers to the pool
      e.release()
      return pid
    })
    // No server: the checkouts left over once the old workers are used up wait, while attempts fail.
    const failuresBefore = client.stats().connectFailures
    await waitFor(() => client.stats().pending > 0 && client.stats().connectFailures > failuresBefore, 'checkouts waiting for a server')
    const second = await startServerProcess(path, 'echo-worker.mjs')
    killOnCleanup(second)
    const pids = await Promise.all(laterCheckouts)
    expect(pids).toHaveLength(6)
    const fresh = await client.checkout()
    expect(workerChildren(second.pid!)).toContain(fresh.worker.pid)
    fresh.release()
    await client.close()
    await waitForExit([...oldPids].filter((p) => !workerChildren(second.pid!).includes(p)))
  })
})
