/**
 * A TimeoutError while waiting for a worker says why. When every worker is checked out it says
 * how many, for how long the oldest has been held and, with trackCheckoutSites, where it was made:
 * a checkout never released is the usual cause.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TimeoutError } from '@forkd/client'
import { startEnv, type TestEnv } from '../../support/harness.js'

/** `file:line` of the caller's line, read from a stack captured there. */
function hereFrom(error: Error): string {
  const frame = error.stack!.split('\n').find((l) => l.includes('timeout-message.test.ts'))!
  return /(\S*timeout-message\.test\.ts:\d+):\d+/.exec(frame)![1]!
}

describe('the TimeoutError of a checkout that waited for a worker', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('with trackCheckoutSites: "all 2 workers are checked out (the oldest for X s, made at FILE:LINE) ...; is a checkout never released?"', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 2, trackCheckoutSites: true })
    const oldest = await client.checkout(); const site = hereFrom(new Error())
    await new Promise((r) => setTimeout(r, 200))
    const newer = await client.checkout()
    for (const c of [oldest, newer]) env.pids.add(c.worker.pid)
    const error = await client.checkout({ timeout: 300 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).timeout).toBe(300)
    const message = (error as Error).message
    const match = /^checkout timed out after 0\.3 seconds waiting for a worker: all 2 workers are checked out \(the oldest for (\d+\.\d) s, made at (.*)\) \(maxWorkers 2\); is a checkout never released\?$/.exec(message)
    expect(match, message).not.toBe(null)
    // Held since before the 200 ms pause and the 300 ms wait.
    expect(Number(match![1])).toBeGreaterThanOrEqual(0.5)
    expect(match![2]).toContain(site)
    oldest.release()
    newer.release()
  })

  it('names the place where run() was called, not the inside of run()', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, trackCheckoutSites: true })
    let release!: () => void
    let site = ''
    const held = client.run((c) => new Promise<void>((r) => { env.pids.add(c.worker.pid); release = r })); site = hereFrom(new Error())
    while (client.stats().busy === 0) await new Promise((r) => setTimeout(r, 10))
    const error = await client.checkout({ timeout: 200 }).catch((e: unknown) => e)
    expect((error as Error).message).toContain(`made at ${site}`)
    release()
    await held
  })

  it('without trackCheckoutSites: the same text without a place', async () => {
    const client = env.client({ name: 'pw', minWorkers: 1, maxWorkers: 1, trackCheckoutSites: false })
    const held = await client.checkout()
    env.pids.add(held.worker.pid)
    const error = await client.checkout({ timeout: 200 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as Error).message).toMatch(/^pw: checkout timed out after 0\.2 seconds waiting for a worker: the only worker is checked out \(the oldest for \d+\.\d s\) \(maxWorkers 1\); is a checkout never released\?$/)
    held.release()
  })
})
