import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TimeoutError, WorkerDiedError, WorkerError } from '@forkd/client'
import { startEnv, waitFor, warm, workerChildren, type TestEnv } from '../support/harness.js'

/** A small deterministic generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
}

describe('1000 checkouts with random failures', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs', { spares: 4 })
  })
  afterAll(() => env.cleanup())

  it('all settle with the expected outcome each, and the pool ends healthy', { timeout: 120_000 }, async () => {
    const client = env.client({ name: 'chaos', maxWorkers: 8, timeout: 2_000, reforkAfterError: false })
    await warm(client, 2)
    const warmup = await Promise.all(Array.from({ length: 8 }, () => client.checkout({ timeout: 30_000 })))
    warmup.forEach((c) => c.release())
    const next = random(20261123)
    const kinds = Array.from({ length: 1000 }, () => {
      const r = next()
      return r < 0.025 ? 'exit' : r < 0.05 ? 'timeout' : r < 0.12 ? 'throw' : 'ok'
    })
    // Eight callers in parallel, one checkout each at a time: the 2 s timeout then measures the
    // calls, not a queue of a thousand checkouts.
    const results: unknown[] = new Array(kinds.length)
    let nextIndex = 0
    const caller = async () => {
      for (let i = nextIndex++; i < kinds.length; i = nextIndex++) {
        const kind = kinds[i]!
        const c = await client.checkout()
        env.pids.add(c.worker.pid)
        try {
          if (kind === 'exit') results[i] = await c.exit(7)
          else if (kind === 'timeout') results[i] = await c.sleep(10_000)
          else if (kind === 'throw') results[i] = await c.fail(`failure ${i}`)
          else results[i] = await c.echo(i)
        } catch (error) {
          results[i] = error
        } finally {
          c.release()
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, caller))
    const counts = { ok: 0, throw: 0, exit: 0, timeout: 0 }
    results.forEach((result, i) => {
      const kind = kinds[i]!
      counts[kind as keyof typeof counts]++
      if (kind === 'ok') expect(result).toBe(i)
      if (kind === 'throw') expect(result).toBeInstanceOf(WorkerError)
      if (kind === 'exit') expect(result).toBeInstanceOf(WorkerDiedError)
      if (kind === 'timeout') expect(result).toBeInstanceOf(TimeoutError)
    })
    expect(counts.ok + counts.throw + counts.exit + counts.timeout).toBe(1000)
    expect(counts.exit).toBeGreaterThan(10)
    expect(counts.timeout).toBeGreaterThan(10)
    await waitFor(() => client.stats().busy === 0 && client.stats().pending === 0, 'the pool to settle')
    const stats = client.stats()
    expect(stats.checkouts).toBe(1008)
    expect(stats.retired.died).toBe(counts.exit)
    expect(stats.retired.fatal).toBe(counts.timeout)
    // after the storm: working workers, and no more worker processes than connections plus spares
    const c = await client.checkout()
    expect(await c.echo('healthy')).toBe('healthy')
    c.release()
    await waitFor(() => workerChildren().length <= client.stats().workers + 4 + 2, 'dead workers to be reaped')
  })
})
