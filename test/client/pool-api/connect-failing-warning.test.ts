/**
 * A wrong socket path must be visible within seconds, not at the checkout's timeout: when
 * connection attempts have failed for `connectTimeout` or more while checkouts wait, one process
 * warning (FORKD_WARN_CONNECT_FAILING) names the endpoint and the last error.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, ClientClosedError, TimeoutError } from '@forkd/client'
import { tempDir, waitFor } from '../../support/harness.js'
import { captureWarnings } from '../../support/warnings.js'

describe('the warning about failing connection attempts', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function wrongPath(options: { minWorkers: number }) {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 'wrong.sock')
    const captured = captureWarnings()
    cleanups.push(() => captured.stop())
    const client = new Client({ connect: path, name: 'hasher', maxWorkers: 2, connectTimeout: 300, ...options })
    cleanups.push(() => client.close())
    return { client, path, captured }
  }

  it('is given once, naming the socket path and the error, soon after connectTimeout while a checkout waits', async () => {
    const { client, path, captured } = wrongPath({ minWorkers: 0 })
    const started = Date.now()
    const checkout = client.checkout({ timeout: 20_000 }).catch((e: unknown) => e)
    await waitFor(() => captured.withCode('FORKD_WARN_CONNECT_FAILING').length > 0, 'the warning', 10_000)
    // Loose: the checkout's timeout is 20 s; the warning comes after connectTimeout (0.3 s) and a retry.
    expect(Date.now() - started).toBeLessThan(5_000)
    const [warning] = captured.withCode('FORKD_WARN_CONNECT_FAILING')
    expect(warning!.message).toMatch(new RegExp(
      `^forkd client hasher: checkouts are waiting and connection attempts to ${path} have failed for \\d+\\.\\d s: ` +
      `cannot connect to the forkd server at ${path}: .*ENOENT`))
    // Nothing more while the attempts keep failing.
    await new Promise((r) => setTimeout(r, 1_000))
    expect(captured.withCode('FORKD_WARN_CONNECT_FAILING')).toHaveLength(1)
    await client.close()
    expect(await checkout).toBeInstanceOf(ClientClosedError)
  })

  it('is not given when nothing waits (only the refill of minWorkers fails)', async () => {
    const { client, captured } = wrongPath({ minWorkers: 2 })
    await waitFor(() => client.stats().connectFailures >= 3, 'a few failed attempts')
    // Nothing happens during this time: failures go on for longer than connectTimeout, no checkout waits.
    await new Promise((r) => setTimeout(r, 800))
    expect(client.stats().connectFailures).toBeGreaterThanOrEqual(4)
    expect(captured.withCode('FORKD_WARN_CONNECT_FAILING')).toEqual([])
  })

  it('is not given for a checkout that gives up before connectTimeout', async () => {
    const { client, captured } = wrongPath({ minWorkers: 0 })
    expect(await client.checkout({ timeout: 100 }).catch((e: unknown) => e)).toBeInstanceOf(TimeoutError)
    await new Promise((r) => setTimeout(r, 600))
    expect(captured.withCode('FORKD_WARN_CONNECT_FAILING')).toEqual([])
  })
})
