/**
 * Issue 9: after a takeover or a reload, callers move to the new code within one second, with no
 * failed call, and the old server goes away once the client has let its workers go.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { Codec, SUBPROTOCOL, WORKER_PATH } from '@forkd/protocol'
import { Client } from '@forkd/client'
import { Server } from '@forkd/server'
import { fixture, isAlive, quietLogger, startEnv, tempDir, waitFor, waitForExit, workerChildren, type TestEnv } from '../support/harness.js'
import { serveCli, type ServeProcess } from '../support/cli.js'

interface Served {
  /** When checkout() was called. */
  start: number
  version: string
  pid: number
  server: number
}

type Who = { version: string; pid: number; server: number }

/**
 * `loops` concurrent loops, each: checkout, three calls, release. Records what served every
 * checkout and every error; stop() ends the loops and resolves once they have.
 */
function steadyLoad(client: Client, loops: number) {
  const served: Served[] = []
  const errors: unknown[] = []
  let running = true
  const done = Promise.all(Array.from({ length: loops }, async (_, loop) => {
    for (let n = 0; running; n++) {
      const start = Date.now()
      try {
        const c = await client.checkout()
        try {
          const who = (await c.call('whoami')) as Who
          await c.call('sleep', (loop + n) % 5)
          expect(await c.call('echo', [loop, n])).toEqual([loop, n])
          served.push({ start, ...who })
        } finally {
          c.release()
        }
      } catch (error) {
        errors.push(error)
      }
    }
  }))
  return { served, errors, stop: () => ((running = false), done) }
}

