/**
 * `client.stats()` histograms: waitTime counts granted checkouts, holdTime counts ended ones,
 * runTime counts calls that got an outcome (a reply, a worker error, a timeout), not the calls
 * cancelled behind a failure. `recordTiming: false` leaves them out. Times are bounded loosely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CancelledError, TimeoutError, WorkerError, type TimingStats } from '@forkd/client'
import { startEnv, warm, type TestEnv } from '../support/harness.js'

function expectOrdered(t: TimingStats): void {
  expect(t.min).toBeLessThanOrEqual(t.p50)
  expect(t.p50).toBeLessThanOrEqual(t.p90)
  expect(t.p90).toBeLessThanOrEqual(t.p99)
  expect(t.p99).toBeLessThanOrEqual(t.p999)
  expect(t.p999).toBeLessThanOrEqual(t.max)
  expect(t.mean).toBeGreaterThanOrEqual(t.min)
  expect(t.mean).toBeLessThanOrEqual(t.max)
}

describe('timing histograms in stats()', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('start empty, all zeros', () => {
    const client = env.client({ minWorkers: 0, autostart: false })
    const zero = { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 }
    const s = client.stats()
    expect(s.waitTime).toEqual(zero)
    expect(s.runTime).toEqual(zero)
    expect(s.holdTime).toEqual(zero)
    expect(s.timeouts).toBe(0)
  })

  it('count every granted checkout, every ended hold and every call with an outcome', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 2, timeout: 10_000 })
    await warm(client, 2)
    let calls = 0
    for (let i = 0; i < 5; i++) {
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      for (let k = 0; k <= i; k++) await c.echo(k)
      calls += i + 1
      c.release()
    }
    // Pipelined calls count one each; a call that threw in the worker counts too.
    await client.run(async (c) => {
      env.pids.add(c.worker.pid)
      await Promise.all([c.echo('a'), c.echo('b'), c.sleep(60)])
      await expect(c.fail('no')).rejects.toBeInstanceOf(WorkerError)
    })
    calls += 4
    // Two at once, one held while the other waits a little: both count once.
    const first = await client.checkout()
    const second = await client.checkout()
    await Promise.all([first.echo(1), second.echo(2)])
    calls += 2
    first.release()
    second.release()

    const s = client.stats()
    expect(s.waitTime!.count).toBe(8)
    expect(s.holdTime!.count).toBe(8)
    expect(s.runTime!.count).toBe(calls)
    expect(s.checkouts).toBe(8)
    for (const t of [s.waitTime!, s.runTime!, s.holdTime!]) expectOrdered(t)
    // The 60 ms sleep is the longest call, and its checkout the longest hold. Loosely: a Node timer
    // counts from the event loop's cached time, so it may fire a few ms early by the wall clock.
    expect(s.runTime!.max).toBeGreaterThanOrEqual(50)
    expect(s.holdTime!.max).toBeGreaterThanOrEqual(50)
    expect(s.runTime!.min).toBeGreaterThan(0)
  })

  it('count a timed-out call once and none of the calls cancelled behind it; a checkout that timed out waiting counts in timeouts only', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 400 })
    await warm(client)
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const waiting = await client.checkout({ timeout: 50 }).catch((e: unknown) => e)
    expect(waiting).toBeInstanceOf(TimeoutError)
    const results = await Promise.allSettled([c.sleep(5_000), c.echo('behind')])
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(TimeoutError)
    const behind = (results[1] as PromiseRejectedResult).reason as Error
    expect(behind instanceof TimeoutError || behind instanceof CancelledError).toBe(true)
    c.release()
    const s = client.stats()
    expect(s.timeouts).toBe(1)
    expect(s.waitTime!.count).toBe(1)
    expect(s.runTime!.count).toBe(1)
    expect(s.runTime!.max).toBeGreaterThanOrEqual(390)
    expect(s.holdTime!.count).toBe(1)
  })

  it('are left out with recordTiming: false', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, recordTiming: false })
    await client.run((c) => c.echo(1))
    const s = client.stats()
    expect(s.checkouts).toBe(1)
    expect(s.waitTime).toBeUndefined()
    expect(s.runTime).toBeUndefined()
    expect(s.holdTime).toBeUndefined()
  })
})
