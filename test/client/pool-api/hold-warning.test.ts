/**
 * `holdWarning` (ms): a checkout held longer than this gives one process warning,
 * FORKD_WARN_CHECKOUT_HELD, naming the worker and where the checkout was made: the leaked
 * checkout that exhausts the pool is found before the pool is exhausted.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, waitFor, type TestEnv } from '../../support/harness.js'
import { captureWarnings } from '../../support/warnings.js'

function hereFrom(error: Error): string {
  const frame = error.stack!.split('\n').find((l) => l.includes('hold-warning.test.ts'))!
  return /(\S*hold-warning\.test\.ts:\d+):\d+/.exec(frame)![1]!
}

describe('holdWarning', () => {
  let env: TestEnv
  let captured: ReturnType<typeof captureWarnings>
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())
  afterEach(() => captured.stop())
  const held = () => captured.withCode('FORKD_WARN_CHECKOUT_HELD')

  it('warns once about a checkout held longer than holdWarning, naming its worker and where it was made', async () => {
    captured = captureWarnings()
    const client = env.client({ minWorkers: 1, maxWorkers: 2, holdWarning: 300, trackCheckoutSites: true })
    const c = await client.checkout(); const site = hereFrom(new Error())
    env.pids.add(c.worker.pid)
    await waitFor(() => held().length > 0, 'the warning')
    const [warning] = held()
    expect(warning!.message).toMatch(new RegExp(
      `^a forkd checkout of worker ${c.worker.pid} has been held for more than 0\\.3 seconds \\(holdWarning\\); it was made at .*:\\d+\\. Is it never released\\?$`))
    expect(warning!.message).toContain(`made at ${site}:`)
    // Once per checkout; the checkout itself is not disturbed.
    await new Promise((r) => setTimeout(r, 500))
    expect(held()).toHaveLength(1)
    expect(await c.echo('still mine')).toBe('still mine')
    c.release()
  })

  it('does not warn about checkouts released in time', async () => {
    captured = captureWarnings()
    const client = env.client({ minWorkers: 1, maxWorkers: 1, holdWarning: 400 })
    for (let i = 0; i < 3; i++) env.pids.add(await client.run((c) => c.pid()))
    // Nothing happens during this time: no checkout is held.
    await new Promise((r) => setTimeout(r, 700))
    expect(held()).toEqual([])
  })

  it('without trackCheckoutSites, says how to learn the place', async () => {
    captured = captureWarnings()
    const client = env.client({ minWorkers: 1, maxWorkers: 1, holdWarning: 200, trackCheckoutSites: false })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    await waitFor(() => held().length > 0, 'the warning')
    expect(held()[0]!.message).toBe(`a forkd checkout of worker ${c.worker.pid} has been held for more than 0.2 seconds (holdWarning); ` +
      'trackCheckoutSites: true would say where it was made. Is it never released?')
    c.release()
  })
})
