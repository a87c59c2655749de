/**
 * A host vanishing under load: three servers behind one DNS name, a steady checkout load, then one
 * server and all its workers killed with SIGKILL at once, as when a machine dies (the DNS answer
 * still names it). Only the calls in flight on it fail, with WorkerDiedError; no waiting checkout
 * is lost; every checkout asked for once its processes are gone is served by the others, while
 * its endpoint backs off.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Client, WorkerDiedError } from '@forkd/client'
import { procStat, waitFor, waitForExit } from '../support/harness.js'
import { CheckoutLoad, servedBy } from '../support/checkout-load.js'
import { TestDnsServer } from '../support/dns-server.js'
import { serverGroup } from '../support/tcp-servers.js'

const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4']

describe('a host vanishing under load', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('fails only the calls in flight on it, loses no waiting checkout, and serves every later checkout on the others', async () => {
    const servers = await serverGroup(cleanups).startOnOnePort(hosts, { spares: 2 })
    const dns = await TestDnsServer.start()
    cleanups.push(() => dns.close())
    dns.a.set('forkd.test', hosts)
    const client = new Client({
      connect: { dns: 'forkd.test', port: servers[0]!.port }, resolver: dns.resolver(), resolveInterval: 500,
      // workers are renewed now and then, so new connections keep being opened (and the dead
      // endpoint keeps being probed) after the kill
      minWorkers: 6, maxWorkers: 6, maxCheckouts: 5, timeout: 60_000,
    })
    cleanups.push(() => client.close())
    const doomed = servers[1]!
    const survivors = new Set([servers[0]!.pid, servers[2]!.pid])

    // More loops than workers: checkouts are always waiting in the queue as well. Once the doomed
    // host has served a few, its next calls last until it dies: they are certainly in flight then
    // (a short call might have replied just before the kill, its reply not yet read).
    let killing = false
    const longCalls: number[] = []
    const load = new CheckoutLoad(client, 9, (c) => {
      const onDoomed = procStat(c.worker.pid)?.ppid === doomed.pid
      if (!onDoomed || killing || servedBy(load.records).get(doomed.pid)! < 5) return c.sleep(50)
      longCalls.push(c.worker.pid)
      return c.sleep(120_000)
    }, cleanups)
    await waitFor(() => longCalls.length > 0, 'a call running on the doomed host', 60_000)
    killing = true
    const doomedWorkers = new Set(doomed.workers())
    const killed = doomed.killHost()
    await waitForExit(killed)
    // the client has seen every connection to it close (no FIN lost: same machine)
    await waitFor(() => {
      const row = client.stats().endpoints.find((e) => e.endpoint === doomed.endpoint)!
      return row.connections.idle + row.connections.busy + row.connections.releasing === 0
    }, 'the client to see the dead host\'s connections close')
    const goneAt = performance.now()
    await load.more(150, 120_000)
    const records = await load.stop()

    // no checkout lost: every one asked for was granted and settled, none timed out
    expect(records.every((r) => r.settled)).toBe(true)
    expect(records.filter((r) => r.checkoutError !== undefined)).toEqual([])
    // failures: only calls running on the dead host's workers, and each a WorkerDiedError
    const failed = records.filter((r) => r.outcome !== 'ok')
    for (const pid of longCalls) expect(failed.map((r) => r.pid)).toContain(pid)
    for (const r of failed) {
      expect(r.outcome).toBeInstanceOf(WorkerDiedError)
      expect(doomedWorkers.has(r.pid!) || r.server === doomed.pid).toBe(true)
      expect(r.askedAt).toBeLessThan(goneAt)
    }
    // every checkout asked for after that was served by the two others
    const later = records.filter((r) => r.askedAt > goneAt)
    expect(later.length).toBeGreaterThanOrEqual(150)
    expect(later.filter((r) => r.outcome !== 'ok')).toEqual([])
    expect(later.filter((r) => !survivors.has(r.server!))).toEqual([])
    // the dead endpoint is backing off on its own: connections refused, counted, not hidden
    const row = client.stats().endpoints.find((e) => e.endpoint === doomed.endpoint)!
    expect(row.failures).toBeGreaterThan(0)
    expect(row.lastError?.message).toMatch(/ECONNREFUSED/)
    expect(client.stats().endpoints.filter((e) => e.endpoint !== doomed.endpoint).map((e) => e.failures)).toEqual([0, 0])
  }, 240_000)
})
