/**
 * The `validate` option: runs on a worker before it is handed out (it may be async). `false` or a
 * throw retires that worker ('remove' reason 'validate') and another is tried, within the
 * checkout's timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TimeoutError, type Checkout, type RemoveReason, type WorkerInfo } from '@forkd/client'
import { isAlive, startEnv, waitFor, waitForExit, type TestEnv } from '../../support/harness.js'

describe('the validate option', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('an async validate returning false for the first worker: it is retired (reason validate) and the checkout is served by another', async () => {
    const validated: number[] = []
    const client = env.client({
      minWorkers: 1, maxWorkers: 2, timeout: 10_000,
      validate: async (c: Checkout) => {
        validated.push(c.worker.pid)
        env.pids.add(c.worker.pid)
        // A real call on the worker, as a health check would make.
        const pid = await c.pid()
        return validated.length > 1 && pid === c.worker.pid
      },
    })
    const removed: [number, RemoveReason][] = []
    const acquired: number[] = []
    const released: number[] = []
    client.on('remove', (w: WorkerInfo, reason) => removed.push([w.pid, reason]))
    client.on('acquire', (w) => acquired.push(w.pid))
    client.on('release', (w) => released.push(w.pid))

    const c = await client.checkout()
    const [first, second] = validated
    expect(validated).toHaveLength(2)
    expect(c.worker.pid).toBe(second)
    expect(second).not.toBe(first)
    expect(await c.pid()).toBe(second)
    expect(removed).toEqual([[first, 'validate']])
    // The validation's own use of the first worker is no checkout of the user's.
    expect(acquired).toEqual([second])
    c.release()
    expect(released).toEqual([second])
    await waitForExit([first!])
    expect(client.stats()).toMatchObject({ checkouts: 1, retired: { validate: 1 } })
  })

  it('a validate that throws retires the worker the same way', async () => {
    let calls = 0
    const client = env.client({
      minWorkers: 1, maxWorkers: 1, timeout: 10_000,
      validate: (c: Checkout) => {
        env.pids.add(c.worker.pid)
        if (++calls === 1) throw new Error('unhealthy')
        return true
      },
    })
    const removed: RemoveReason[] = []
    client.on('remove', (_w, reason) => removed.push(reason))
    const pid = await client.run((c) => c.pid())
    expect(calls).toBe(2)
    expect(removed).toEqual(['validate'])
    expect(isAlive(pid)).toBe(true)
  })

  it('every worker failing validation: the checkout times out within its timeout, and every worker tried is retired', async () => {
    const tried = new Set<number>()
    const client = env.client({
      minWorkers: 1, maxWorkers: 1,
      validate: (c: Checkout) => {
        tried.add(c.worker.pid)
        env.pids.add(c.worker.pid)
        return false
      },
    })
    const started = Date.now()
    const error = await client.checkout({ timeout: 1_500 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect(Date.now() - started).toBeLessThan(1_500 + 1_000)
    expect(tried.size).toBeGreaterThanOrEqual(1)
    await waitFor(() => client.stats().retired.validate >= tried.size, 'every tried worker retired')
  })

  it('a validate slower than the timeout: the checkout times out; the worker, once validated, serves the next checkout', async () => {
    let slow = true
    const client = env.client({
      minWorkers: 1, maxWorkers: 1,
      validate: async (c: Checkout) => {
        env.pids.add(c.worker.pid)
        if (slow) await new Promise((r) => setTimeout(r, 600))
        return true
      },
    })
    await client.ready()
    const error = await client.checkout({ timeout: 200 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    slow = false
    await waitFor(() => client.stats().idle === 1, 'the validated worker back in the pool')
    const pid = await client.run((c) => c.pid(), { timeout: 5_000 })
    expect(client.stats()).toMatchObject({ checkouts: 1, retired: { validate: 0 } })
    expect(isAlive(pid)).toBe(true)
  })
})
