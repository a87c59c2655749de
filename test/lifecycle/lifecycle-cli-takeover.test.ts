/**
 * Issue 4: `forkd serve` taken over by another `forkd serve` on the same path — the first drains,
 * waits for its workers to be released, and exits 0; the second serves from then on.
 */
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { startSleep, tempDir, waitFor, waitForExit, workerChildren } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag } from '../support/cli.js'

type Who = { version: string; pid: number; server: number }

describe('forkd serve taken over by forkd serve', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('drains the first server, which exits 0 once its workers are released; new checkouts reach the second', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const firstTag = uniqueTag()
    const secondTag = uniqueTag()
    cleanups.push(() => {
      for (const pid of [...processesTagged(firstTag), ...processesTagged(secondTag)]) process.kill(pid, 'SIGKILL')
    })
    const first = serveCli(path, 'version-worker.mjs', { env: { FORKD_TEST_RUN: firstTag, FORKD_TEST_VERSION: 'v1' }, args: ['--spares', '1'] })
    await first.listening()
    const client = new Client({ connect: path, minWorkers: 2, maxWorkers: 4, timeout: 20_000 })
    cleanups.push(() => client.close())

    const c = await client.checkout()
    expect(await c.call('whoami')).toMatchObject({ version: 'v1', server: first.pid })
    await waitFor(() => client.stats().idle === 1, 'an idle worker in the pool')
    const firstWorkers = (await waitFor(() => {
      const pids = workerChildren(first.pid)
      return pids.length === 3 ? pids : undefined
    }, "the first server's three workers"))!
    const { running, started } = startSleep(c, 1_000)
    await started

    const second = serveCli(path, 'version-worker.mjs', { env: { FORKD_TEST_RUN: secondTag, FORKD_TEST_VERSION: 'v2' }, args: ['--spares', '1'] })
    await second.listening()
    // The call running at the takeover finishes; the checkout still works until released.
    expect(await running).toBe(1_000)
    expect(await c.call('whoami')).toMatchObject({ version: 'v1', server: first.pid })
    expect(first.child.exitCode).toBe(null)
    c.release()

    expect(await first.exited).toEqual({ code: 0, signal: null })
    await waitForExit(firstWorkers)
    expect(processesTagged(firstTag)).toEqual([])
    expect(existsSync(path)).toBe(true)
    // Both pool workers of the first server were retired: the busy one on release, the idle one at once.
    expect(client.stats().retired).toMatchObject({ serverReplaced: 2, died: 0, fatal: 0 })

    const d = await client.checkout()
    expect(await d.call('whoami')).toMatchObject({ version: 'v2', server: second.pid })
    d.release()
    await client.close()
    second.child.kill('SIGTERM')
    expect(await second.exited).toEqual({ code: 0, signal: null })
    await waitFor(() => processesTagged(secondTag).length === 0, "the second server's processes to exit")
  })
})
