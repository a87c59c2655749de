import { afterEach, describe, expect, it } from 'vitest'
import { isAlive, startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

describe('Server hung-worker heartbeat', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('kills a worker stuck in synchronous code, and tells its client why with close code 4004', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1, hungWorkerTimeout: 500 })
    const conn = await connectRaw(env.path)
    const started = Date.now()
    void conn.call('spinForever').catch(() => {})
    expect(await conn.closed).toEqual({ code: 4004, reason: 'signal=SIGKILL; worker killed: unresponsive for more than 500 ms (hungWorkerTimeout)' })
    expect(Date.now() - started).toBeLessThan(5_000)
    await waitFor(() => !isAlive(conn.hello.pid), 'the hung worker to die')
    expect(env.server.status()).toMatchObject({ killed: { unresponsive: 1, hung: 0 }, exits: { SIGKILL: 1 } })
  })

  it('kills a worker whose call has been running too long although its event loop is free', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1, hungWorkerTimeout: 500 })
    const conn = await connectRaw(env.path)
    void conn.call('sleep', 60_000).catch(() => {})
    expect(await conn.closed).toEqual({ code: 4004, reason: 'signal=SIGKILL; worker killed: busy for more than 500 ms (hungWorkerTimeout)' })
    expect(env.server.status().killed).toMatchObject({ hung: 1, unresponsive: 0 })
  })

  it('leaves a worker alone while it is idle or its calls are short', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1, hungWorkerTimeout: 300 })
    const conn = await connectRaw(env.path)
    for (let i = 1; i <= 5; i++) {
      expect(await conn.call('sleep', 100)).toEqual([2, i, 100])
      await new Promise((r) => setTimeout(r, 150))
    }
    expect(env.server.status().killed).toMatchObject({ hung: 0, unresponsive: 0 })
    conn.ws.close()
  })

  it('closes the connection of a worker that exits abnormally with code 4003 and the exit code', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    void conn.call('exit', 7).catch(() => {})
    expect(await conn.closed).toEqual({ code: 4003, reason: 'code=7; worker exited with code 7' })
  })
})