describe('takeover and reload retire old workers', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('moves every new checkout to the new server within one second of a takeover, fails no call, and lets the old server exit', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const old: ServeProcess = serveCli(path, 'version-worker.mjs', { env: { FORKD_TEST_VERSION: 'v1' }, args: ['--spares', '2'] })
    cleanups.push(() => old.kill())
    await old.listening()

    const client = new Client({ connect: path, maxWorkers: 8, timeout: 20_000 })
    cleanups.push(() => client.close())
    const load = steadyLoad(client, 8)
    await waitFor(() => load.served.length >= 100, '100 checkouts served by the old server', 20_000)
    const oldWorkers = new Set([...workerChildren(old.pid), ...load.served.map((s) => s.pid)])

    const next = await Server.start({ listen: path, worker: fixture('version-worker.mjs'), env: { ...process.env, FORKD_TEST_VERSION: 'v2' }, logger: quietLogger, spares: 4 })
    const takeoverAt = Date.now()
    cleanups.push(async () => {
      await next.close({ drain: false })
      expect(workerChildren()).toEqual([])
    })

    // The old server drains: the client releases its workers, they exit, and so does the server.
    expect(await old.exited).toEqual({ code: 0, signal: null })
    const oldExitedAfter = Date.now() - takeoverAt
    await waitFor(() => load.served.filter((s) => s.start > takeoverAt + 1_000).length >= 100, '100 checkouts started a second after the takeover', 20_000)
    await load.stop()

    expect(load.errors).toEqual([])
    const late = load.served.filter((s) => s.start > takeoverAt + 1_000)
    expect(late.filter((s) => s.version !== 'v2')).toEqual([])
    expect(new Set(late.map((s) => s.server))).toEqual(new Set([process.pid]))
    expect(load.served.some((s) => s.version === 'v1')).toBe(true)
    const v1 = load.served.filter((s) => s.version === 'v1')
    const lastV1 = Math.max(...v1.map((s) => s.start)) - takeoverAt
    expect(lastV1).toBeLessThan(1_000)
    // Every old worker the client held was retired because its server was replaced.
    const v1Pids = new Set(v1.map((s) => s.pid))
    expect(client.stats().retired.serverReplaced).toBeGreaterThanOrEqual(v1Pids.size)
    expect(client.stats().retired).toMatchObject({ died: 0, fatal: 0, error: 0 })
    await waitForExit(oldWorkers)
    await client.close()

    console.log(`takeover: ${load.served.length} checkouts (${v1.length} on v1), 0 errors; last checkout to reach v1 started ${lastV1} ms after the takeover; old server exited after ${oldExitedAfter} ms; ${client.stats().retired.serverReplaced} workers retired`)
  }, 90_000)

  it('after reload(), every checkout that starts once the retire notices are out gets a worker started after the reload, running the module now on disk', async () => {
    // The retire notice reaches a client asynchronously (server → worker over IPC, worker → client on
    // the socket); a connection whose handshake was under way at the reload, or whose worker is slow
    // to read its IPC on a loaded machine, serves until it arrives. A loose bound for that, not a
    // figure: on an idle machine the notices are out within milliseconds.
    const settleMs = 3_000
    const dir = tempDir()
    const modulePath = join(dir, 'worker.mjs')
    // No import: the module lives outside the repository, where @forkd/server does not resolve.
    const writeModule = (version: string) => {
      writeFileSync(`${modulePath}.tmp`, `export default { interface: {\n  whoami: () => ({ version: ${JSON.stringify(version)}, pid: process.pid, server: process.ppid }),\n  echo: (x) => x,\n  sleep: (ms) => new Promise((r) => setTimeout(() => r(ms), ms)),\n} }\n`)
      renameSync(`${modulePath}.tmp`, modulePath)
    }
    writeModule('r0')
    const env: TestEnv = await startEnv(modulePath, { spares: 4 })
    cleanups.push(async () => {
      await env.cleanup()
      expect(workerChildren()).toEqual([])
    })
    const client = env.client({ maxWorkers: 8, timeout: 20_000 })
    const load = steadyLoad(client, 8)
    await waitFor(() => load.served.length >= 50, '50 checkouts before the first reload', 20_000)

    // written: when the module changed on disk; a worker started from then on (even one of the
    // previous generation, replacing a spare just before the reload) may already run the new code.
    const reloads: { written: number; at: number; version: string; before: Set<number> }[] = []
    for (const version of ['r1', 'r2', 'r3']) {
      const written = Date.now()
      writeModule(version)
      const before = new Set(workerChildren())
      env.server.reload()
      const at = Date.now()
      reloads.push({ written, at, version, before })
      await waitFor(() => load.served.filter((s) => s.start > at + settleMs).length >= 50, `50 checkouts ${settleMs} ms after reload to ${version}`, 30_000)
    }
    await load.stop()

    expect(load.errors).toEqual([])
    let retiredOld = 0
    reloads.forEach(({ at, version, before }, i) => {
      const end = reloads[i + 1]?.written ?? Infinity
      const settled = load.served.filter((s) => s.start > at + settleMs && s.start < end)
      expect(settled.length).toBeGreaterThan(0)
      // Fresh code and fresh processes: no worker alive at the reload serves a checkout after that.
      expect(settled.filter((s) => s.version !== version)).toEqual([])
      expect(settled.filter((s) => before.has(s.pid))).toEqual([])
      const previous = new Set(load.served.filter((s) => s.start < at && s.version === (i === 0 ? 'r0' : reloads[i - 1]!.version)).map((s) => s.pid))
      retiredOld += previous.size
    })
    // Workers retired on the server's request count as serverReplaced (a reload asks the same way).
    expect(client.stats().retired.serverReplaced).toBeGreaterThanOrEqual(retiredOld)
    expect(client.stats().retired).toMatchObject({ died: 0, fatal: 0, error: 0 })
    for (const { before } of reloads) for (const pid of before) env.pids.add(pid)
    await client.close()
    // Retired and replaced workers exit; only the current spares remain.
    await waitFor(() => workerChildren().every((pid) => !reloads.some((r) => r.before.has(pid))), 'the workers of before the reloads to exit')
    console.log(`reload: ${load.served.length} checkouts over 3 reloads, 0 errors, ${client.stats().retired.serverReplaced} workers retired`)
  }, 90_000)

  it('tells a worker whose client is still in its WebSocket handshake to retire, right after the hello', async () => {
    const env = await startEnv('plain-worker.mjs', { spares: 1 })
    cleanups.push(async () => {
      await env.cleanup()
      expect(workerChildren()).toEqual([])
    })
    // A connection the server has handed to a worker, but whose upgrade has not been sent yet.
    const socket = connect(env.path)
    await waitFor(() => env.server.status().active === 1, 'the connection to be handed to a worker')
    env.server.reload()
    await new Promise((r) => setTimeout(r, 200))

    const codec = new Codec()
    const messages: unknown[] = []
    const ws = new WebSocket(`ws+unix://${env.path}:${WORKER_PATH}`, SUBPROTOCOL, { createConnection: () => socket })
    ws.on('message', (data) => messages.push(...codec.decodeFrame(data as Buffer)))
    await waitFor(() => messages.length >= 2, 'the hello and the retire notice', 5_000)
    expect(messages[0]).toMatchObject([0, { v: 1 }])
    expect(messages[1]).toEqual([9, 'reload'])
    const pid = (messages[0] as [number, { pid: number }])[1].pid
    ws.close()
    await waitForExit([pid])
    expect(isAlive(pid)).toBe(false)
  })
})
