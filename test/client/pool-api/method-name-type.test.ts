/**
 * `c.call(42)`: a method name that is not a string is refused on the client with a TypeError for
 * that call only; nothing is sent, and the checkout and its worker keep working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, type TestEnv } from '../../support/harness.js'

describe('a method name that is not a string', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('rejects that call with a TypeError; the calls before and after it succeed on the same worker', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const before = c.echo('before')
    const bad = c.call(42 as never)
    const badObject = c.call({ name: 'echo' } as never, 'x')
    const after = c.echo('after')
    await expect(bad).rejects.toThrow(new TypeError('forkd checkout: a method name must be a string, got 42'))
    await expect(badObject).rejects.toThrow(new TypeError('forkd checkout: a method name must be a string, got object'))
    expect(await before).toBe('before')
    expect(await after).toBe('after')
    expect(await c.call('add', 2, 3)).toBe(5)
    expect(await c.pid()).toBe(pid)
    c.release()
    // Not an error of the checkout: the worker goes back to the pool and is reused.
    expect(await client.run((d) => d.pid())).toBe(pid)
    expect(client.stats().retired).toMatchObject({ error: 0, fatal: 0 })
  })
})
