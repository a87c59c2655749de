import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TimeoutError, WorkerDiedError, WorkerError, type LogRecord } from '@forkd/client'
import { startEnv, waitFor, warm, type TestEnv } from '../support/harness.js'

function collector() {
  const records: LogRecord[] = []
  let doneAt = -1
  const sink = (r: LogRecord) => {
    records.push(r)
    if (r.level === 'done') doneAt = records.length
  }
  return { records, sink, doneAt: () => doneAt }
}

const summary = (records: LogRecord[]) => records.map((r) => `${r.level} ${r.message}`)

describe('worker logs', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('log-worker.mjs', { hungWorkerTimeout: 1000 })
  })
  afterAll(() => env.cleanup())

  it('reach the checkout sink in order with pid, worker number, method, time and level, plus a timer per call', async () => {
    const client = env.client()
    const log = collector()
    const c = await client.checkout({ log: log.sink })
    env.pids.add(c.worker.pid)
    const before = Date.now()
    expect(await c.work(21)).toBe(42)
    c.release()
    await waitFor(() => log.doneAt() > 0, 'the done record of the release')
    expect(summary(log.records)).toEqual(['info starting', 'debug detail', 'timer inner', 'warn almost done', 'timer work', 'done checkout done'])
    for (const r of log.records.slice(0, 5)) {
      expect(r.pid).toBe(c.worker.pid)
      expect(r.worker).toBe(c.worker.id)
      expect(r.method).toBe('work')
      expect(r.time).toBeGreaterThanOrEqual(before - 1000)
    }
    expect(log.records[0]!.fields).toEqual({ n: 21 })
    expect(log.records[2]!.fields).toMatchObject({ ms: expect.any(Number) })
    expect(log.records[4]!.fields).toMatchObject({ ms: expect.any(Number), queueWait: expect.any(Number), run: expect.any(Number), ok: true })
  })

  it('arrive also when the call fails, before the error reaches the caller', async () => {
    const client = env.client()
    const log = collector()
    const c = await client.checkout({ log: log.sink })
    env.pids.add(c.worker.pid)
    const error = await c.failAfterLogging().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerError)
    expect(summary(log.records)).toEqual(['info about to fail', 'error failing now', 'timer failAfterLogging'])
    expect(log.records[1]!.fields).toEqual({ reason: 'test' })
    c.release()
  })

  it('arrive when the call times out, and the log is finished only after the error handler ran', async () => {
    const client = env.client({ timeout: 200 })
    await warm(client)
    const log = collector()
    const c = await client.checkout({ log: log.sink })
    env.pids.add(c.worker.pid)
    let handledAt = -1
    try {
      await c.hangAfterLogging()
    } catch (error) {
      expect(error).toBeInstanceOf(TimeoutError)
      handledAt = log.records.length
    } finally {
      c.release()
    }
    await waitFor(() => log.doneAt() > 0, 'the done record of the release')
    expect(summary(log.records)).toEqual(['info about to hang', 'done checkout done'])
    expect(handledAt).toBe(1)
    expect(log.doneAt()).toBe(2)
  })

  it('arrive when the worker dies right after logging', async () => {
    const client = env.client()
    const log = collector()
    const c = await client.checkout({ log: log.sink })
    env.pids.add(c.worker.pid)
    await expect(c.dieAfterLogging()).rejects.toBeInstanceOf(WorkerDiedError)
    expect(summary(log.records)).toEqual(['info about to die'])
    c.release()
  })

  it('arrive when the worker is killed as hung in synchronous code right after logging', async () => {
    const client = env.client()
    const log = collector()
    const c = await client.checkout({ log: log.sink })
    env.pids.add(c.worker.pid)
    await expect(c.spinAfterLogging()).rejects.toBeInstanceOf(WorkerDiedError)
    expect(summary(log.records)).toEqual(['info about to spin'])
    c.release()
  })

  it('are not sent at all when the checkout has no sink', async () => {
    const client = env.client()
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    expect(await c.work(1)).toBe(2)
    c.release()
  })

  it('go to a pino-style logger as structured records', async () => {
    const client = env.client()
    const lines: { level: string; fields: Record<string, unknown>; message: string }[] = []
    const pinoLike = Object.fromEntries(
      ['debug', 'info', 'warn', 'error'].map((level) => [level, (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message })]),
    ) as never
    const c = await client.checkout({ log: pinoLike })
    env.pids.add(c.worker.pid)
    await c.work(2)
    c.release()
    expect(lines[0]).toMatchObject({ level: 'info', message: 'starting', fields: { n: 2, workerPid: c.worker.pid, worker: c.worker.id, method: 'work' } })
    expect(lines.map((l) => l.message)).toContain('timer work')
  })
})

describe('a flood of worker logs', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('log-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('survive a flood of 100 000 lines in one call without exhausting memory, in order', async () => {
    const client = env.client()
    let count = 0
    let inOrder = true
    const c = await client.checkout({
      log: (r) => {
        if (r.level !== 'info') return
        if ((r.fields as { i: number }).i !== count) inOrder = false
        count++
      },
    })
    env.pids.add(c.worker.pid)
    expect(await c.flood(100_000)).toBe(100_000)
    expect(count).toBe(100_000)
    expect(inOrder).toBe(true)
    expect(await c.rss()).toBeLessThan(400 * 1024 * 1024)
    expect(await c.quiet()).toBe('quiet')
    c.release()
  })

})

describe('worker events', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('log-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('arrive in order and all before the call result', async () => {
    const client = env.client()
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const seen: number[] = []
    let resultSeenAfter = -1
    const result = await c.with({ onEvent: (name, data) => name === 'progress' && seen.push((data as { done: number }).done) }).events(50)
    resultSeenAfter = seen.length
    expect(result).toBe('all events sent')
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(resultSeenAfter).toBe(50)
    // no event arrives after the result
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toHaveLength(50)
    c.release()
  })

  it('are not sent to calls without a handler', async () => {
    const client = env.client()
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    expect(await c.events(20)).toBe('all events sent')
    c.release()
  })

  it('with an unencodable payload throw a clear error inside the worker, which survives', async () => {
    const client = env.client()
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    expect(await c.with({ onEvent: () => {} }).badEvent()).toBe('UnencodableError: cannot encode a function at fn')
    expect(await c.quiet()).toBe('quiet')
    c.release()
  })
})
