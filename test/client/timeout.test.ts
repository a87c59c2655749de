import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { Client, ConnectError, TimeoutError } from '@forkd/client'
import { startEnv, tempDir, waitFor, waitForExit, warm, type TestEnv } from '../support/harness.js'

describe('timeouts', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('fail a checkout made while no server listens (scenario 11 of docs/scenarios.md), with the connection error as cause', async () => {
    const dir = tempDir()
    const client = new Client({ connect: join(dir, 'nobody.sock'), name: 'lonely', timeout: 300 })
    try {
      const error = await client.checkout().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TimeoutError)
      expect((error as TimeoutError).message).toMatch(/^lonely: checkout timed out after 0.3 seconds waiting for the server/)
      expect((error as TimeoutError).cause).toBeInstanceOf(ConnectError)
      expect(((error as TimeoutError).cause as Error).message).toContain('ENOENT')
      expect(client.stats()).toMatchObject({ pending: 0, workers: 0 })
    } finally {
      await client.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('fail a call slower than the timeout (scenario 13 of docs/scenarios.md); the error is sticky and the worker is discarded', async () => {
    const client = env.client({ name: 'slow', timeout: 200 })
    await warm(client)
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    expect(await c.sleep(10)).toBe(10)
    const error = await c.sleep(5_000).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).message).toBe('slow -> sleep: timed out after 0.2 seconds')
    expect((error as TimeoutError).code).toBe('FORKD_ERR_TIMEOUT')
    await expect(c.echo(1)).rejects.toBe(error)
    // the discarded worker exits at once instead of finishing its 5 s sleep
    await waitForExit([pid], 3_000)
    c.release()
    await waitFor(() => client.stats().workers === 2 && client.stats().idle === 2, 'the pool to refill')
  })

  it('say "1 second" for a timeout of 1 000 ms, and name no client when it is unnamed', async () => {
    const client = env.client({ timeout: 1_000 })
    await warm(client)
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const error = await c.sleep(5_000).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).message).toBe('-> sleep: timed out after 1 second')
    c.release()
  })

  it('restart for each request: many calls each shorter than the timeout all succeed', async () => {
    const client = env.client({ timeout: 1_000 })
    await warm(client)
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    // eight 250 ms calls pipelined take 2 s in all, but no single request comes near 1 s
    const results = await Promise.all(Array.from({ length: 8 }, () => c.sleep(250)))
    expect(results).toEqual(Array.from({ length: 8 }, () => 250))
    c.release()
  })

  it('can be overridden per checkout, and Infinity means none', async () => {
    const client = env.client({ timeout: 100 })
    await warm(client)
    const c = await client.checkout({ timeout: Infinity })
    env.pids.add(c.worker.pid)
    expect(await c.sleep(250)).toBe(250)
    c.release()
    const d = await client.checkout({ timeout: 1000 })
    env.pids.add(d.worker.pid)
    expect(await d.sleep(250)).toBe(250)
    d.release()
  })

  it('cover the wait for a worker: a queued checkout times out and leaves the queue', async () => {
    const client = env.client({ maxWorkers: 1, minWorkers: 1, timeout: 200 })
    await warm(client)
    const holder = await client.checkout({ timeout: Infinity })
    env.pids.add(holder.worker.pid)
    const waiting = client.checkout()
    expect(client.stats().pending).toBe(1)
    const error = await waiting.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).message).toContain('waiting for a worker')
    expect(client.stats().pending).toBe(0)
    holder.release()
    const after = await client.checkout()
    expect(after.worker.pid).toBe(holder.worker.pid)
    after.release()
  })
})
