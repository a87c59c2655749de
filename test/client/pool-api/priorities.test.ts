/**
 * `checkout({ priority })`: waiting checkouts are served highest priority first, equal priorities
 * first come, first served; a waiter leaving (timeout) does not change the order of the others.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TimeoutError } from '@forkd/client'
import { startEnv, type TestEnv } from '../../support/harness.js'

describe('checkout({ priority })', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('with maxWorkers 1, serves waiting checkouts by priority, equal priorities in the order they were made', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const held = await client.checkout()
    env.pids.add(held.worker.pid)
    const order: string[] = []
    const made: [string, number | undefined][] = [
      ['a0', undefined], ['b5', 5], ['c-3', -3], ['d5', 5], ['e0', 0], ['f10', 10], ['g-3', -3], ['h0', 0],
    ]
    const all = made.map(([name, priority]) => client.run(async (c) => {
      order.push(name)
      // Each call runs on the one worker: a grant happens only after the previous release.
      await c.echo(name)
    }, priority === undefined ? {} : { priority }))
    expect(client.stats().pending).toBe(made.length)
    held.release()
    await Promise.all(all)
    expect(order).toEqual(['f10', 'b5', 'd5', 'a0', 'e0', 'h0', 'c-3', 'g-3'])
    expect(client.stats()).toMatchObject({ workers: 1, pending: 0, checkouts: made.length + 1 })
  })

  it('a high-priority checkout made later overtakes waiting ones; one that timed out leaves the others in order', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const held = await client.checkout()
    env.pids.add(held.worker.pid)
    const order: string[] = []
    const serve = (name: string, options: { priority?: number; timeout?: number }) =>
      client.run(async (c) => {
        order.push(name)
        await c.echo(name)
      }, options)
    const low1 = serve('low1', {})
    const gone = serve('urgent-but-short', { priority: 9, timeout: 100 }).catch((e: unknown) => e)
    const low2 = serve('low2', {})
    expect(await gone).toBeInstanceOf(TimeoutError)
    const urgent = serve('urgent', { priority: 9 })
    held.release()
    await Promise.all([low1, low2, urgent])
    expect(order).toEqual(['urgent', 'low1', 'low2'])
  })

  it('rejects a priority that is not an integer with a TypeError naming it', async () => {
    const client = env.client({ minWorkers: 0, maxWorkers: 1 })
    await expect(client.checkout({ priority: 1.5 })).rejects.toThrow(new TypeError('forkd checkout: option "priority" must be an integer, got 1.5'))
    await expect(client.checkout({ priority: '1' as never })).rejects.toThrow(TypeError)
    expect(client.stats()).toMatchObject({ pending: 0, checkouts: 0 })
  })
})
