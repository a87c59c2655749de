/**
 * Issue 4: `forkd serve` and SIGTERM/SIGINT — stop accepting, let running checkouts finish (up to
 * --drain-timeout), exit 0; a second signal exits at once.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, WorkerDiedError } from '@forkd/client'
import { isAlive, startSleep, tempDir, waitFor, waitForExit } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'
import { processesTagged, serveCli, uniqueTag, type ServeProcess, killTagged } from '../support/cli.js'

describe('forkd serve and SIGTERM/SIGINT', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  async function setup(args: string[]) {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const server: ServeProcess = serveCli(path, 'echo-worker.mjs', { env: { FORKD_TEST_RUN: tag }, args: ['--spares', '1', ...args] })
    cleanups.push(() => {
      killTagged(tag)
    })
    await server.listening()
    const client = new Client({ connect: path, minWorkers: 1, maxWorkers: 2, timeout: 20_000 })
    cleanups.push(() => client.close())
    return { path, tag, server, client }
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('%s stops accepting, lets the running checkout finish, then exits 0', async (signal) => {
    const { path, tag, server, client } = await setup(['--drain-timeout', '20000'])
    const c = await client.checkout()
    const pid = c.worker.pid
    const { running, started } = startSleep(c, 1_000)
    await started

    server.child.kill(signal)
    // The path goes at once: nothing new reaches this server.
    await waitFor(() => !existsSync(path), 'the socket path to be removed')
    await expect(connectRaw(path)).rejects.toThrow(/ENOENT/)
    // The running call finishes, and the checkout keeps working until it is released.
    expect(await running).toBe(1_000)
    expect(await c.pid()).toBe(pid)
    expect(server.child.exitCode).toBe(null)
    c.release()
    expect(await server.exited).toEqual({ code: 0, signal: null })
    await waitForExit([pid])
    // The client let the worker go because the server asked it to.
    expect(client.stats().retired).toMatchObject({ serverReplaced: 1, died: 0, fatal: 0 })
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })

  it('ends a checkout still running when --drain-timeout passes, then exits 0', async () => {
    const { tag, server, client } = await setup(['--drain-timeout', '1000'])
    const c = await client.checkout()
    const { running, started } = startSleep(c, 60_000)
    await started
    server.child.kill('SIGTERM')
    const error = await running.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as Error).message).toMatch(/worker killed by SIGTERM: server shutting down/)
    expect(await server.exited).toEqual({ code: 0, signal: null })
    c.release()
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })

  it.each([['SIGTERM', 143], ['SIGINT', 130]] as const)('exits at once (code %s → %i) on a second signal; the running checkout is still served, then its worker exits', async (signal, code) => {
    const { path, tag, server, client } = await setup(['--drain-timeout', '60000'])
    const c = await client.checkout()
    const pid = c.worker.pid
    let callDone = false
    const sleep = startSleep(c, 2_000)
    const running = sleep.running.then((v: unknown) => ((callDone = true), v))
    await sleep.started
    server.child.kill('SIGTERM')
    await waitFor(() => !existsSync(path), 'the first signal to be handled')
    server.child.kill(signal)
    expect(await server.exited).toEqual({ code, signal: null })
    expect(callDone).toBe(false)
    // The worker outlives its server and serves its client to the end of the checkout.
    expect(await running).toBe(2_000)
    expect(await c.pid()).toBe(pid)
    c.release()
    await waitForExit([pid])
    expect(isAlive(server.pid)).toBe(false)
    await waitFor(() => processesTagged(tag).length === 0, 'every process of the test to exit')
  })
})
