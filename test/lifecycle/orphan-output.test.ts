/**
 * Issue 12 (2): a worker whose server died keeps serving its connection even when it writes to
 * stdout or stderr, whose pipes nobody reads any more (EPIPE must not become an uncaught exception).
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { isAlive, procStat, startServerProcess, tempDir, waitFor, waitForExit } from '../support/harness.js'

describe('a worker that outlived its server', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('writes to stdout and stderr without dying, and goes on serving its checkout', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const server = await startServerProcess(path, 'chatty-worker.mjs')
    cleanups.push(() => void (server.exitCode === null && server.signalCode === null && server.kill('SIGKILL')))
    const client = new Client<{ say(text: string): string }>({ connect: path, minWorkers: 0 })
    const pids: number[] = []
    cleanups.push(async () => {
      await client.close()
      await waitForExit(pids)
    })
    const c = await client.checkout()
    const pid = c.worker.pid
    pids.push(pid)
    expect(await c.say('while the server lives')).toBe('while the server lives')

    server.kill('SIGKILL')
    await waitFor(() => !isAlive(server.pid!), 'the server to die')
    // The server's end of the worker's output pipes closed with it; the worker is reparented.
    await waitFor(() => procStat(pid)?.ppid !== server.pid, 'the worker to be reparented')
    for (let i = 1; i <= 3; i++) expect(await c.say(`orphaned ${i}`)).toBe(`orphaned ${i}`)
    expect(isAlive(pid)).toBe(true)
    c.release()
  })
})
