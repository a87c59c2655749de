/**
 * Issue 12, review: output written just before a worker exits. Node writes to pipes asynchronously,
 * so what `process.exit()` finds still queued in the worker is lost (as in any Node process); a
 * worker that exits in the callback of its last write loses nothing, however much it wrote. This
 * checks the pattern docs/lifecycle.md gives: a megabyte of stdout, every line in the server log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkerDiedError } from '@forkd/client'
import { startEnv, waitFor, waitForExit, type TestEnv } from '../support/harness.js'

describe('a large burst of output before a worker exits', () => {
  const lines: { pid: number | undefined; stream: string; message: string }[] = []
  const record = (message: string, fields?: object) => {
    const f = fields as { pid?: number; stream?: string } | undefined
    if (f?.stream !== undefined) lines.push({ pid: f.pid, stream: f.stream, message })
  }
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('exit-after-output-worker.mjs', { spares: 1, logger: { debug: record, info: record, warn: record, error: record } })
  })
  afterAll(() => env.cleanup())

  it('reaches the server log line by line when the worker exits in its last write\'s callback', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 20_000 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    // 1000 lines of 1 KiB: sixteen times what a Linux pipe holds.
    const error = await c.printThenExit(1000, 1024, 5).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as WorkerDiedError).exitCode).toBe(5)
    c.release()
    await waitForExit([pid])
    const ofWorker = () => lines.filter((l) => l.pid === pid && l.stream === 'stdout').map((l) => l.message.replace(/^\S+ /, ''))
    await waitFor(() => ofWorker().includes('the end'), 'the last line in the server log', 10_000)
    const expected = [...Array.from({ length: 1000 }, (_, i) => `line ${i} ${'x'.repeat(1024)}`), 'the end']
    expect(ofWorker().length).toBe(expected.length)
    expect(ofWorker()).toEqual(expected)
  })
})
