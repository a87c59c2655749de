import { afterEach, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { Client } from '@forkd/client'
import { tempDir } from '../support/harness.js'

describe('while the server is unreachable', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function clientFor(options: { minWorkers: number }) {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const client = new Client({ connect: join(dir, 'nobody-listens.sock'), connectRetryMin: 10, connectRetryMax: 500, ...options })
    cleanups.push(() => client.close())
    return client
  }

  it('a client with nothing pending and minWorkers 0 does not try to connect at all', async () => {
    const client = clientFor({ minWorkers: 0 })
    await new Promise((r) => setTimeout(r, 1500))
    expect(client.stats()).toMatchObject({ connectFailures: 0, workers: 0, connecting: 0, pending: 0 })
  })

  it('refilling minWorkers retries with a capped, growing backoff, one probe at a time', async () => {
    const client = clientFor({ minWorkers: 3 })
    // Before the first failure the pool opens all three; from then on it probes with one.
    let peakAfterFailure = 0
    const sampler = setInterval(() => {
      const stats = client.stats()
      if (stats.connectFailures > 0) peakAfterFailure = Math.max(peakAfterFailure, stats.connecting)
    }, 1)
    await new Promise((r) => setTimeout(r, 1500))
    clearInterval(sampler)
    const failures = client.stats().connectFailures
    // 10, 20, 40, ... 500 ms between probes (jittered down to half): a handful in 1.5 s, not hundreds
    expect(failures).toBeGreaterThanOrEqual(3)
    expect(failures).toBeLessThanOrEqual(16)
    // after the first failure the pool probes with one connection, not three (the first three
    // attempts fail in one turn of the event loop, ENOENT, before the sampler runs again)
    expect(peakAfterFailure).toBeLessThanOrEqual(1)
    expect(client.stats().workers).toBeLessThanOrEqual(1)
  })
})
