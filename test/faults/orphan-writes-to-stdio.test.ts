/**
 * Issue 12, item 2: a worker serving a connection outlives its server (docs/lifecycle.md), and that
 * holds also when it writes to stdout or stderr, whose pipes have no reader once the server is
 * dead: the write must not kill the worker.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { isAlive, tempDir, waitForExit } from '../support/harness.js'
import { serveCli, uniqueTag, killTagged } from '../support/cli.js'

describe('a worker whose server was SIGKILLed', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('keeps serving its checkout while its calls write to stdout and stderr', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    cleanups.push(() => killTagged(tag))
    const server = serveCli(path, 'fault-worker.mjs', { env: { FORKD_TEST_RUN: tag }, args: ['--spares', '1'] })
    cleanups.push(() => server.kill())
    await server.listening()

    const client = new Client({ connect: path, minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    const pid = c.worker.pid
    // While the server lives, the output reaches its log.
    expect(await c.speak('before')).toEqual({ pid, text: 'before' })

    process.kill(server.pid, 'SIGKILL')
    expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' })

    // Every call writes four lines into pipes nobody reads any more.
    const answers: unknown[] = []
    for (let i = 1; i <= 5; i++) answers.push(await c.speak(`after ${i}`).catch((e: Error) => `${e.constructor.name}: ${e.message}`))
    expect(answers).toEqual([1, 2, 3, 4, 5].map((i) => ({ pid, text: `after ${i}` })))
    // A long write too (more than a pipe's buffer).
    const long = 'x'.repeat(256 * 1024)
    expect(await c.speak(long)).toEqual({ pid, text: long })
    expect(isAlive(pid)).toBe(true)

    // The worker goes back to the pool and serves the next checkout: the same process.
    c.release()
    const d = await client.checkout()
    expect(d.worker.pid).toBe(pid)
    expect(await d.speak('next checkout')).toEqual({ pid, text: 'next checkout' })
    d.release()

    // It exits once its connection closes.
    await client.close()
    await waitForExit([pid])
  })
})
