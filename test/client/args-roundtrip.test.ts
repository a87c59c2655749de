import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkerError } from '@forkd/client'
import { startEnv, type TestEnv } from '../support/harness.js'

describe('arguments and results (scenario 1 of docs/scenarios.md)', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('round-trips nested arrays and maps, non-BMP strings, binary, Date, Map, Set, BigInt, undefined and null', async () => {
    const client = env.client({ name: 'rt' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const value = {
      nested: [1, [2, [3, { deep: ['x', { deeper: true }] }]]],
      emoji: 'cat 🐈 and 𝄞 clef',
      binary: Buffer.from([0, 1, 2, 255]),
      date: new Date('2026-11-23T10:00:00.000Z'),
      map: new Map<unknown, unknown>([[1, 'one'], ['two', { n: 2 }]]),
      set: new Set([1, 'a']),
      big: 2n ** 70n,
      small: 5n,
      undef: undefined,
      nil: null,
      float: 1.5,
      negativeZero: -0,
    }
    const back = (await c.echo(value)) as typeof value
    expect(back.nested).toEqual(value.nested)
    expect(back.emoji).toBe(value.emoji)
    expect(Buffer.compare(back.binary, value.binary)).toBe(0)
    expect(back.date).toBeInstanceOf(Date)
    expect(back.date.toISOString()).toBe('2026-11-23T10:00:00.000Z')
    expect(back.map).toBeInstanceOf(Map)
    expect([...back.map]).toEqual([[1, 'one'], ['two', { n: 2 }]])
    expect(back.set).toBeInstanceOf(Set)
    expect(back.big).toBe(2n ** 70n)
    expect(back.small).toBe(5n)
    expect('undef' in back).toBe(true)
    expect(back.undef).toBeUndefined()
    expect(back.nil).toBeNull()
    expect(back.float).toBe(1.5)
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    c.release()
  })

  it('passes every argument in order, with the method name first for a function interface', async () => {
    const fnEnv = await startEnv('function-worker.mjs')
    try {
      const client = fnEnv.client()
      const c = await client.checkout()
      fnEnv.pids.add(c.worker.pid)
      expect(await c.call('resize', 640, 480, { fit: 'cover' })).toEqual(['resize', 640, 480, { fit: 'cover' }])
      expect(await c.anything('😀')).toEqual(['anything', '😀'])
      expect(await c(1, 2)).toEqual([1, 2])
      c.release()
    } finally {
      await fnEnv.cleanup()
    }
  })

  it('carries the worker error message and names the call as CLIENTNAME -> method', async () => {
    const client = env.client({ name: 'hasher' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const error = await c.fail('bad input 🐈').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerError)
    expect((error as WorkerError).message).toBe('hasher -> fail: bad input 🐈')
    expect((error as WorkerError).code).toBe('FORKD_ERR_WORKER')
    expect((error as WorkerError).remote.name).toBe('Error')
    expect((error as WorkerError).remote.stack).toContain('echo-worker.mjs')
    c.release()
  })

  it('carries a thrown non-Error value', async () => {
    const client = env.client({ name: 'nv' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const fromString = await c.failWith('just a string').catch((e: unknown) => e)
    expect(fromString).toBeInstanceOf(WorkerError)
    expect((fromString as WorkerError).remote).toMatchObject({ name: 'NonErrorThrown', message: 'just a string' })
    const fromObject = await c.failWith({ message: 'an object', status: 418 }).catch((e: unknown) => e)
    expect((fromObject as WorkerError).remote).toMatchObject({ message: 'an object', data: { status: 418 } })
    const fromUndefined = await c.failWith(undefined).catch((e: unknown) => e)
    expect((fromUndefined as WorkerError).remote.message).toBe('undefined')
    c.release()
  })

  it('turns a result that cannot be encoded into an error reply naming the problem', async () => {
    const client = env.client({ name: 'enc', reforkAfterError: false })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    for (const [kind, words] of [['function', 'cannot encode a function'], ['class', 'cannot encode an instance of Thing'], ['symbol', 'cannot encode a symbol']]) {
      const error = await c.unencodable(kind).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(WorkerError)
      expect((error as WorkerError).message).toContain(words)
      expect((error as WorkerError).remote.code).toBe('FORKD_ERR_UNENCODABLE')
    }
    // the worker survived all three
    expect(await c.pid()).toBe(c.worker.pid)
    c.release()
  })

  it('rejects unencodable arguments before sending, and only that call', async () => {
    const client = env.client({ name: 'args' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const results = await Promise.allSettled([c.echo(1), c.echo(() => 1), c.echo(2)])
    expect(results[0]).toEqual({ status: 'fulfilled', value: 1 })
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'FORKD_ERR_UNENCODABLE' })
    expect(results[2]).toEqual({ status: 'fulfilled', value: 2 })
    c.release()
  })

  it('calls the method each function was read as, however reads and calls interleave', async () => {
    const client = env.client({ name: 'methods' })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    // The checkout keeps the function of the method read last: reading another must not rewire it.
    const echo = c.echo
    const add = c.add
    expect(c.add).toBe(add)
    const pending = [echo('e'), add(2, 3), c.echo('again'), add(4, 5), echo('last')]
    expect(await Promise.all(pending)).toEqual(['e', 5, 'again', 9, 'last'])
    c.release()
    await expect(echo('after')).rejects.toMatchObject({ code: 'FORKD_ERR_CHECKOUT_RELEASED' })
  })
})
