/**
 * The lifetime rules (idleTimeout, maxWorkerAge, maxWorkerMemory) alone, as pure functions of the
 * facts they are given, then in the pool over fake connections with short real limits.
 */
import { describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { ageJitter, idleTimeout, maxWorkerAge, maxWorkerMemory, retiresProcess, serverRequest, type PoolFacts, type WorkerFacts } from '../../packages/client/src/retirement.js'
import { sweepInterval } from '../../packages/client/src/limit-sweep.js'
import { live, makePool, settle } from '../support/fake-pool.js'
import { waitFor } from '../support/harness.js'

const worker = (facts: Partial<WorkerFacts> = {}): WorkerFacts => ({
  checkouts: 1, retireRequested: undefined, endpoint: '/fake.sock', connectedAt: 0, idleSince: 0, rss: undefined, ...facts,
})
const pool = (facts: Partial<PoolFacts> = {}): PoolFacts => ({ now: 0, workers: 3, minWorkers: 1, ...facts })
const clean = { hadError: false, error: undefined, retireAs: undefined }

describe('idleTimeout', () => {
  const rule = idleTimeout(1_000)

  it('closes a worker idle for the limit or longer while the pool is above minWorkers', () => {
    expect(rule.whenIdle!(worker({ idleSince: 500 }), pool({ now: 1_499 }))).toBeUndefined()
    expect(rule.whenIdle!(worker({ idleSince: 500 }), pool({ now: 1_500 }))).toBe('idle')
  })

  it('never takes the pool below minWorkers, and down to nothing with minWorkers 0', () => {
    expect(rule.whenIdle!(worker(), pool({ now: 5_000, workers: 1, minWorkers: 1 }))).toBeUndefined()
    expect(rule.whenIdle!(worker(), pool({ now: 5_000, workers: 1, minWorkers: 0 }))).toBe('idle')
  })

  it('says nothing on release and asks for a sweep at its limit', () => {
    expect(rule.onRelease).toBeUndefined()
    expect(rule.timeLimit).toBe(1_000)
  })
})

describe('maxWorkerAge', () => {
  it('draws each worker its own limit in [90 %, 100 %) of maxWorkerAge, once', () => {
    const draws = [0, 0.5, 0.999]
    const rule = maxWorkerAge(1_000, () => draws.shift()!)
    const [a, b, c] = [worker(), worker(), worker()]
    // a: limit 1000, b: 950, c: 900.1
    expect(rule.whenIdle!(a, pool({ now: 999 }))).toBeUndefined()
    expect(rule.whenIdle!(b, pool({ now: 949 }))).toBeUndefined()
    expect(rule.whenIdle!(c, pool({ now: 900 }))).toBeUndefined()
    expect(draws).toEqual([])
    expect(rule.whenIdle!(a, pool({ now: 1_000 }))).toBe('age')
    expect(rule.onRelease!(b, clean, pool({ now: 950 }))).toBe('age')
    expect(rule.whenIdle!(c, pool({ now: 901 }))).toBe('age')
  })

  it('keeps the jitter within 10 % over many workers', () => {
    const rule = maxWorkerAge(1_000)
    const limits: number[] = []
    for (let i = 0; i < 2_000; i++) {
      const w = worker()
      let lo = 0
      let hi = 1_001
      // the first question draws the limit; bisect it with later ones
      rule.whenIdle!(w, pool({ now: 0 }))
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2)
        if (rule.whenIdle!(w, pool({ now: mid })) === 'age') hi = mid
        else lo = mid
      }
      limits.push(hi)
    }
    expect(ageJitter).toBe(0.1)
    expect(Math.min(...limits)).toBeGreaterThanOrEqual(900)
    expect(Math.max(...limits)).toBeLessThanOrEqual(1_000)
    // spread, not all the same limit
    expect(Math.max(...limits) - Math.min(...limits)).toBeGreaterThan(50)
  })

  it('ignores the pool size: an old worker retires even at minWorkers (and is replaced)', () => {
    const rule = maxWorkerAge(100, () => 0)
    expect(rule.whenIdle!(worker(), pool({ now: 100, workers: 1, minWorkers: 1 }))).toBe('age')
  })
})

