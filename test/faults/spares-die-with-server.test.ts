/**
 * Issue 12, item 1: no spare outlives its server, however early the server dies. A worker whose
 * `setup` keeps a timer running (a database pool, here an interval) never exits by itself, so a
 * spare that missed its server's death would stay for ever, reparented to init.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir, waitFor } from '../support/harness.js'
import { processesTagged, serveCli, uniqueTag, killTagged } from '../support/cli.js'
import { firstChildSync, killAll } from '../support/faults.js'

/** How long a spare may take to notice that its server is gone. */
const grace = 5_000

describe('spares of a SIGKILLed server', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  function round() {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const ready = join(dir, 'ready')
    mkdirSync(ready)
    // Every process of the round carries the tag, so a /proc scan finds the workers after their
    // server died and they were reparented.
    const tag = uniqueTag()
    cleanups.push(() => killTagged(tag))
    const server = serveCli(join(dir, 's.sock'), 'fault-worker.mjs', { env: { FORKD_TEST_RUN: tag, FORKD_TEST_READY_DIR: ready }, args: ['--spares', '2'] })
    cleanups.push(() => server.kill())
    return { server, tag, ready }
  }

  /** The round's processes still alive `grace` ms after the server died (none expected). */
  async function survivors(tag: string): Promise<number[]> {
    try {
      await waitFor(() => processesTagged(tag).length === 0, 'the workers to exit', grace)
      return []
    } catch {
      return processesTagged(tag)
    }
  }

  it('exit when the server is SIGKILLed as soon as its first worker process appears (5 rounds)', async () => {
    const leaked: number[][] = []
    for (let i = 0; i < 5; i++) {
      const { server, tag } = round()
      // Busy-polls /proc: the kill lands a millisecond or two after the fork, while the worker
      // process is still loading its own code.
      const first = firstChildSync(server.pid)
      expect(first, `round ${i + 1}: the server started no worker`).toBeTypeOf('number')
      process.kill(server.pid, 'SIGKILL')
      expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' })
      const left = await survivors(tag)
      leaked.push(left)
      killAll(left)
    }
    // One empty list per round: no worker process outlived its server by more than a few seconds.
    expect(leaked).toEqual([[], [], [], [], []])
  }, 90_000)

  it('exit when the server is SIGKILLed after its spares are set up (3 rounds)', async () => {
    const leaked: number[][] = []
    for (let i = 0; i < 3; i++) {
      const { server, tag, ready } = round()
      await server.listening()
      await waitFor(() => readdirSync(ready).length >= 2, 'two spares to finish setup')
      const workers = processesTagged(tag).filter((pid) => pid !== server.pid)
      expect(workers.length).toBeGreaterThanOrEqual(2)
      process.kill(server.pid, 'SIGKILL')
      expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' })
      const left = await survivors(tag)
      leaked.push(left)
      killAll(left)
    }
    expect(leaked).toEqual([[], [], []])
  }, 90_000)
})
