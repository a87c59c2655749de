/**
 * The server's `concurrency`: several connections served by one worker process. Four checkouts at
 * once share one pid; their calls interleave at awaits while each checkout's calls stay in order;
 * one checkout's error cancels only its own calls and retires the process through its connection
 * (the others are let go as they are released); a crash fails all four with WorkerDiedError; the
 * process count stays at ceil(connections / concurrency) plus spares.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CancelledError, WorkerDiedError, WorkerError, type Checkout } from '@forkd/client'
import { isAlive, startEnv, waitFor, waitForExit, type TestEnv } from '../support/harness.js'

interface SharedWorker {
  pid(): number
  step(tag: string, ms: number): string
  events(): string[]
  fail(message: string): never
  sleep(ms: number): number
  crash(): void
}

/** Live worker processes of the server, by its own status rows. */
const processes = (env: TestEnv) => env.server.status().workers.filter((w) => w.state !== 'ending')

describe('concurrency 4', () => {
  let env: TestEnv
  beforeEach(async () => {
    env = await startEnv('lifetime-worker.mjs', { concurrency: 4, spares: 1 })
  })
  afterEach(() => env.cleanup())

  async function fourAtOnce(): Promise<Checkout<SharedWorker>[]> {
    const client = env.client<SharedWorker>({ minWorkers: 0, maxWorkers: 4 })
    const held = await Promise.all(Array.from({ length: 4 }, () => client.checkout()))
    for (const c of held) env.pids.add(c.worker.pid)
    return held
  }

  it('serves four checkouts from one process: calls interleave, each checkout\'s stay in order; one process plus the spare', async () => {
    const held = await fourAtOnce()
    const pids = await Promise.all(held.map((c) => c.pid()))
    expect(new Set(pids).size).toBe(1)
    expect(held.map((c) => c.worker)).toEqual(held.map(() => ({ pid: pids[0], id: held[0]!.worker.id, concurrency: 4 })))
    // each checkout pipelines three steps; the first awaits longest, so the others start meanwhile
    const results = await Promise.all(held.map((c, i) => Promise.all([c.step(`${i}a`, 60), c.step(`${i}b`, 20), c.step(`${i}c`, 0)])))
    expect(results).toEqual(held.map((_, i) => [`${i}a`, `${i}b`, `${i}c`]))
    const events = await held[0]!.events()
    for (let i = 0; i < 4; i++) {
      const at = (e: string) => events.indexOf(e)
      const own = [`start ${i}a`, `end ${i}a`, `start ${i}b`, `end ${i}b`, `start ${i}c`, `end ${i}c`].map(at)
      expect(own.every((x) => x >= 0)).toBe(true)
      expect([...own].sort((a, b) => a - b)).toEqual(own)
    }
    // interleaved: every checkout's first step started before any of them ended
    const firstEnd = Math.min(...[0, 1, 2, 3].map((i) => events.indexOf(`end ${i}a`)))
    for (let i = 0; i < 4; i++) expect(events.indexOf(`start ${i}a`)).toBeLessThan(firstEnd)
    // ceil(4 / 4) serving + 1 spare
    await waitFor(() => processes(env).length === 2 && env.server.status().spares === 1, 'one serving process and one spare')
    expect(processes(env).find((w) => w.pid === pids[0])).toMatchObject({ state: 'active', connections: 4 })
    for (const c of held) c.release()
  })

  it('one checkout\'s error cancels only its own calls; releasing it retires the process, which exits after the last connection', async () => {
    const held = await fourAtOnce()
    const pid = await held[0]!.pid()
    const failing = [held[0]!.fail('boom'), held[0]!.step('after-boom', 0)]
    const others = held.slice(1).map((c, i) => c.step(`other${i}`, 30))
    const [boom, after] = await Promise.allSettled(failing)
    expect(boom).toMatchObject({ status: 'rejected', reason: expect.any(WorkerError) })
    expect(after).toMatchObject({ status: 'rejected', reason: expect.any(CancelledError) })
    expect(await Promise.all(others)).toEqual(['other0', 'other1', 'other2'])
    const client = env.clients[0]!
    held[0]!.release()
    // the process takes no new connection: a fifth checkout gets another process
    const fifth = await client.checkout()
    env.pids.add(fifth.worker.pid)
    expect(await fifth.pid()).not.toBe(pid)
    fifth.release()
    await waitFor(() => env.server.status().draining === 1, 'the shared process to be draining')
    // the other three keep working until released, then are let go for their process
    expect(await Promise.all(held.slice(1).map((c) => c.pid()))).toEqual([pid, pid, pid])
    for (const c of held.slice(1)) c.release()
    await waitForExit([pid])
    expect(client.stats().retired).toMatchObject({ error: 1, processRetired: 3 })
  })

  it('a crash fails the running calls of all four checkouts with WorkerDiedError', async () => {
    const held = await fourAtOnce()
    const pid = await held[0]!.pid()
    const running = held.slice(1).map((c) => c.sleep(10_000))
    const crash = held[0]!.crash()
    const settled = await Promise.allSettled([crash, ...running])
    for (const s of settled) {
      expect(s.status).toBe('rejected')
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(WorkerDiedError)
    }
    expect(isAlive(pid)).toBe(false)
    for (const c of held) c.release()
    expect(env.clients[0]!.stats().retired.died).toBe(4)
  })
})