describe('maxWorkerMemory', () => {
  const rule = maxWorkerMemory(100 * 2 ** 20)

  it('retires a worker whose last reported RSS passed the limit, and not one that reported nothing yet', () => {
    expect(rule.onRelease!(worker({ rss: 100 * 2 ** 20 }), clean, pool())).toBeUndefined()
    expect(rule.whenIdle!(worker({ rss: 100 * 2 ** 20 + 1 }), pool())).toBe('memory')
    expect(rule.whenIdle!(worker({ rss: undefined }), pool())).toBeUndefined()
    expect(rule.timeLimit).toBeUndefined()
  })
})

describe('a retired shared process', () => {
  it('is told apart from a server that asked: worker-retired gives processRetired, every other reason serverReplaced', () => {
    expect(serverRequest.whenIdle!(worker({ retireRequested: 'worker-retired' }), pool())).toBe('processRetired')
    expect(serverRequest.onRelease!(worker({ retireRequested: 'worker-retired' }), clean, pool())).toBe('processRetired')
    for (const reason of ['reload', 'server-replaced', 'shutdown', 'a reason from a newer server'])
      expect(serverRequest.whenIdle!(worker({ retireRequested: reason }), pool())).toBe('serverReplaced')
  })

  it('closes with 4002 exactly for what the worker became, not for why this client no longer needs it', () => {
    expect([...retiresProcess].sort()).toEqual(['age', 'error', 'maxCheckouts', 'memory', 'validate'])
  })
})

describe('sweepInterval', () => {
  it('is a tenth of the limit, between 10 ms and 1 s', () => {
    expect([sweepInterval(50), sweepInterval(2_000), sweepInterval(60_000)]).toEqual([10, 200, 1_000])
  })
})

