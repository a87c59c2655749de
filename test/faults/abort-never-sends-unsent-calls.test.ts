/**
 * Issue 12, item 3: once a checkout is fatal (abort, timeout), a call it has not sent yet is never
 * sent. Such a call rejects with CancelledError, whose cause is the fatal error: it certainly did
 * not run. A call that was sent before the checkout became fatal rejects with the fatal error
 * itself: it is in doubt (it may have run).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AbortedError, CancelledError, TimeoutError } from '@forkd/client'
import { startEnv, waitFor, waitForExit, warm, type TestEnv } from '../support/harness.js'

describe('a fatal checkout and the calls it has not sent', () => {
  let env: TestEnv
  let n = 0
  const file = (what: string) => join(env.dir, `${what}-${++n}.txt`)
  beforeAll(async () => {
    env = await startEnv('fault-worker.mjs', { spares: 2 })
  })
  afterAll(() => env.cleanup())

  /** Settles `p` and returns its rejection (fails the test if it resolved). */
  async function rejection(p: Promise<unknown>): Promise<Error> {
    const outcome = await p.then((value) => ({ value }), (error: unknown) => ({ error }))
    if (!('error' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome.value)}`)
    return outcome.error as Error
  }

  it('abort() in the same tick as a call: the call is never sent and rejects with CancelledError caused by the AbortedError (20 rounds)', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 2, timeout: 20_000 })
    const rounds: { written: boolean; error: string; cause: string }[] = []
    for (let i = 0; i < 20; i++) {
      await warm(client)
      const c = await client.checkout()
      const pid = c.worker.pid
      env.pids.add(pid)
      const target = file('append')
      const p = c.append(target, 'ran')
      c.abort('caller gave up')
      const error = await rejection(p)
      // The worker is discarded; once it has exited, whatever it was going to do is done.
      c.release()
      await waitForExit([pid])
      const cause = (error as { cause?: unknown }).cause as Error | undefined
      rounds.push({ written: existsSync(target), error: `${error.constructor.name} ${(error as CancelledError).code}`, cause: `${cause?.constructor.name} ${cause?.message}` })
    }
    expect(rounds).toEqual(Array.from({ length: 20 }, () => ({
      written: false,
      error: 'CancelledError FORKD_ERR_CANCELLED',
      cause: 'AbortedError caller gave up',
    })))
  }, 60_000)

  it('the cancelled call and later calls share one AbortedError, which every later call rejects with', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 20_000 })
    await warm(client)
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const target = file('append')
    const p = c.append(target, 'ran')
    c.abort('stop')
    const error = await rejection(p)
    expect(error).toBeInstanceOf(CancelledError)
    const cause = (error as CancelledError).cause
    expect(cause).toBeInstanceOf(AbortedError)
    expect((cause as AbortedError).code).toBe('FORKD_ERR_ABORTED')
    await expect(c.echo('later')).rejects.toBe(cause)
    c.release()
    await waitForExit([c.worker.pid])
    expect(existsSync(target)).toBe(false)
  })

  it('commit(); abort() in the same tick: the commit never reaches the worker (20 rounds)', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 2, timeout: 20_000 })
    const committed: number[] = []
    const errors = new Set<string>()
    for (let i = 0; i < 20; i++) {
      await warm(client)
      const c = await client.checkout()
      const pid = c.worker.pid
      env.pids.add(pid)
      const ledger = file('ledger')
      // A transaction in the worker: its first step has run and replied...
      expect(await c.append(ledger, 'begin')).toBe('begin')
      // ...then the caller commits and aborts in one synchronous stretch (e.g. a cancelled request).
      const commit = c.append(ledger, 'commit')
      c.abort('request cancelled')
      const error = await rejection(commit)
      errors.add(`${error.constructor.name} <- ${((error as { cause?: Error }).cause)?.constructor.name}`)
      c.release()
      await waitForExit([pid])
      if (readFileSync(ledger, 'utf8').includes('commit')) committed.push(i)
    }
    expect(committed).toEqual([])
    expect([...errors]).toEqual(['CancelledError <- AbortedError'])
  }, 60_000)

  it('a call sent before abort() is in doubt: it rejects with the AbortedError itself', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 20_000 })
    await warm(client)
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const marker = file('started')
    const running = c.markAndSleep(marker, 10_000)
    await waitFor(() => existsSync(marker), 'the call to start in the worker')
    // Made while the first call runs, and sent at once (pipelined) before the abort.
    const pipelined = c.echo('pipelined')
    await new Promise((r) => setImmediate(r))
    c.abort('too slow')
    const error = await rejection(running)
    expect(error).toBeInstanceOf(AbortedError)
    expect(error.message).toBe('too slow')
    await expect(pipelined).rejects.toBe(error)
    c.release()
    await waitForExit([c.worker.pid])
  })

  it('a timeout: a call pipelined behind the call that timed out was sent, so it rejects with the TimeoutError itself; a call made after it is never sent', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 300 })
    await warm(client)
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const marker = file('started')
    const slow = c.markAndSleep(marker, 10_000)
    await waitFor(() => existsSync(marker), 'the call to start in the worker', 5_000)
    const sentTarget = file('sent')
    const pipelined = c.append(sentTarget, 'pipelined')
    let lateTarget = ''
    let late: Promise<unknown> | undefined
    // Made from the timeout's own rejection handler: the first moment the checkout is fatal.
    const timeout = await rejection(slow.catch((error: unknown) => {
      lateTarget = file('late')
      late = c.append(lateTarget, 'late')
      throw error
    }))
    expect(timeout).toBeInstanceOf(TimeoutError)
    expect((timeout as TimeoutError).code).toBe('FORKD_ERR_TIMEOUT')
    expect(timeout.message).toMatch(/-> markAndSleep: timed out after 0.3 seconds/)
    await expect(pipelined).rejects.toBe(timeout)
    const lateError = await rejection(late!)
    // Never sent: it rejects at once with the checkout's fatal error (or a CancelledError caused by it).
    expect(lateError === timeout || (lateError instanceof CancelledError && lateError.cause === timeout)).toBe(true)
    c.release()
    await waitForExit([c.worker.pid])
    expect(existsSync(lateTarget)).toBe(false)
  })
})
