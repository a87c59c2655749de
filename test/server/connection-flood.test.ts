import { connect, type Socket } from 'node:net'
import { ConnectError, TimeoutError } from '@forkd/client'
import { afterEach, describe, expect, it } from 'vitest'
import { startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

const flood = 500
const maxWorkers = 16
const spares = 4

/** Opens a bare socket; resolves with what the server wrote before the socket closed. */
function floodSocket(path: string, behaviour: number): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = connect(path)
    let text = ''
    socket.on('data', (d) => (text += d))
    socket.on('error', () => {})
    socket.on('close', () => resolve(text))
    socket.on('connect', () => {
      if (behaviour === 1) socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff garbage')
      else if (behaviour === 2) socket.destroy()
      // behaviour 0: silent, until the server or the worker's handshakeTimeout closes it
    })
  })
}

describe('connection flood', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it(`keeps worker processes under maxWorkers through ${flood} connections at once, and serves real clients`, async () => {
    env = await startEnv('plain-worker.mjs', { spares, maxWorkers, maxPendingConnections: 64, handshakeTimeout: 1_500 })
    await waitFor(() => env!.server.status().spares === spares, 'the spares')
    const baseline = env.server.status()

    // Two views of how many worker processes live at once: the ones /proc shows under their forkd
    // title (set once a worker's runtime has loaded), and the server's own count, which includes
    // processes still starting. On a loaded machine starts are slow, and while spares' connections
    // hold their workers /proc may show no more titled processes than the spares, so the growth
    // past the spares is read from the server's count.
    let most = 0
    let mostLive = 0
    let served = 0
    const startedAt = Date.now()
    const sampler = setInterval(() => {
      most = Math.max(most, workerChildren().length)
      const s = env!.server.status()
      mostLive = Math.max(mostLive, s.starting + s.spares + s.active + s.draining + s.ending)
    }, 20)
    try {
      const client = env.client<{ echo(x: number): number }>({ minWorkers: 0, maxWorkers: 8, timeout: 60_000 })
      const sockets = Array.from({ length: flood }, (_, i) => floodSocket(env!.path, i % 3))
      const checkouts = Array.from({ length: 20 }, async (_, i) => {
        const c = await client.checkout()
        try {
          return await c.echo(i)
        } finally {
          c.release()
        }
      })
      // Settled as they finish: a checkout that times out during the flood is an outcome, not an unhandled rejection.
      const settled = Promise.allSettled(checkouts)
      const answers = await Promise.all(sockets)
      const results = await settled

      // Every legitimate checkout was served, or timed out cleanly: no other error class.
      for (const [i, r] of results.entries()) {
        if (r.status === 'fulfilled') expect(r.value).toBe(i)
        else expect(r.reason).toBeInstanceOf(TimeoutError)
      }
      served = results.filter((r) => r.status === 'fulfilled').length
      // Flood sockets were refused with a 503, or reached a worker and were closed by it.
      for (const text of answers) expect(text === '' || /^HTTP\/1\.1 (503|4\d\d) /.test(text)).toBe(true)
      expect(env.server.status().refused).toBeGreaterThan(0)

      await client.close()
      await waitFor(() => {
        const s = env!.server.status()
        return s.active === 0 && s.pending === 0 && s.starting === 0 && s.ending === 0 && s.spares === spares && workerChildren().length === spares
      }, 'the server to return to its spares', 30_000)
    } finally {
      clearInterval(sampler)
    }
    console.log(`connection-flood: at most ${most} worker processes seen (${mostLive} counted by the server), ${env.server.status().refused} connections refused (503), ${env.server.status().started} workers started, ${served}/20 checkouts served, back to ${spares} spares after ${((Date.now() - startedAt) / 1000).toFixed(1)} s`)
    expect(most).toBeLessThanOrEqual(maxWorkers)
    expect(mostLive).toBeLessThanOrEqual(maxWorkers)
    // the flood made the server start workers past its spares, so the bounds above were tested
    expect(mostLive).toBeGreaterThan(spares)
    expect(env.server.state).toBe('listening')
    const after = env.server.status()
    expect(after.started).toBe(after.exited + spares)
    expect(after.killed).toEqual(baseline.killed)

    // Healthy afterwards: a fresh client is served at once.
    const fresh = env.client<{ echo(x: string): string }>({ minWorkers: 0 })
    const c = await fresh.checkout({ timeout: 10_000 })
    expect(await c.echo('after the flood')).toBe('after the flood')
    c.release()
  }, 240_000)

  it('rejects a checkout that cannot get past a full server with TimeoutError caused by FORKD_ERR_SERVER_AT_CAPACITY', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1, maxWorkers: 1, maxPendingConnections: 0 })
    const held = await connectRaw(env.path)
    const client = env.client<{ echo(x: string): string }>({ minWorkers: 0, timeout: 1_500 })
    const error = await client.checkout().then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    const cause = (error as TimeoutError).cause
    expect(cause).toBeInstanceOf(ConnectError)
    expect(cause).toMatchObject({ code: 'FORKD_ERR_SERVER_AT_CAPACITY', message: 'server refused the connection: server at capacity' })
    expect((error as Error).message).toMatch(/waiting for the server \(server refused the connection: server at capacity\)/)
    expect(env.server.status().refused).toBeGreaterThan(0)

    // Once the worker is free, the same client is served.
    held.ws.close()
    const c = await client.checkout({ timeout: 10_000 })
    expect(await c.echo('served')).toBe('served')
    c.release()
  })
})