describe('Pool with lifetime limits', () => {
  it('idleTimeout shrinks the pool to minWorkers, the longest idle first, and grows again on demand', async () => {
    const { pool, conns, events, request } = makePool({ minWorkers: 1, idleTimeout: 30 })
    const held = [request('a'), request('b'), request('c')]
    conns.forEach((c) => c.hello())
    await settle()
    const [first, , last] = held.map((r) => r.checkout.worker.pid)
    for (const r of held) r.checkout.release()
    await waitFor(() => pool.stats().workers === 1, 'the pool to shrink', 2_000)
    expect(pool.stats()).toMatchObject({ workers: 1, idle: 1, retired: { idle: 2 } })
    // the one left is the last given back: the stack's top
    expect(live(conns).map((c) => c.info.pid)).toEqual([last])
    expect(events.filter((e) => e.endsWith(' idle'))).toHaveLength(2)
    expect(events).toContain(`remove ${first} idle`)
    const again = [request('d'), request('e')]
    expect(conns).toHaveLength(4)
    conns[3]!.hello()
    await settle()
    expect(again.every((r) => r.checkout !== undefined)).toBe(true)
    for (const r of again) r.checkout.release()
  })

  it('idleTimeout with minWorkers 0 shrinks the pool to nothing, and a checkout grows it again', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 0, idleTimeout: 20 })
    const r = request('a')
    conns[0]!.hello()
    await settle()
    r.checkout.release()
    await waitFor(() => pool.stats().workers === 0, 'the pool to empty', 2_000)
    expect(pool.stats().retired.idle).toBe(1)
    const again = request('b')
    expect(conns).toHaveLength(2)
    conns[1]!.hello()
    await settle()
    expect(again.checkout.worker.pid).toBe(conns[1]!.info.pid)
    again.checkout.release()
    await pool.close()
  })

  it('maxWorkerAge retires on release, never while checked out, and replaces an idle one found too old', async () => {
    const { pool, conns, events, request } = makePool({ minWorkers: 1, maxWorkerAge: 40 }, false, () => 0)
    conns[0]!.hello()
    const held = request('a')
    await settle()
    const pid = held.checkout.worker.pid
    await new Promise((r) => setTimeout(r, 60))
    // past its age while checked out: still serving
    expect(conns[0]!.state).toBe('busy')
    held.checkout.release()
    expect(events).toContain(`remove ${pid} age`)
    expect(conns).toHaveLength(2)
    conns[1]!.hello()
    // the replacement rests in the pool until it is too old, then the sweep replaces it too
    await waitFor(() => conns.length === 3, 'the idle worker to be retired for its age', 2_000)
    expect(conns[1]!.closeReason).toBe('age')
    expect(pool.stats().retired.age).toBe(2)
    await pool.close()
  })

  it('maxWorkerMemory asks for stats with every release and retires a worker that reports too much before it serves again', async () => {
    const { pool, conns, events, request } = makePool({ minWorkers: 1, maxWorkers: 1, maxWorkerMemory: 64 * 2 ** 20 })
    expect(conns[0]!.reportMemory).toBe(true)
    conns[0]!.hello()
    const a = request('a')
    await settle()
    a.checkout.release()
    const waiting = request('b')
    await settle()
    // releasing until the done-ack says how big it is: b is not served by it yet
    expect(pool.stats()).toMatchObject({ releasing: 1, pending: 1 })
    conns[0]!.doneAck({ rss: 50 * 2 ** 20 })
    await settle()
    expect(waiting.checkout.worker.pid).toBe(conns[0]!.info.pid)
    waiting.checkout.release()
    conns[0]!.doneAck({ rss: 70 * 2 ** 20 })
    expect(conns[0]!.closeReason).toBe('memory')
    expect(events).toContain(`remove ${conns[0]!.info.pid} memory`)
    expect(pool.stats()).toMatchObject({ workers: 1, connecting: 1, retired: { memory: 1 } })
    await pool.close()
  })

  it('without maxWorkerMemory a release costs no round trip', () => {
    const { conns } = makePool({ minWorkers: 1 })
    expect(conns[0]!.reportMemory).toBe(false)
  })
})

describe('lifetime options', () => {
  it.each([
    ['idleTimeout', 0, /"idleTimeout" must be a number of milliseconds > 0, or Infinity, got 0/],
    ['idleTimeout', '1s', /"idleTimeout" must be a number of milliseconds > 0, or Infinity, got "1s"/],
    ['maxWorkerAge', -5, /"maxWorkerAge" must be a number of milliseconds > 0, or Infinity, got -5/],
    ['maxWorkerAge', NaN, /"maxWorkerAge" must be a number of milliseconds > 0, or Infinity, got NaN/],
    ['maxWorkerMemory', 1000, /"maxWorkerMemory" must be an integer ≥ 1048576 or Infinity, got 1000/],
    ['maxWorkerMemory', 2.5e7 + 0.5, /"maxWorkerMemory" must be an integer ≥ 1048576 or Infinity, got 25000000.5/],
  ])('rejects %s: %s with a TypeError naming it', (option, value, message) => {
    const make = () => new Client({ connect: '/nonexistent/forkd.sock', autostart: false, [option]: value })
    expect(make).toThrow(TypeError)
    expect(make).toThrow(message)
  })

  it('defaults to off (Infinity) and keeps what is given', async () => {
    const off = new Client({ connect: '/nonexistent/forkd.sock', autostart: false })
    expect(off.options).toMatchObject({ idleTimeout: Infinity, maxWorkerAge: Infinity, maxWorkerMemory: Infinity })
    const on = new Client({ connect: '/nonexistent/forkd.sock', autostart: false, idleTimeout: 500, maxWorkerAge: 60_000, maxWorkerMemory: 2 ** 28 })
    expect(on.options).toMatchObject({ idleTimeout: 500, maxWorkerAge: 60_000, maxWorkerMemory: 2 ** 28 })
    await Promise.all([off.close(), on.close()])
  })
})
