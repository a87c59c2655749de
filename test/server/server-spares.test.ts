import { availableParallelism } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

describe('Server spares', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('starts `spares` worker processes, hands a connection to one of them and starts a replacement', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 2 })
    await waitFor(() => env!.server.status().spares === 2, 'two ready spares')
    const spares = workerChildren()
    expect(spares).toHaveLength(2)
    expect(env.server.status()).toMatchObject({ spares: 2, active: 0, started: 2 })

    const conn = await connectRaw(env.path)
    expect(spares).toContain(conn.hello.pid)
    expect(conn.hello).toMatchObject({ name: '', serverPid: process.pid })

    // The used spare is replaced in the background: 2 spares + 1 active, one new pid.
    const after = await waitFor(() => (env!.server.status().spares === 2 ? workerChildren() : undefined), 'a replacement spare')
    expect(after).toHaveLength(3)
    expect(after!.filter((pid) => !spares.includes(pid))).toHaveLength(1)
    expect(env.server.status()).toMatchObject({ spares: 2, active: 1, started: 3 })

    conn.ws.close()
    await waitFor(() => env!.server.status().active === 0, 'the active worker to exit')
    expect(env.server.status()).toMatchObject({ spares: 2, exited: 1, exits: { '0': 1 } })
  })

  it('numbers workers from 1 and gives every connection its own process', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1, name: 'num' })
    const conns = await Promise.all([connectRaw(env.path), connectRaw(env.path), connectRaw(env.path)])
    const ids = conns.map((c) => c.hello.id).sort()
    expect(new Set(conns.map((c) => c.hello.pid)).size).toBe(3)
    expect(ids.every((id) => id >= 1 && id <= 4)).toBe(true)
    expect(conns[0]!.hello.name).toBe('num')
    for (const c of conns) c.ws.close()
  })

  it('keeps no spare with spares = 0 once the first connection used the start-up worker', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 0 })
    const conn = await connectRaw(env.path)
    expect(await conn.call('echo', 1)).toEqual([2, 1, 1])
    expect(env.server.status()).toMatchObject({ spares: 0, starting: 0, active: 1 })
    const second = await connectRaw(env.path)
    expect(second.hello.pid).not.toBe(conn.hello.pid)
    conn.ws.close()
    second.ws.close()
  })

  it('starts at most as many workers at once as there are cores (two at least), and still reaches `spares`', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 6 })
    const cap = Math.max(2, availableParallelism())
    let most = env.server.status().starting
    await waitFor(() => {
      most = Math.max(most, env!.server.status().starting)
      return env!.server.status().spares === 6
    }, 'six ready spares', 30_000)
    expect(most).toBeGreaterThan(0)
    expect(most).toBeLessThanOrEqual(cap)
    expect(env.server.status()).toMatchObject({ spares: 6, starting: 0, started: 6 })
    expect(workerChildren()).toHaveLength(6)
  })
})
