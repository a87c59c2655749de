import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkerDiedError } from '@forkd/client'
import { startEnv, waitFor, waitForExit, type TestEnv } from '../support/harness.js'

describe('a worker that dies (scenario 15 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('fails the call with WorkerDiedError carrying the exit code when the worker calls process.exit', async () => {
    const client = env.client({ name: 'exit' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const error = await c.exit(3).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as WorkerDiedError).message).toContain('worker connection died')
    expect((error as WorkerDiedError).exitCode).toBe(3)
    expect((error as WorkerDiedError).code).toBe('FORKD_ERR_WORKER_DIED')
    await expect(c.echo(1)).rejects.toBe(error)
    c.release()
  })

  it('reports an uncaught exception thrown in a callback', async () => {
    const client = env.client({ name: 'uncaught' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const error = await c.throwLater('kaboom in a timer').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as Error).message).toContain('uncaught exception: kaboom in a timer')
    c.release()
  })

  it('reports a worker killed with SIGKILL mid-call', async () => {
    const client = env.client({ name: 'killed' })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const call = c.sleep(10_000)
    setTimeout(() => process.kill(pid, 'SIGKILL'), 50)
    const error = await call.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as WorkerDiedError).signal).toBe('SIGKILL')
    c.release()
  })

  it('is noticed and replaced while idle in the pool, before anyone checks it out', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 2 })
    const a = await client.checkout()
    const b = await client.checkout()
    const pids = [a.worker.pid, b.worker.pid]
    pids.forEach((p) => env.pids.add(p))
    a.release()
    b.release()
    await waitFor(() => client.stats().idle === 2, 'both workers idle')
    process.kill(pids[0]!, 'SIGKILL')
    await waitForExit([pids[0]!])
    await waitFor(() => client.stats().retired.died === 1 && client.stats().idle === 2, 'the dead worker to be replaced')
    const c = await client.checkout()
    const d = await client.checkout()
    env.pids.add(c.worker.pid).add(d.worker.pid)
    expect([c.worker.pid, d.worker.pid]).not.toContain(pids[0])
    expect(await c.echo('ok')).toBe('ok')
    expect(await d.echo('ok')).toBe('ok')
    c.release()
    d.release()
  })
})
