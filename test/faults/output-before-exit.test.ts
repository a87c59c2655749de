/**
 * Issue 12, review: what a worker writes just before `process.exit()` is not lost (a common
 * complaint about process pools): its last log record reaches the caller's sink, its last stdout
 * and stderr lines reach the server's logger, and the call rejects with WorkerDiedError carrying
 * the exit code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkerDiedError, type LogRecord } from '@forkd/client'
import { startEnv, waitFor, waitForExit, type TestEnv } from '../support/harness.js'

describe('output written just before a worker exits', () => {
  const records: { level: string; message: string; fields?: object }[] = []
  const logger = {
    debug: (message: string, fields?: object) => void records.push({ level: 'debug', message, fields }),
    info: (message: string, fields?: object) => void records.push({ level: 'info', message, fields }),
    warn: (message: string, fields?: object) => void records.push({ level: 'warn', message, fields }),
    error: (message: string, fields?: object) => void records.push({ level: 'error', message, fields }),
  }
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('fault-worker.mjs', { spares: 1, logger })
  })
  afterAll(() => env.cleanup())

  it.each([0, 3])('reaches the caller and the server log (exit code %i)', async (code) => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const sink: LogRecord[] = []
    const c = await client.checkout({ log: (r) => void sink.push(r) })
    const pid = c.worker.pid
    env.pids.add(pid)
    const error = await c.lastWords(code).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as WorkerDiedError).exitCode).toBe(code)
    expect((error as Error).message).toContain(`worker exited with code ${code}`)
    // The record was delivered before the call rejected.
    expect(sink.filter((r) => r.level === 'info').map((r) => ({ message: r.message, fields: r.fields, pid: r.pid, method: r.method })))
      .toEqual([{ message: 'last words', fields: { code }, pid, method: 'lastWords' }])
    c.release()
    await waitForExit([pid])
    // Each stream's last line becomes one record of the server's logger.
    const ofWorker = () => records.filter((r) => (r.fields as { pid?: number } | undefined)?.pid === pid && /line before exit/.test(r.message))
    await waitFor(() => ofWorker().length === 2, 'the last stdout and stderr lines in the server log', 5_000)
    // Two pipes: the order between them is not defined.
    expect(ofWorker().map((r) => [(r.fields as { stream: string }).stream, r.level, r.message.replace(/^\S+ /, '')]).sort()).toEqual([
      ['stderr', 'warn', 'stderr line before exit'],
      ['stdout', 'info', 'stdout line before exit'],
    ])
  })
})
