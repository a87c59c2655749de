import { afterEach, describe, expect, it } from 'vitest'
import { serverLog, startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

describe('Server worker output', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  const records = (pid: number) => serverLog.filter((r) => r.message.startsWith(`forkd-worker:out(`) && r.message.includes(`[${pid}] `))

  it('reaches the logger one record per line, prefixed with the worker title and pid, stdout as info and stderr as warn', async () => {
    env = await startEnv('output-worker.mjs', { spares: 1, name: 'out' })
    const conn = await connectRaw(env.path)
    const pid = conn.hello.pid
    const prefix = `forkd-worker:out(${conn.hello.id})[${pid}]`
    expect(await conn.call('print', 'printed during a call')).toEqual([2, 1, true])
    await waitFor(() => records(pid).some((r) => r.message.endsWith('printed during a call')), 'the printed line')
    const mine = records(pid)
    expect(mine).toContainEqual({ level: 'info', message: `${prefix} hello from stdout`, fields: { worker: conn.hello.id, pid, stream: 'stdout' } })
    expect(mine).toContainEqual({ level: 'warn', message: `${prefix} hello from stderr`, fields: { worker: conn.hello.id, pid, stream: 'stderr' } })
    // A 40 000-byte line arrives as three records of at most 16 KiB.
    const long = mine.filter((r) => /^forkd-worker:\S+ x+$/.test(r.message)).map((r) => r.message.length - prefix.length - 1)
    expect(long).toEqual([16_384, 16_384, 40_000 - 2 * 16_384])
    conn.ws.close()
  })

  it('discards a stream whose level is ignore', async () => {
    env = await startEnv('output-worker.mjs', { spares: 1, name: 'out', workerOutput: { stdout: 'ignore' } })
    const conn = await connectRaw(env.path)
    await waitFor(() => records(conn.hello.pid).some((r) => r.message.endsWith('hello from stderr')), 'the stderr line')
    expect(records(conn.hello.pid).filter((r) => r.fields && (r.fields as { stream?: string }).stream === 'stdout')).toEqual([])
    conn.ws.close()
  })
})
