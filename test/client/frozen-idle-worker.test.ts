/**
 * A worker that stops answering while idle in the pool (SIGSTOP: its connection stays open, the
 * kernel still acknowledges every byte, nothing closes) is found by the client's idle ping and
 * replaced before anyone checks it out.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { waitFor, warm } from '../support/harness.js'
import { killAll, processState, signal } from '../support/faults.js'
import { serverGroup } from '../support/tcp-servers.js'

describe('a frozen idle worker', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('is found by a ping and replaced before it is handed out; healthy idle workers are left alone', async () => {
    const servers = serverGroup(cleanups)
    const server = await servers.start('127.0.0.2', 0)
    const client = new Client({ connect: server.endpoint, minWorkers: 2, maxWorkers: 2, pingInterval: 200, pingTimeout: 500 })
    cleanups.push(() => client.close())
    await warm(client, 2)
    const first = [await client.checkout(), await client.checkout()]
    const [frozen, healthy] = first.map((c) => c.worker.pid) as [number, number]
    for (const c of first) c.release()
    // idle: both have finished checkoutDone (a worker frozen inside it is its server's business)
    await warm(client, 2)

    signal(frozen, 'SIGSTOP')
    cleanups.push(() => killAll([frozen]))
    await waitFor(() => processState(frozen) === 'T', 'the worker to stop')
    await waitFor(() => client.stats().retired.unresponsive === 1, 'the client to find the frozen worker', 15_000)
    // Found by the client (it is still there, stopped), not ended by its server.
    expect(processState(frozen)).toBe('T')
    await warm(client, 2)

    // maxWorkers 2: had the frozen worker stayed in the pool, one of these would be it.
    const both = [await client.checkout({ timeout: 5_000 }), await client.checkout({ timeout: 5_000 })]
    const pids = both.map((c) => c.worker.pid)
    expect(pids).not.toContain(frozen)
    expect(pids).toContain(healthy)
    expect(await Promise.all(both.map((c) => c.echo('answers')))).toEqual(['answers', 'answers'])
    for (const c of both) c.release()

    // Several more ping rounds: nobody else is taken for frozen.
    await new Promise((r) => setTimeout(r, 1_000))
    expect(client.stats()).toMatchObject({ workers: 2, retired: { unresponsive: 1, died: 0 } })
  })
})
