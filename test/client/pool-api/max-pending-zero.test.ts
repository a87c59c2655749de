/**
 * `maxPendingCheckouts` counts only checkouts that wait: with 0, a checkout is served when a worker
 * is idle, and refused with QueueFullError at once when it would have to wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QueueFullError } from '@forkd/client'
import { startEnv, waitFor, warm, type TestEnv } from '../../support/harness.js'

describe('maxPendingCheckouts: 0', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('serves checkouts while a worker is idle, refuses one that would wait, and serves again once a worker is back', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 2, maxPendingCheckouts: 0 })
    await warm(client, 2)
    const a = await client.checkout()
    const b = await client.checkout()
    env.pids.add(a.worker.pid).add(b.worker.pid)
    expect(a.worker.pid).not.toBe(b.worker.pid)

    const refused: string[] = []
    client.on('acquireError', (e) => refused.push(e.constructor.name))
    const error = await client.checkout().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(QueueFullError)
    expect(error).toMatchObject({ code: 'FORKD_ERR_QUEUE_FULL', message: 'forkd client: 0 checkouts are already waiting (maxPendingCheckouts)' })
    expect(refused).toEqual(['QueueFullError'])
    expect(client.stats()).toMatchObject({ pending: 0, busy: 2 })

    a.release()
    await waitFor(() => client.stats().idle === 1, 'a worker back in the pool')
    expect(await client.run((c) => c.pid())).toBe(a.worker.pid)
    b.release()
  })

  it('refuses at once while no worker is connected yet', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, maxPendingCheckouts: 0 })
    await expect(client.checkout()).rejects.toBeInstanceOf(QueueFullError)
    await warm(client)
    const pid = await client.run((c) => c.pid())
    env.pids.add(pid)
  })
})
