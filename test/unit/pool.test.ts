/**
 * The pool driven by fake connections: grant order, refill, growth, retirement rules, backoff and
 * close, in milliseconds and without processes.
 */
import { describe, expect, it } from 'vitest'
import { AbortedError, CancelledError, ClientClosedError, WorkerDiedError, WorkerError } from '@forkd/client'
import { live, makePool } from '../support/fake-pool.js'

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

  it('serves waiting checkouts first come, first served, and grows only up to maxWorkers', () => {
    const { pool, conns, granted, request } = makePool({ maxWorkers: 2 })
    const a = request('a')
    const b = request('b')
    const c = request('c')
    expect([a.now, b.now, c.now]).toEqual([false, false, false])
    expect(conns).toHaveLength(2)
    conns[1]!.hello()
    conns[0]!.hello()
    expect(granted).toEqual(['a', 'b'])
    expect(pool.stats()).toMatchObject({ busy: 2, pending: 1 })
    b.checkout.release()
    expect(granted).toEqual(['a', 'b', 'c'])
    expect(conns).toHaveLength(2)
  })

  it('grants an idle worker at once, most recently used first', () => {
    const { conns, request } = makePool({ minWorkers: 2 })
    conns.forEach((c) => c.hello())
    const first = request('first')
    expect(first.now).toBe(true)
    const pid = first.checkout.worker.pid
    first.checkout.release()
    const second = request('second')
    expect(second.now).toBe(true)
    expect(second.checkout.worker.pid).toBe(pid)
  })

  it('retires after maxCheckouts and after an error (reforkAfterError), and keeps the epoch across checkouts otherwise', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 1, maxCheckouts: 2, reforkAfterError: false })
    conns[0]!.hello()
    const one = request('one').checkout
    const failed = one.fail()
    conns[0]!.flush()
    conns[0]!.replyError('boom')
    await expect(failed).rejects.toBeInstanceOf(WorkerError)
    one.release()
    expect(conns[0]!.state).toBe('idle')
    expect(conns[0]!.epoch).toBe(1)
    const two = request('two').checkout
    void two.echo(1)
    expect(conns[0]!.unsent[0]!.epoch).toBe(1)
    conns[0]!.flush()
    conns[0]!.reply(1)
    two.release()
    expect(conns[0]!.closeReason).toBe('maxCheckouts')
    expect(pool.stats().retired.maxCheckouts).toBe(1)

    const refork = makePool({ minWorkers: 1 })
    refork.conns[0]!.hello()
    const c = refork.request('c').checkout
    const p = c.fail()
    refork.conns[0]!.flush()
    refork.conns[0]!.replyError('boom')
    await p.catch(() => {})
    c.release()
    expect(refork.conns[0]!.closeReason).toBe('error')
  })

  it('retires a worker its server asked to retire: at once when idle, on release when busy', () => {
    const { pool, conns, request } = makePool({ minWorkers: 2 })
    conns.forEach((c) => c.hello())
    const busy = request('busy').checkout
    const busyConn = conns.find((c) => c.state === 'busy')!
    const idleConn = conns.find((c) => c.state === 'idle')!
    idleConn.requestRetire()
    busyConn.requestRetire()
    expect(idleConn.closeReason).toBe('serverReplaced')
    expect(busyConn.state).toBe('busy')
    busy.release()
    expect(busyConn.closeReason).toBe('serverReplaced')
    expect(pool.stats().retired.serverReplaced).toBe(2)
  })

  it('waits for checkoutDone (releasing) before granting the worker again', () => {
    const { conns, granted, request } = makePool({ minWorkers: 1, maxWorkers: 1 }, true)
    conns[0]!.hello()
    const a = request('a')
    const b = request('b')
    a.checkout.release()
    expect(conns[0]!.state).toBe('releasing')
    expect(granted).toEqual(['a'])
    conns[0]!.doneAck()
    expect(granted).toEqual(['a', 'b'])
    expect(b.checkout.worker.pid).toBe(a.checkout.worker.pid)
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

  it('never sends calls made in the tick a checkout is aborted: they reject with CancelledError', async () => {
    const { conns, request } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    const c = request('c').checkout
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

  it('a lost worker fails sent calls with its error and cancels unsent ones', async () => {
    const { conns, request } = makePool({ minWorkers: 1 })
    conns[0]!.hello()
    const c = request('c').checkout
    const sent = c.echo(1)
    conns[0]!.flush()
    const unsent = c.echo(2)
    conns[0]!.die(new WorkerDiedError('gone'))
    await expect(sent).rejects.toBeInstanceOf(WorkerDiedError)
    await expect(unsent).rejects.toBeInstanceOf(CancelledError)
  })

  it('close rejects waiting checkouts and running calls with ClientClosedError', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 1, maxWorkers: 1 })
    conns[0]!.hello()
    const held = request('held').checkout
    const running = held.echo(1)
    conns[0]!.flush()
    const waiting = request('waiting')
    await pool.close()
    expect(waiting.error).toBeInstanceOf(ClientClosedError)
    await expect(running).rejects.toBeInstanceOf(ClientClosedError)
    expect(conns[0]!.closeReason).toBe('clientClosed')
    expect(pool.stats()).toMatchObject({ workers: 0, pending: 0 })
    const late = request('late')
    expect(late.now).toBe(true)
    expect(late.error).toBeInstanceOf(ClientClosedError)
  })
})
