/**
 * Signals and workers: SIGUSR1 and SIGUSR2 sent to the server reach `onSignal` in every ready
 * worker (spares and serving ones) and do not kill a worker without a handler (nor open its
 * inspector); workers run in a process group of their own, so SIGINT to the server's group (Ctrl-C
 * in a terminal) reaches the server alone, which drains: the running call finishes.
 */
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { isAlive, startEnv, tempDir, waitFor, waitForExit, type TestEnv } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag, type ServeProcess, killTagged } from '../support/cli.js'

interface SignalWorker { pid(): number; signals(): string[]; sleep(ms: number): number }

/** The process group of `pid` (/proc/PID/stat, the field after the parent pid). */
function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])
}

describe('server.signal', () => {
  let env: TestEnv
  afterEach(() => env.cleanup())

  it('passes SIGUSR1 and SIGUSR2 to every ready worker, spares and serving ones alike', async () => {
    env = await startEnv('lifetime-worker.mjs', { spares: 2 })
    const client = env.client<SignalWorker>({ minWorkers: 0, maxWorkers: 4 })
    const serving = await Promise.all([client.checkout(), client.checkout()])
    for (const c of serving) env.pids.add(c.worker.pid)
    await waitFor(() => env.server.status().spares === 2 && env.server.status().starting === 0, 'two ready spares')
    expect(env.server.signal('SIGUSR2')).toBe(4)
    expect(env.server.signal('SIGUSR1')).toBe(4)
    for (const c of serving) await waitFor(async () => (await c.signals()).length === 2, `worker ${c.worker.pid} to see both signals`)
    // two different pending signals arrive in the kernel's order, not necessarily the order sent
    expect(await Promise.all(serving.map(async (c) => (await c.signals()).sort()))).toEqual([['SIGUSR1', 'SIGUSR2'], ['SIGUSR1', 'SIGUSR2']])
    // the two spares got them before they served anyone
    const former = await Promise.all([client.checkout(), client.checkout()])
    for (const c of former) env.pids.add(c.worker.pid)
    for (const c of former) await waitFor(async () => (await c.signals()).length === 2, `spare ${c.worker.pid} to have seen both signals`)
    expect(await Promise.all(former.map(async (c) => (await c.signals()).sort()))).toEqual([['SIGUSR1', 'SIGUSR2'], ['SIGUSR1', 'SIGUSR2']])
    for (const c of [...serving, ...former]) c.release()
  })

  it('refuses any other signal with a TypeError', async () => {
    env = await startEnv('lifetime-worker.mjs', { spares: 0 })
    expect(() => env.server.signal('SIGTERM' as 'SIGUSR1')).toThrow(TypeError)
    expect(() => env.server.signal('SIGTERM' as 'SIGUSR1')).toThrow('forkd Server.signal: the signal must be "SIGUSR1" or "SIGUSR2", got "SIGTERM"')
  })
})

describe('forkd serve and worker signals', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function setup(worker: string, detached = false) {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const server: ServeProcess = serveCli(path, worker, { env: { FORKD_TEST_RUN: tag }, args: ['--spares', '1', '--drain-timeout', '20000'], detached })
    cleanups.push(() => {
      killTagged(tag)
    })
    await server.listening()
    const client = new Client<SignalWorker>({ connect: path, minWorkers: 1, maxWorkers: 2, timeout: 20_000 })
    cleanups.push(() => client.close())
    return { tag, server, client }
  }

  it('SIGUSR2 and SIGUSR1 sent to the server reach the onSignal of a serving worker', async () => {
    const { server, client } = await setup('lifetime-worker.mjs')
    const c = await client.checkout()
    server.child.kill('SIGUSR2')
    await waitFor(async () => (await c.signals()).includes('SIGUSR2'), 'the worker to see SIGUSR2')
    server.child.kill('SIGUSR1')
    await waitFor(async () => (await c.signals()).includes('SIGUSR1'), 'the worker to see SIGUSR1')
    expect(await c.signals()).toEqual(['SIGUSR2', 'SIGUSR1'])
    c.release()
  })

  it('a worker without onSignal survives both signals, and SIGUSR1 opens no inspector', async () => {
    const { server, client } = await setup('echo-worker.mjs')
    const c = await client.checkout()
    const pid = c.worker.pid
    server.child.kill('SIGUSR2')
    server.child.kill('SIGUSR1')
    // nothing is supposed to happen: give the signals time to arrive and do harm
    await new Promise((r) => setTimeout(r, 300))
    expect(isAlive(pid)).toBe(true)
    expect(await c.pid()).toBe(pid)
    expect(server.child.exitCode).toBe(null)
    expect(server.stderr()).not.toMatch(/Debugger listening/)
    c.release()
  })

  it('workers have their own process group: SIGINT to the server\'s group lets the running call finish, then the server exits 0 without warnings about its spares', async () => {
    const { tag, server, client } = await setup('echo-worker.mjs', true)
    const c = await client.checkout()
    const pid = c.worker.pid
    expect(processGroup(server.pid)).toBe(server.pid)
    expect(processGroup(pid)).not.toBe(server.pid)
    const running = c.sleep(1_500)
    await new Promise((r) => setTimeout(r, 100))
    // what Ctrl-C does: the signal to every process of the terminal's foreground group
    process.kill(-server.pid, 'SIGINT')
    expect(await running).toBe(1_500)
    expect(await c.pid()).toBe(pid)
    c.release()
    expect(await server.exited).toEqual({ code: 0, signal: null })
    await waitForExit([pid])
    expect(client.stats().retired).toMatchObject({ serverReplaced: 1, died: 0 })
    expect(server.stderr()).not.toMatch(/killed by SIGTERM/)
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })
})
