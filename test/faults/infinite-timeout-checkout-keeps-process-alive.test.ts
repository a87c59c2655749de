/**
 * Issue 12, item 5: "checkouts wait and are served when the server appears" holds whatever the
 * timeout. A checkout with `timeout: Infinity`, made while the background refill of minWorkers is
 * already failing (its retry timer does not keep the process alive), must keep the process alive
 * until it is served: the process must not exit under a pending checkout.
 */
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Server } from '@forkd/server'
import { fixture, tempDir, waitFor, waitForExit } from '../support/harness.js'

describe('a checkout with timeout: Infinity while no server is up', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('keeps its process alive until a server appears and serves it; the process then exits 0 by itself', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')

    const child = spawn(process.execPath, [fixture('infinite-checkout-client.mjs'), path], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, sig) => resolve((exit = { code, signal: sig }))))
    cleanups.push(() => {
      if (exit === undefined) child.kill('SIGKILL')
    })

    await waitFor(() => stdout.includes('waiting') || exit !== undefined, 'the child to make its checkout')
    // Nothing should happen for a while: the checkout waits, and the process with it.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1_000))])
    const exitedBeforeServer = exit

    const ready: number[] = []
    const logger = {
      debug: (message: string, fields?: object) => {
        if (message.endsWith(' ready')) ready.push((fields as { pid: number }).pid)
      },
      info() {},
      warn() {},
      error() {},
    }
    const server = await Server.start({ listen: path, worker: fixture('fault-worker.mjs'), spares: 1, logger })
    cleanups.push(async () => {
      await server.close({ drain: false })
      await waitForExit(ready)
    })

    const result = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000))])
    const lines = stdout.trim().split('\n')
    expect(exitedBeforeServer, `the child exited before any server was up; stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`).toBeUndefined()
    expect(result).toEqual({ code: 0, signal: null })
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^waiting \{"failures":\d+\}$/)
    // The refill had failed before the checkout was made (that is the case under test).
    expect(JSON.parse(lines[0]!.slice('waiting '.length)).failures).toBeGreaterThan(0)
    expect(lines[1]).toMatch(/^served /)
    const served = JSON.parse(lines[1]!.slice('served '.length)) as { pid: number; worker: number }
    expect(served.pid).toBe(served.worker)
    expect(ready).toContain(served.pid)
  }, 40_000)
})
