import { existsSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { isAlive, startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

describe('Server#close', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('leaves no worker process, spare or active, and removes the socket path', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 2 })
    const conn = await connectRaw(env.path)
    await waitFor(() => env!.server.status().spares === 2, 'two spares')
    const pids = workerChildren()
    expect(pids).toHaveLength(3)
    await env.server.close({ drain: false })
    expect(pids.filter(isAlive)).toEqual([])
    expect(existsSync(env.path)).toBe(false)
    expect(env.server.status()).toMatchObject({ state: 'closed', spares: 0, active: 0, starting: 0, ending: 0 })
    // The client learns why its worker went away.
    expect(await conn.closed).toEqual({ code: 4003, reason: 'signal=SIGTERM; worker killed by SIGTERM: server shutting down' })
  })

  it('is idempotent: every call returns the same promise', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1 })
    const first = env.server.close()
    expect(env.server.close()).toBe(first)
    await first
    await expect(env.server.close()).resolves.toBeUndefined()
  })

  it('drains: active workers are asked to retire and keep serving until their client lets go', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    let closed = false
    const closing = env.server.close({ timeout: 20_000 }).then(() => (closed = true))
    expect(await conn.waitFor((m) => Array.isArray(m) && m[0] === 9)).toEqual([9, 'shutdown'])
    expect(await conn.call('echo', 'during drain')).toEqual([2, 1, 'during drain'])
    expect(closed).toBe(false)
    // A new connection is refused while draining.
    await expect(connectRaw(env.path)).rejects.toThrow()
    conn.ws.close()
    await closing
    expect(isAlive(conn.hello.pid)).toBe(false)
  })

  it('terminates active workers when the drain timeout passes', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    const started = Date.now()
    await env.server.close({ timeout: 300 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(isAlive(conn.hello.pid)).toBe(false)
    expect((await conn.closed).code).toBe(4003)
  })

  it('does not respawn a worker that exits during shutdown', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    const closing = env.server.close({ timeout: 20_000 })
    void conn.call('exit', 3).catch(() => {})
    expect((await conn.closed).reason).toBe('code=3; worker exited with code 3')
    await closing
    // the spare's replacement may or may not have been started before close(); none after it
    const status = env.server.status()
    expect(status.state).toBe('closed')
    expect(status.exited).toBe(status.started)
    expect(status.started).toBeLessThanOrEqual(2)
  })
})
