/**
 * The pool driven by fake connections: grant order, refill, growth, retirement rules, backoff and
 * close, in milliseconds and without processes.
 */
import { describe, expect, it } from 'vitest'
import { AbortError, AbortedError, CancelledError, ClientClosedError, QueueFullError, TimeoutError, WorkerDiedError, WorkerError, type Checkout } from '@forkd/client'
import { live, makePool, settle } from '../support/fake-pool.js'
import { waitFor } from '../support/harness.js'

describe('Pool', () => {
  it('opens minWorkers connections at start and refills after a death', () => {
    const { pool, conns } = makePool({ minWorkers: 2 })
    expect(conns).toHaveLength(2)
    conns.forEach((c) => c.hello())
    expect(pool.stats()).toMatchObject({ workers: 2, idle: 2, connecting: 0 })
    conns[0]!.die()
    expect(conns).toHaveLength(3)
    expect(pool.stats()).toMatchObject({ workers: 2, idle: 1, connecting: 1, retired: { died: 1 } })
  })

  it('serves waiting checkouts first come, first served, and grows only up to maxWorkers', async () => {
    const { pool, conns, granted, request } = makePool({ maxWorkers: 2 })
    request('a')
    const b = request('b')
    request('c')
    expect(conns).toHaveLength(2)
    conns[1]!.hello()
    conns[0]!.hello()
    await settle()
    expect(granted).toEqual(['a', 'b'])
    expect(pool.stats()).toMatchObject({ busy: 2, pending: 1 })
    b.checkout.release()
    await settle()
    expect(granted).toEqual(['a', 'b', 'c'])
    expect(conns).toHaveLength(2)
  })

  it('serves higher priorities first, equal priorities in order, and removes a timed-out waiter without disturbing the rest', async () => {
    const { conns, granted, request } = makePool({ minWorkers: 1, maxWorkers: 1 })
    conns[0]!.hello()
    const requests = new Map([['holder', request('holder')]])
    await settle()
    for (const [label, priority] of [['low-1', -1], ['normal-1', 0], ['high-1', 5]] as const) requests.set(label, request(label, { priority }))
    const gone = request('normal-2', { timeout: 20 })
    for (const [label, priority] of [['high-2', 5], ['normal-3', 0]] as const) requests.set(label, request(label, { priority }))
    await waitFor(() => gone.error, 'the 20 ms checkout to time out')
    expect(gone.error).toBeInstanceOf(TimeoutError)
    // each holder releases; the next in line gets the single worker
    for (let i = 0; i < 5; i++) {
      requests.get(granted[granted.length - 1]!)!.checkout.release()
      await settle()
    }
    expect(granted).toEqual(['holder', 'high-1', 'high-2', 'normal-1', 'normal-3', 'low-1'])
  })

  it('grants an idle worker at once, most recently used first', async () => {
    const { conns, request } = makePool({ minWorkers: 2 })
    conns.forEach((c) => c.hello())
    const first = request('first')
    await settle()
    const pid = first.checkout.worker.pid
    first.checkout.release()
    const second = request('second')
    await settle()
    expect(second.checkout.worker.pid).toBe(pid)
  })

  it('with maxPendingCheckouts 0 serves a checkout an idle worker can take, and refuses one that would wait', async () => {
    const { conns, request } = makePool({ minWorkers: 1, maxWorkers: 1, maxPendingCheckouts: 0 })
    conns[0]!.hello()
    const served = request('served')
    const refused = request('refused')
    await settle()
    expect(served.checkout.worker.pid).toBe(conns[0]!.info.pid)
    expect(refused.error).toBeInstanceOf(QueueFullError)
  })

  it('retires after maxCheckouts and after an error (reforkAfterError), and keeps the epoch across checkouts otherwise', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 1, maxCheckouts: 2, reforkAfterError: false })
    conns[0]!.hello()
    const first = request('one')
    await settle()
    const one = first.checkout
    const failed = one.fail()
    conns[0]!.flush()
    conns[0]!.replyError('boom')
    await expect(failed).rejects.toBeInstanceOf(WorkerError)
    one.release()
    expect(conns[0]!.state).toBe('idle')
    expect(conns[0]!.epoch).toBe(1)
    const second = request('two')
    await settle()
    const two = second.checkout
    void two.echo(1)
    expect(conns[0]!.unsent[0]!.epoch).toBe(1)
    conns[0]!.flush()
    conns[0]!.reply(1)
    two.release()
    expect(conns[0]!.closeReason).toBe('maxCheckouts')
    expect(pool.stats().retired.maxCheckouts).toBe(1)

    const refork = makePool({ minWorkers: 1 })
    refork.conns[0]!.hello()
    const r = refork.request('c')
    await settle()
    const p = r.checkout.fail()
    refork.conns[0]!.flush()
    refork.conns[0]!.replyError('boom')
    await p.catch(() => {})
    r.checkout.release()
    expect(refork.conns[0]!.closeReason).toBe('error')
  })

  it('retires on release(error), as pg does, when reforkAfterError is on', async () => {
    const { conns, request, events } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    const r = request('r')
    await settle()
    r.checkout.release(new Error('caller gave up'))
    expect(conns[0]!.closeReason).toBe('error')
    const pid = conns[0]!.info.pid
    expect(events).toEqual([`connect ${pid}`, `acquire ${pid}`, `release ${pid} Error`, `remove ${pid} error`])
  })

  it('retires a worker its server asked to retire: at once when idle, on release when busy', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 2 })
    conns.forEach((c) => c.hello())
    const busy = request('busy')
    await settle()
    const busyConn = conns.find((c) => c.state === 'busy')!
    const idleConn = conns.find((c) => c.state === 'idle')!
    idleConn.requestRetire()
    busyConn.requestRetire()
    expect(idleConn.closeReason).toBe('serverReplaced')
    expect(busyConn.state).toBe('busy')
    busy.checkout.release()
    expect(busyConn.closeReason).toBe('serverReplaced')
    expect(pool.stats().retired.serverReplaced).toBe(2)
  })

  it('waits for checkoutDone (releasing) before granting the worker again', async () => {
    const { conns, granted, request } = makePool({ minWorkers: 1, maxWorkers: 1 }, true)
    conns[0]!.hello()
    const a = request('a')
    const b = request('b')
    await settle()
    a.checkout.release()
    expect(conns[0]!.state).toBe('releasing')
    await settle()
    expect(granted).toEqual(['a'])
    conns[0]!.doneAck()
    await settle()
    expect(granted).toEqual(['a', 'b'])
    expect(b.checkout.worker.pid).toBe(a.checkout.worker.pid)
  })

  it('grants nothing while paused; waiting checkouts stay queued and are served on resume', async () => {
    const { pool, conns, granted, request } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    pool.pause()
    request('a')
    await settle()
    expect(granted).toEqual([])
    expect(pool.stats()).toMatchObject({ paused: true, pending: 1, idle: 1 })
    pool.resume()
    await settle()
    expect(granted).toEqual(['a'])
    expect(pool.stats().paused).toBe(false)
  })

  it('validates a worker before handing it out, retiring one that fails and serving the checkout with another', async () => {
    const seen: number[] = []
    let first = true
    const { conns, granted, request, events } = makePool({
      minWorkers: 2,
      validate: (c) => {
        seen.push(c.worker.pid)
        const ok = !first
        first = false
        return Promise.resolve(ok)
      },
    })
    conns.forEach((c) => c.hello())
    const r = request('r')
    await settle()
    await settle()
    expect(granted).toEqual(['r'])
    expect(seen).toHaveLength(2)
    expect(r.checkout.worker.pid).toBe(seen[1])
    expect(conns.find((c) => c.info.pid === seen[0])!.closeReason).toBe('validate')
    expect(events.filter((e) => e.startsWith('release'))).toEqual([])
    expect(events).toContain(`remove ${seen[0]} validate`)
  })

  it('bounds the validation of a worker granted at once by the checkout\'s timeout and signal', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 1, maxWorkers: 1, validate: () => new Promise<boolean>(() => {}) })
    conns[0]!.hello()
    // Idle worker: granted at once, then validation never finishes.
    const timed = request('timed', { timeout: 50 })
    await waitFor(() => timed.error, 'the 50 ms checkout to time out')
    expect(timed.error).toBeInstanceOf(TimeoutError)
    const { pool: pool2, conns: conns2, request: request2 } = makePool({ minWorkers: 1, maxWorkers: 1, validate: () => new Promise<boolean>(() => {}) })
    conns2[0]!.hello()
    const controller = new AbortController()
    const aborted = request2('aborted', { timeout: Infinity, signal: controller.signal })
    await settle()
    controller.abort('stop')
    await settle()
    expect(aborted.error).toBeInstanceOf(AbortError)
    await pool.close()
    await pool2.close()
  })

  it('rejects a checkout whose signal aborts while it waits with AbortError (cause: the reason), in O(1), and one already aborted at once', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 1, maxWorkers: 1 })
    conns[0]!.hello()
    const holder = request('holder')
    await settle()
    const controller = new AbortController()
    const aborted = request('aborted', { signal: controller.signal })
    const after = request('after')
    controller.abort('user left')
    await settle()
    expect(aborted.error).toBeInstanceOf(AbortError)
    expect(aborted.error!.name).toBe('AbortError')
    expect(aborted.error!.cause).toBe('user left')
    expect(pool.stats().pending).toBe(1)
    holder.checkout.release()
    await settle()
    expect(after.checkout.worker.pid).toBe(conns[0]!.info.pid)
    const already = request('already', { signal: AbortSignal.abort(new Error('too late')) })
    await settle()
    expect(already.error).toBeInstanceOf(AbortError)
    expect((already.error!.cause as Error).message).toBe('too late')
  })

  it('aborts a held checkout when its signal fires while a call runs', async () => {
    const { conns, request } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    const controller = new AbortController()
    const r = request('r', { signal: controller.signal })
    await settle()
    const call = r.checkout.echo(1)
    conns[0]!.flush()
    controller.abort(new Error('shutting down'))
    const error = await call.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as Error).message).toBe('shutting down')
    expect(conns[0]!).toMatchObject({ closeReason: 'fatal', discarded: true })
  })

  it('ready() resolves once minWorkers are idle; autostart: false connects nothing until then', async () => {
    const { pool, conns } = makePool({ minWorkers: 2, autostart: false })
    expect(conns).toHaveLength(0)
    let ready = false
    void pool.ready().then(() => (ready = true))
    expect(conns).toHaveLength(2)
    conns[0]!.hello()
    await settle()
    expect(ready).toBe(false)
    conns[1]!.hello()
    await settle()
    expect(ready).toBe(true)
  })

  it('quiet() resolves once nothing is held or waiting', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 1, maxWorkers: 1 })
    conns[0]!.hello()
    const a = request('a')
    const b = request('b')
    await settle()
    let quiet = false
    void pool.quiet().then(() => (quiet = true))
    a.checkout.release()
    await settle()
    expect(quiet).toBe(false)
    b.checkout.release()
    await settle()
    expect(quiet).toBe(true)
  })

  it('probes one connection at a time after a failure, and a stalled attempt does not hold the others back', async () => {
    const { pool, conns, request } = makePool({ maxWorkers: 4, connectRetryMin: 1, connectRetryMax: 2 })
    request('a')
    request('b')
    expect(conns).toHaveLength(2)
    conns[0]!.failAttempt()
    conns[1]!.failAttempt()
    expect(pool.stats().connectFailures).toBe(2)
    await new Promise((r) => setTimeout(r, 10))
    // backoff over: one probe, not one per waiting checkout
    expect(live(conns)).toHaveLength(1)
    const probe = live(conns)[0]!
    probe.stall()
    // the stalled probe no longer counts: another attempt goes out
    expect(live(conns)).toHaveLength(2)
    live(conns)[1]!.hello()
    // the endpoint works again: the other waiting checkout gets an attempt of its own, while the
    // stalled one is still waited for (it is abandoned at connectTimeout)
    expect(pool.stats()).toMatchObject({ busy: 1, connecting: 2, pending: 1, connectFailures: 0 })
  })

  it('with propagateConnectError, a failed attempt rejects the oldest waiting checkout with its error', async () => {
    const { conns, request } = makePool({ propagateConnectError: true, connectRetryMin: 1, connectRetryMax: 2 })
    const a = request('a')
    const b = request('b')
    conns[0]!.failAttempt(new Error('ECONNREFUSED'))
    await settle()
    expect(a.error?.message).toBe('ECONNREFUSED')
    expect(b.settled).toBe(false)
  })

  it('never sends calls made in the tick a checkout is aborted: they reject with CancelledError', async () => {
    const { conns, request } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    const r = request('c')
    await settle()
    const c = r.checkout
    const sent = c.echo('sent')
    conns[0]!.flush()
    const unsent = c.echo('unsent')
    c.abort('stop')
    const [sentError, unsentError] = await Promise.all([sent.catch((e: unknown) => e), unsent.catch((e: unknown) => e)])
    expect(sentError).toBeInstanceOf(AbortedError)
    expect(unsentError).toBeInstanceOf(CancelledError)
    expect((unsentError as CancelledError).cause).toBe(sentError)
    expect(conns[0]!).toMatchObject({ closeReason: 'fatal', discarded: true })
    expect(conns[0]!.unsent).toHaveLength(0)
  })

  it('refuses a method name that is not a string, for that call only', async () => {
    const { conns, request } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    const r = request('c')
    await settle()
    await expect(r.checkout.call(42 as never)).rejects.toThrow(new TypeError('forkd checkout: a method name must be a string, got 42'))
    expect(conns[0]!.unsent).toHaveLength(0)
    void r.checkout.echo('still fine')
    expect(conns[0]!.unsent).toHaveLength(1)
  })

  it('a lost worker fails sent calls with its error and cancels unsent ones', async () => {
    const { conns, request } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    const r = request('c')
    await settle()
    const sent = r.checkout.echo(1)
    conns[0]!.flush()
    const unsent = r.checkout.echo(2)
    conns[0]!.die(new WorkerDiedError('gone'))
    await expect(sent).rejects.toBeInstanceOf(WorkerDiedError)
    await expect(unsent).rejects.toBeInstanceOf(CancelledError)
  })

  it('close rejects waiting checkouts and running calls with ClientClosedError', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 1, maxWorkers: 1 })
    conns[0]!.hello()
    const held = request('held')
    await settle()
    // Handled from the start: close() rejects it before the test awaits it (no unhandled rejection).
    const running = held.checkout.echo(1).catch((e: unknown) => e)
    conns[0]!.flush()
    const waiting = request('waiting')
    await pool.close()
    await settle()
    expect(waiting.error).toBeInstanceOf(ClientClosedError)
    expect(await running).toBeInstanceOf(ClientClosedError)
    expect(conns[0]!.closeReason).toBe('clientClosed')
    expect(pool.stats()).toMatchObject({ workers: 0, pending: 0 })
    const late = request('late')
    await settle()
    expect(late.error).toBeInstanceOf(ClientClosedError)
  })
})
