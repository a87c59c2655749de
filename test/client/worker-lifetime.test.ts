/**
 * Worker lifetime limits against a real server and real worker processes: idleTimeout shrinks the
 * pool (the workers' processes exit) and it grows again; maxWorkerAge retires workers on release
 * within the jitter bound; maxWorkerMemory retires a worker that leaks before it passes the limit
 * by more than one checkout's growth.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Client } from '@forkd/client'
import { isAlive, startEnv, waitFor, waitForExit, type TestEnv } from '../support/harness.js'

interface EchoWorker { pid(): number; sleep(ms: number): number }
interface LeakWorker { leak(bytes: number): { pid: number; rss: number; kept: number }; rss(): number }

/** Checks out `n` workers at once and returns their pids, releasing them all. */
async function pidsOf(client: Client<EchoWorker>, n: number, env: TestEnv): Promise<number[]> {
  const held = await Promise.all(Array.from({ length: n }, () => client.checkout()))
  const pids = await Promise.all(held.map((c) => c.pid()))
  for (const pid of pids) env.pids.add(pid)
  for (const c of held) c.release()
  return pids
}

describe('idleTimeout', () => {
  let env: TestEnv
  beforeEach(async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1 })
  })
  afterEach(() => env.cleanup())

  /** Every worker the client connects to, in order: on a loaded machine it may open more than it needs (a slow handshake counts as stalled). */
  function connected(client: Client<EchoWorker>): number[] {
    const pids: number[] = []
    client.on('connect', (w) => {
      pids.push(w.pid)
      env.pids.add(w.pid)
    })
    return pids
  }

  it('closes idle workers above minWorkers (their processes exit) and grows again on demand', async () => {
    const client = env.client<EchoWorker>({ minWorkers: 1, idleTimeout: 200 })
    const made = connected(client)
    const removed: string[] = []
    client.on('remove', (w, reason) => removed.push(`${w.pid} ${reason}`))
    const pids = await pidsOf(client, 4, env)
    expect(new Set(pids).size).toBe(4)
    await waitFor(() => client.stats().workers === 1 && client.stats().connecting === 0, 'the pool to shrink to minWorkers')
    const [survivor] = await pidsOf(client, 1, env)
    const gone = made.filter((pid) => pid !== survivor)
    expect(gone.length).toBeGreaterThanOrEqual(3)
    await waitForExit(gone)
    expect(isAlive(survivor!)).toBe(true)
    expect(client.stats()).toMatchObject({ workers: 1, retired: { idle: gone.length } })
    expect(removed.sort()).toEqual(gone.map((pid) => `${pid} idle`).sort())
    // demand comes back: the pool grows past minWorkers again, with new processes
    const before = [...made]
    const again = await pidsOf(client, 3, env)
    expect(new Set(again).size).toBe(3)
    expect(again).toContain(survivor)
    expect(again.filter((pid) => !before.includes(pid))).toHaveLength(2)
    expect(client.stats().workers).toBeGreaterThanOrEqual(3)
  })

  it('with minWorkers 0 shrinks to nothing and a checkout brings a worker back', async () => {
    const client = env.client<EchoWorker>({ minWorkers: 0, idleTimeout: 150 })
    const made = connected(client)
    const pids = await pidsOf(client, 2, env)
    expect(new Set(pids).size).toBe(2)
    await waitFor(() => client.stats().workers === 0, 'the pool to empty')
    await waitForExit(made)
    expect(client.stats().retired.idle).toBe(made.length)
    const before = [...made]
    const c = await client.checkout()
    const pid = await c.pid()
    c.release()
    expect(before).not.toContain(pid)
    expect(client.stats().workers).toBeGreaterThanOrEqual(1)
  })
})

describe('maxWorkerAge', () => {
  let env: TestEnv
  beforeEach(async () => {
    env = await startEnv('echo-worker.mjs', { spares: 2 })
  })
  afterEach(() => env.cleanup())

  it('retires a worker on release once it is older than its limit (90 to 100 % of maxWorkerAge), never while checked out', async () => {
    const age = 600
    const client = env.client<EchoWorker>({ minWorkers: 1, maxWorkers: 1, maxWorkerAge: age })
    const retiredAt: number[] = []
    const madeAt = new Map<number, number>()
    client.on('connect', (w) => madeAt.set(w.pid, performance.now()))
    client.on('remove', (w, reason) => {
      if (reason === 'age') retiredAt.push(performance.now() - madeAt.get(w.pid)!)
    })
    // one checkout held well past the age: the worker serves it to the end
    const held = await client.checkout()
    const first = await held.pid()
    env.pids.add(first)
    expect(await held.sleep(age * 1.3)).toBe(age * 1.3)
    expect(await held.pid()).toBe(first)
    held.release()
    await waitForExit([first])
    expect(client.stats().retired.age).toBe(1)
    // short checkouts: each worker serves until its own limit, then the next one takes over
    const served: number[] = []
    await waitFor(async () => {
      const c = await client.checkout()
      const pid = await c.pid()
      env.pids.add(pid)
      served.push(pid)
      c.release()
      return client.stats().retired.age >= 3
    }, 'three workers retired for their age')
    expect(served).not.toContain(first)
    // no worker retired before 90 % of maxWorkerAge (the jitter bound; only a loose upper bound: a loaded machine is slow)
    for (const t of retiredAt.slice(1)) {
      expect(t).toBeGreaterThanOrEqual(age * 0.9 - 5)
      expect(t).toBeLessThan(age * 5)
    }
    expect(new Set(served).size).toBeGreaterThanOrEqual(2)
  })
})

describe('maxWorkerMemory', () => {
  let env: TestEnv
  beforeEach(async () => {
    env = await startEnv('leak-worker.mjs', { spares: 2 })
  })
  afterEach(() => env.cleanup())

  it('keeps a worker that leaks 1 MiB per checkout under the limit plus one checkout\'s growth over 2 000 checkouts', async () => {
    const limit = 160 * 2 ** 20
    const growth = 2 ** 20
    const client = env.client<LeakWorker>({ minWorkers: 1, maxWorkers: 1, maxWorkerMemory: limit })
    let highest = 0
    const pids = new Set<number>()
    for (let i = 0; i < 2_000; i++) {
      const c = await client.checkout()
      const seen = await c.leak(growth)
      c.release()
      pids.add(seen.pid)
      env.pids.add(seen.pid)
      highest = Math.max(highest, seen.rss)
    }
    // allocator and V8 noise beyond the leak itself: another MiB
    expect(highest).toBeLessThanOrEqual(limit + growth + 2 ** 20)
    expect(highest).toBeGreaterThan(limit - 16 * 2 ** 20)
    const retired = client.stats().retired.memory
    expect(retired).toBeGreaterThanOrEqual(5)
    expect(pids.size).toBeGreaterThanOrEqual(retired)
    await waitForExit([...pids].slice(0, -1))
  }, 120_000)
})
