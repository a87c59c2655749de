/**
 * A host vanishing under load: three servers behind one DNS name, a steady checkout load, then one
 * server and all its workers killed with SIGKILL at once, as when a machine dies (the DNS answer
 * still names it). Only the calls in flight on it fail, with WorkerDiedError; no waiting checkout
 * is lost; every checkout asked for once its processes are gone is served by the others, while
 * its endpoint backs off.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Client, WorkerDiedError } from '@forkd/client'
import { waitFor, waitForExit } from '../support/harness.js'
import { CheckoutLoad, servedBy } from '../support/checkout-load.js'
import { TestDnsServer } from '../support/dns-server.js'
import { processesTagged } from '../support/cli.js'
import { TcpServers } from '../support/tcp-servers.js'

const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4']

describe('a host vanishing under load', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('fails only the calls in flight on it, loses no waiting checkout, and serves every later checkout on the others', async () => {
    const group = new TcpServers()
    cleanups.push(async () => {
      await group.cleanup()
      expect(processesTagged(group.tag)).toEqual([])
    })
    const servers = await group.startOnOnePort(hosts, { spares: 2 })
    const dns = await TestDnsServer.start()
    cleanups.push(() => dns.close())
    dns.a.set('forkd.test', hosts)
    const client = new Client({
      connect: { dns: 'forkd.test', port: servers[0]!.port }, resolver: dns.resolver(), resolveInterval: 500,
      minWorkers: 6, maxWorkers: 6, timeout: 60_000,
    })
    cleanups.push(() => client.close())
    const doomed = servers[1]!
    const survivors = new Set([servers[0]!.pid, servers[2]!.pid])

    // More loops than workers: checkouts are always waiting in the queue as well.
    const load = new CheckoutLoad(client, 9, (c) => c.sleep(200))
    const busyOnDoomed = () => client.stats().endpoints.find((e) => e.endpoint === doomed.endpoint)!.connections.busy
    await waitFor(() => servedBy(load.records).get(doomed.pid)! >= 5 && busyOnDoomed() > 0, 'the doomed host to serve, with a call running', 60_000)
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
    expect(failed.length).toBeGreaterThan(0)
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
