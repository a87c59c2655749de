import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkerDiedError } from '@forkd/client'
import { startEnv, waitForExit, type TestEnv } from '../support/harness.js'

describe('a hung worker (scenario 12 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs', { hungWorkerTimeout: 500 })
  })
  afterAll(() => env.cleanup())

  it('is killed by the server when an async call runs past hungWorkerTimeout; the client sees the connection die, not a timeout', async () => {
    const client = env.client({ name: 'hung', timeout: 20_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const error = await c.sleep(15_000).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as Error).message).toContain('worker connection died')
    expect((error as Error).message).toContain('hungWorkerTimeout')
    await expect(c.echo(1)).rejects.toBe(error)
    await waitForExit([pid])
    c.release()
  })

  it('is killed even when stuck in synchronous code, where no timer of its own can fire', async () => {
    const client = env.client({ name: 'spin', timeout: 20_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const error = await c.spinForever().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as Error).message).toContain('worker connection died')
    await waitForExit([pid])
    c.release()
    // the pool recovers and the server keeps serving
    const next = await client.checkout()
    env.pids.add(next.worker.pid)
    expect(await next.echo('alive')).toBe('alive')
    next.release()
    // one was busy too long, one stopped answering the heartbeat (stuck in synchronous code)
    expect(env.server.status()).toMatchObject({ killed: expect.objectContaining({ hung: 1, unresponsive: 1 }) })
  })

  it('does not touch a worker that is idle in a held checkout longer than hungWorkerTimeout', async () => {
    const client = env.client({ name: 'idle' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    await new Promise((r) => setTimeout(r, 1200))
    expect(await c.pid()).toBe(c.worker.pid)
    c.release()
  })
})
