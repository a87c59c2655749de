/**
 * The client's `log` option (a function or a pino-style logger) receives the client's own
 * records: retirements, connection failures and warnings, in the form of the worker-log sink.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, type LogRecord } from '@forkd/client'
import { startEnv, tempDir, waitFor, type TestEnv } from '../../support/harness.js'
import { captureWarnings } from '../../support/warnings.js'

describe("the client's log option", () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('a function sink receives a record for each retirement, with the worker, the reason and the endpoint', async () => {
    const records: LogRecord[] = []
    const client = env.client({ minWorkers: 1, maxWorkers: 1, log: (r) => records.push(r) })
    const c = await client.checkout()
    const { pid, id } = c.worker
    env.pids.add(pid)
    c.release(new Error('retire it'))
    await waitFor(() => records.some((r) => r.message === 'worker removed: error'), 'the retirement record')
    const record = records.find((r) => r.message === 'worker removed: error')!
    expect(record).toMatchObject({ level: 'info', pid, worker: id, method: undefined, fields: { reason: 'error', endpoint: env.path } })
    expect(Math.abs(record.time - Date.now())).toBeLessThan(10_000)
    // Its connection was recorded too, at debug level.
    expect(records.find((r) => r.message === 'worker connected' && r.pid === pid)).toMatchObject({ level: 'debug', worker: id })
  })

  it('a function sink receives connection failures and the warning, with the endpoint and the error code', async () => {
    const dir = tempDir()
    const path = join(dir, 'nobody.sock')
    const captured = captureWarnings()
    const records: LogRecord[] = []
    const client = new Client({ connect: path, minWorkers: 0, connectTimeout: 200, log: (r) => records.push(r) })
    try {
      const waiting = client.checkout({ timeout: 10_000 }).catch((e: unknown) => e)
      await waitFor(() => records.some((r) => r.fields?.code === 'FORKD_WARN_CONNECT_FAILING'), 'the warning record')
      const failure = records.find((r) => r.message.startsWith('connection attempt failed'))!
      expect(failure).toMatchObject({ level: 'warn', pid: process.pid, worker: 0, fields: { endpoint: path, code: 'FORKD_ERR_CONNECT' } })
      expect(failure.message).toBe(`connection attempt failed: cannot connect to the forkd server at ${path}: connect ENOENT ${path}`)
      const warning = records.find((r) => r.fields?.code === 'FORKD_WARN_CONNECT_FAILING')!
      expect(warning.level).toBe('warn')
      expect(warning.message).toBe(captured.withCode('FORKD_WARN_CONNECT_FAILING')[0]!.message)
      await client.close()
      await waiting
    } finally {
      captured.stop()
      await client.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a pino logger receives the same records as structured lines', async () => {
    const lines: Record<string, unknown>[] = []
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) })
    const client = env.client({ minWorkers: 1, maxWorkers: 1, log: logger })
    const c = await client.checkout()
    const { pid } = c.worker
    env.pids.add(pid)
    c.release(new Error('retire it'))
    await waitFor(() => lines.some((l) => l.msg === 'worker removed: error'), 'the retirement line')
    expect(lines.find((l) => l.msg === 'worker removed: error')).toMatchObject({ level: 30, workerPid: pid, reason: 'error', endpoint: env.path })
  })
})
