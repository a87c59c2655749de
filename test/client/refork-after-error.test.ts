import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, waitForExit, type TestEnv } from '../support/harness.js'

describe('refork after error (scenario 2 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('destroys a worker whose checkout saw an error, by default, and refills the pool', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    await expect(c.fail('x')).rejects.toThrow('x')
    c.release()
    await waitForExit([pid])
    const next = await client.checkout()
    env.pids.add(next.worker.pid)
    expect(next.worker.pid).not.toBe(pid)
    next.release()
    expect(client.stats().retired.error).toBe(1)
    expect(client.stats().workers).toBe(1)
  })

  it('with reforkAfterError: false, serves the checkout and the next ones from the same worker', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1, reforkAfterError: false })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    await expect(c.fail('first')).rejects.toThrow('first')
    expect(await c.pid()).toBe(pid)
    await expect(c.fail('second')).rejects.toThrow('second')
    c.release()
    const next = await client.checkout()
    expect(next.worker.pid).toBe(pid)
    expect(await next.pid()).toBe(pid)
    next.release()
    expect(client.stats().retired.error).toBe(0)
  })
})
