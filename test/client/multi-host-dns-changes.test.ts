/**
 * The DNS answer changes while the client runs (a real DNS server, dns2 on UDP, and servers on
 * 127.0.0.2-5 in their own processes): a server added to the answer gets new connections within
 * two resolutions; a server removed from it gets no new checkout and its workers retire, the idle
 * ones at once and the busy one on release; a name that does not resolve at first makes checkouts
 * wait with the DNS error as the reason, and they are served once it resolves.
 */
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, ResolveError, TimeoutError } from '@forkd/client'
import { isAlive, procStat, waitFor, waitForExit, warm } from '../support/harness.js'
import { CheckoutLoad, servedBy } from '../support/checkout-load.js'
import { TestDnsServer } from '../support/dns-server.js'
import { serverGroup } from '../support/tcp-servers.js'

describe('a DNS answer that changes', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  const group = () => serverGroup(cleanups)

  async function dnsServer(): Promise<TestDnsServer> {
    const dns = await TestDnsServer.start()
    cleanups.push(() => dns.close())
    return dns
  }

  it('sends new connections to a fourth server added to the answer within two resolutions', async () => {
    const servers = await group().startOnOnePort(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'], { spares: 2 })
    const fourth = servers[3]!
    const dns = await dnsServer()
    dns.a.set('forkd.test', ['127.0.0.2', '127.0.0.3', '127.0.0.4'])
    const resolveInterval = 1_000
    const client = new Client({
      connect: { dns: 'forkd.test', port: fourth.port }, resolver: dns.resolver(), resolveInterval,
      maxCheckouts: 1, minWorkers: 0, maxWorkers: 3, timeout: 30_000,
    })
    cleanups.push(() => client.close())
    const load = new CheckoutLoad(client, 3, (c) => c.echo('x'), cleanups)
    await load.more(15)
    expect(servedBy(load.records).has(fourth.pid)).toBe(false)

    dns.a.set('forkd.test', servers.map((s) => s.host))
    const queriesBefore = dns.count('A forkd.test')
    const known = () => client.stats().endpoints.some((e) => e.endpoint === fourth.endpoint)
    await waitFor(known, 'the client to know the fourth server', 30_000)
    // Resolutions happen every 80 to 100 % of resolveInterval: the first or the second after the
    // change told the client (a query in flight during the change may still bring the old answer).
    const resolutions = dns.count('A forkd.test') - queriesBefore
    expect(resolutions).toBeGreaterThanOrEqual(1)
    expect(resolutions).toBeLessThanOrEqual(2)
    const checkoutsWhenKnown = load.records.length
    await waitFor(() => servedBy(load.records).has(fourth.pid), 'a checkout served by the fourth server', 30_000)
    await load.stop()
    // From then on every new connection goes to the fourth server whenever it is one of the two
    // endpoints drawn (it has the fewest connections): half the time or more. Twenty is plenty.
    // (How soon in wall time depends on how fast new connections are opened: each is a new worker
    // process here, seconds apart on a loaded machine; the bound is in resolutions and connections.)
    const first = load.records.findIndex((r) => r.server === fourth.pid)
    expect(first - checkoutsWhenKnown).toBeLessThan(20)
    expect(client.stats().endpoints.map((e) => e.endpoint)).toEqual(servers.map((s) => s.endpoint))
  }, 120_000)

  it('gives a server removed from the answer no new checkout, retires its idle workers at once and its busy one on release', async () => {
    const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4']
    const servers = await group().startOnOnePort(hosts, { spares: 2 })
    const dns = await dnsServer()
    dns.a.set('forkd.test', hosts)
    const client = new Client({
      connect: { dns: 'forkd.test', port: servers[0]!.port }, resolver: dns.resolver(), resolveInterval: 300,
      minWorkers: 6, maxWorkers: 6, timeout: 30_000,
    })
    cleanups.push(() => client.close())
    await warm(client, 6)
    // the server to remove: one with at least two of the six workers (some server has)
    const all = await Promise.all(Array.from({ length: 6 }, () => client.checkout()))
    const serverOf = (pid: number) => procStat(pid)?.ppid
    const removed = servers.find((s) => all.filter((c) => serverOf(c.worker.pid) === s.pid).length >= 2)!
    const onRemoved = all.filter((c) => serverOf(c.worker.pid) === removed.pid)
    const held = onRemoved[0]!
    for (const c of all) if (c !== held) c.release()
    await warm(client, 5)

    dns.a.set('forkd.test', hosts.filter((h) => h !== removed.host))
    await waitFor(() => client.stats().endpoints.find((e) => e.endpoint === removed.endpoint)?.removed, 'the client to see the new answer')
    // idle ones at once; the busy one stays, still serving its checkout
    expect(client.stats().endpoints.find((e) => e.endpoint === removed.endpoint)).toMatchObject({
      removed: true, connections: { idle: 0, busy: 1, connecting: 0, releasing: 0 },
    })
    expect(client.stats().retired.endpointRemoved).toBe(onRemoved.length - 1)
    await waitForExit(onRemoved.slice(1).map((c) => c.worker.pid))
    expect(await held.echo('still served')).toBe('still served')

    // new checkouts: none on the removed server (it still runs: it only left the answer)
    const load = new CheckoutLoad(client, 8, (c) => c.echo('x'), cleanups)
    await load.more(40)
    const records = await load.stop()
    expect(records.filter((r) => r.outcome !== 'ok')).toEqual([])
    expect(servedBy(records).has(removed.pid)).toBe(false)
    expect(isAlive(removed.pid)).toBe(true)

    held.release()
    expect(client.stats().retired.endpointRemoved).toBe(onRemoved.length)
    await waitForExit([held.worker.pid])
    // drained: its row is gone
    expect(client.stats().endpoints.map((e) => e.endpoint)).toEqual(servers.filter((s) => s !== removed).map((s) => s.endpoint))
  }, 120_000)

  it('when the name does not resolve at first, checkouts wait and time out with the DNS error as cause; served once it resolves', async () => {
    const [server] = await Promise.all([group().start('127.0.0.2', 0)])
    // a UDP port where no DNS server answers yet
    const probe = createSocket('udp4')
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r))
    const dnsPort = probe.address().port
    await new Promise<void>((r) => probe.close(() => r()))

    const { Resolver } = await import('node:dns/promises')
    const resolver = new Resolver({ timeout: 300, tries: 1 })
    resolver.setServers([`127.0.0.1:${dnsPort}`])
    const client = new Client({ connect: { dns: 'forkd.test', port: server!.port }, resolver, resolveInterval: 500, minWorkers: 0 })
    cleanups.push(() => client.close())

    const error = await client.checkout({ timeout: 2_000 }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).cause).toBeInstanceOf(ResolveError)
    expect((error as TimeoutError).cause).toMatchObject({ code: 'FORKD_ERR_RESOLVE', hostname: 'forkd.test' })
    expect((error as Error).message).toMatch(/^checkout timed out after 2 seconds waiting for the server \(cannot resolve forkd\.test \(A\/AAAA\): E[A-Z]+\)$/)
    expect(client.stats().names[0]).toMatchObject({ name: 'forkd.test', endpoints: 0, lastError: expect.any(ResolveError) })
    expect(client.stats().names[0]!.failures).toBeGreaterThan(0)

    // the DNS server comes up on that port: the next checkout is served
    const late = await TestDnsServer.start('127.0.0.1', dnsPort)
    cleanups.push(() => late.close())
    late.a.set('forkd.test', [server!.host])
    const c = await client.checkout({ timeout: 20_000 })
    expect(procStat(c.worker.pid)?.ppid).toBe(server!.pid)
    c.release()
    expect(client.stats().names[0]).toMatchObject({ endpoints: 1, failures: 0, lastError: undefined })
  }, 60_000)
})
