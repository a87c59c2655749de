import { afterEach, describe, expect, it } from 'vitest'
import { startEnv, waitFor, waitForExit, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

describe('Server#reload', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('replaces every spare with a fresh process and asks active workers to retire', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 2 })
    const conn = await connectRaw(env.path)
    await waitFor(() => env!.server.status().spares === 2, 'two spares')
    const oldSpares = workerChildren().filter((pid) => pid !== conn.hello.pid)
    expect(oldSpares).toHaveLength(2)

    env.server.reload()
    expect(await conn.waitFor((m) => Array.isArray(m) && m[0] === 9)).toEqual([9, 'reload'])
    await waitForExit(oldSpares)
    await waitFor(() => env!.server.status().spares === 2, 'two fresh spares')
    const fresh = workerChildren().filter((pid) => pid !== conn.hello.pid)
    expect(fresh).toHaveLength(2)
    expect(fresh.some((pid) => oldSpares.includes(pid))).toBe(false)

    // The active worker still serves its checkout until its client lets it go.
    expect(await conn.call('echo', 'after reload')).toEqual([2, 1, 'after reload'])
    const next = await connectRaw(env.path)
    expect(fresh).toContain(next.hello.pid)
    conn.ws.close()
    next.ws.close()
  })
})
