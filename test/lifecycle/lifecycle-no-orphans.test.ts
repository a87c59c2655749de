/**
 * Issue 4: no worker process outlives the processes it served — after a clean close, after the
 * client process is killed, and after the parent of a forked server is killed.
 */
import { spawn } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { ClientClosedError } from '@forkd/client'
import { fixture, isAlive, startEnv, tempDir, waitFor, waitForExit, workerChildren, type TestEnv } from '../support/harness.js'
import { processesTagged, uniqueTag, killTagged } from '../support/cli.js'

describe('no orphan workers', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  const firstLine = (child: ReturnType<typeof spawn>) =>
    new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve)
      child.once('exit', (code) => reject(new Error(`the fixture exited with code ${code} before reporting`)))
    })

  it('leaves no worker after client.close() and server.close(), with checkouts held and calls running', async () => {
    const env: TestEnv = await startEnv('echo-worker.mjs', { spares: 2 })
    cleanups.push(() => env.cleanup())
    const client = env.client({ minWorkers: 4, maxWorkers: 6 })
    const held = await Promise.all([client.checkout(), client.checkout(), client.checkout()])
    await waitFor(() => client.stats().idle >= 1 && env.server.status().spares === 2, 'an idle worker and two spares')
    const running = held.slice(1).map((c) => c.sleep(2_000).catch((e: unknown) => e))
    // Let the calls leave this process: a call still unsent when the client closes is never sent.
    await new Promise((resolve) => setImmediate(resolve))
    const pids = workerChildren()
    expect(pids.length).toBeGreaterThanOrEqual(6)
    for (const pid of pids) env.pids.add(pid)

    await client.close()
    // Calls running when the client closes reject; their workers finish them, then exit.
    for (const error of await Promise.all(running)) expect(error).toBeInstanceOf(ClientClosedError)
    for (const c of held) c.release()
    await env.server.close()
    expect(pids.filter(isAlive)).toEqual([])
    expect(workerChildren()).toEqual([])
    expect(existsSync(env.path)).toBe(false)
    expect(env.server.status()).toMatchObject({ state: 'closed', spares: 0, active: 0, starting: 0, ending: 0 })
  })

  it('lets every worker of a client process killed with SIGKILL exit, idle, held or in the middle of a call', async () => {
    const env: TestEnv = await startEnv('echo-worker.mjs', { spares: 1 })
    cleanups.push(() => env.cleanup())
    const holder = spawn(process.execPath, [fixture('client-holder.mjs'), env.path, '1000'], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanups.push(() => {
      if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL')
    })
    const report = JSON.parse(await firstLine(holder)) as { held: number[]; midCall: number[]; pool: number[] }
    const pids = [...report.held, ...report.pool]
    // Six at least (minWorkers); a slow machine may have opened one more while an attempt stalled.
    expect(pids.length).toBeGreaterThanOrEqual(6)
    expect(new Set(pids).size).toBe(pids.length)
    for (const pid of pids) env.pids.add(pid)
    expect(env.server.status().active).toBe(pids.length)
    expect(workerChildren()).toEqual(expect.arrayContaining(pids))

    holder.kill('SIGKILL')
    // Idle and held workers exit when their connection drops; the two mid-call ones after the call.
    await waitForExit(pids, 15_000)
    await waitFor(() => env.server.status().active === 0, 'the server to count no active worker')
    await waitFor(() => env.server.status().spares === 1, 'the spare')
    expect(workerChildren().filter((pid) => pids.includes(pid))).toEqual([])
    expect(env.server.status()).toMatchObject({ exited: pids.length, killed: { hung: 0, unresponsive: 0, shutdown: 0, startTimeout: 0 }, exits: { '0': pids.length } })
  })

  it('leaves no forkd process when the parent of a Server.fork server, holding checkouts on it, is killed with SIGKILL', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const parent = spawn(process.execPath, [fixture('fork-parent-client.mjs'), path, fixture('echo-worker.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FORKD_TEST_RUN: tag },
    })
    cleanups.push(() => {
      killTagged(tag)
    })
    const { server, workers, active } = JSON.parse(await firstLine(parent)) as { server: number; workers: number[]; active: number[] }
    expect(workers).toHaveLength(4)
    expect(workers).toEqual(expect.arrayContaining(active))
    expect(processesTagged(tag)).toEqual([parent.pid!, server, ...workers].sort((a, b) => a - b))

    parent.kill('SIGKILL')
    await waitForExit([server, ...workers], 15_000)
    expect(processesTagged(tag)).toEqual([])
    expect(existsSync(path)).toBe(false)
  })
})
