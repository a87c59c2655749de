/**
 * Several servers per client: servers on 127.0.0.2, .3, .4, each in its own process, found
 * through a real DNS server (dns2, on UDP) or named in a list. New connections spread over them by
 * power of two choices; an endpoint that refuses backs off while the others serve.
 */
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, ConnectError } from '@forkd/client'
import { startEnv, waitForExit } from '../support/harness.js'
import { CheckoutLoad, servedBy } from '../support/checkout-load.js'
import { TestDnsServer } from '../support/dns-server.js'
import { serverGroup } from '../support/tcp-servers.js'

const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4']

/** A port on `host` where nothing listens (it was free a moment ago). */
async function deadPort(host: string): Promise<number> {
  const probe = createServer()
  await new Promise<void>((r) => probe.listen(0, host, r))
  const port = (probe.address() as { port: number }).port
  await new Promise((r) => probe.close(r))
  return port
}

describe('several servers per client', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  const group = () => serverGroup(cleanups)

  it('spreads 300 new connections over three servers behind one DNS name: each gets 20 to 47 %', async () => {
    const servers = await group().startOnOnePort(hosts, { spares: 3 })
    const dns = await TestDnsServer.start()
    cleanups.push(() => dns.close())
    dns.a.set('forkd.test', hosts)
    const client = new Client({
      connect: { dns: 'forkd.test', port: servers[0]!.port }, resolver: dns.resolver(),
      maxCheckouts: 1, minWorkers: 0, maxWorkers: 6, timeout: 30_000,
    })
    cleanups.push(() => client.close())

    // maxCheckouts 1: every checkout is a new connection, to the endpoint the choice picks then
    const load = new CheckoutLoad(client, 6, (c) => c.echo('x'), cleanups)
    // 300 worker processes started: minutes on a loaded 2-core machine, seconds on an idle one
    await load.more(300, 420_000)
    const records = (await load.stop()).filter((r) => r.settled)
    expect(records.filter((r) => r.outcome !== 'ok')).toEqual([])
    expect(new Set(records.map((r) => r.pid)).size).toBe(records.length)
    const counts = servedBy(records.slice(0, 300))
    const shares = servers.map((s) => (counts.get(s.pid) ?? 0) / 300)
    for (const share of shares) {
      expect(share).toBeGreaterThanOrEqual(0.2)
      expect(share).toBeLessThanOrEqual(0.47)
    }
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9)
    expect(client.stats().names).toEqual([{ name: 'forkd.test', records: 'A/AAAA', endpoints: 3, failures: 0, lastError: undefined }])
    expect(client.stats().endpoints.map((e) => e.endpoint)).toEqual(servers.map((s) => s.endpoint))
  }, 480_000)

  it('takes a list of endpoints, Unix socket and TCP mixed; one that refuses backs off while the others serve', async () => {
    const [tcp] = await Promise.all([group().start('127.0.0.2', 0)])
    const unix = await startEnv('echo-worker.mjs', { spares: 2 })
    cleanups.push(() => unix.cleanup())
    const dead = `127.0.0.3:${await deadPort('127.0.0.3')}`
    const client = new Client({ connect: [unix.path, tcp!.endpoint, dead], maxCheckouts: 1, minWorkers: 0, maxWorkers: 4, timeout: 20_000 })
    cleanups.push(() => client.close())

    const load = new CheckoutLoad(client, 4, (c) => c.echo('x'), cleanups)
    await load.more(40, 120_000)
    const records = (await load.stop()).filter((r) => r.settled)
    for (const r of records) if (r.pid !== undefined) unix.pids.add(r.pid)
    // every checkout served, by the two that listen
    expect(records.filter((r) => r.outcome !== 'ok' || r.checkoutError !== undefined)).toEqual([])
    const counts = servedBy(records)
    expect([...counts.keys()].sort()).toEqual([process.pid, tcp!.pid].sort()) // the Unix socket server runs in this process
    expect(counts.get(process.pid)).toBeGreaterThan(5)
    expect(counts.get(tcp!.pid)).toBeGreaterThan(5)
    const rows = client.stats().endpoints
    expect(rows.map((e) => e.endpoint)).toEqual([unix.path, tcp!.endpoint, dead])
    const deadRow = rows[2]!
    expect(deadRow.failures).toBeGreaterThan(0)
    expect(deadRow.lastError).toBeInstanceOf(ConnectError)
    expect(deadRow.lastError!.message).toMatch(/ECONNREFUSED/)
    expect(deadRow.connections).toEqual({ idle: 0, busy: 0, connecting: expect.any(Number), releasing: 0 })
    expect(rows[0]!.failures + rows[1]!.failures).toBe(0)
  }, 180_000)

  it('finds servers by SRV records: each record gives host and port, target names resolved by the same DNS server', async () => {
    const servers = group()
    const [a, b] = await Promise.all([servers.start('127.0.0.2', 0), servers.start('127.0.0.3', 0)])
    const dns = await TestDnsServer.start()
    cleanups.push(() => dns.close())
    dns.srv.set('_forkd._tcp.forkd.test', [{ target: 'a.forkd.test', port: a!.port }, { target: 'b.forkd.test', port: b!.port }])
    dns.a.set('a.forkd.test', [a!.host])
    dns.a.set('b.forkd.test', [b!.host])
    const client = new Client({ connect: { srv: '_forkd._tcp.forkd.test' }, resolver: dns.resolver(), maxCheckouts: 1, minWorkers: 0, maxWorkers: 2, timeout: 20_000 })
    cleanups.push(() => client.close())

    const load = new CheckoutLoad(client, 2, (c) => c.echo('x'), cleanups)
    await load.more(20, 120_000)
    const records = (await load.stop()).filter((r) => r.settled)
    expect(records.filter((r) => r.outcome !== 'ok')).toEqual([])
    const counts = servedBy(records)
    expect(counts.get(a!.pid)).toBeGreaterThan(3)
    expect(counts.get(b!.pid)).toBeGreaterThan(3)
    expect(client.stats().endpoints.map((e) => e.endpoint).sort()).toEqual([a!.endpoint, b!.endpoint].sort())
    expect(client.stats().names).toEqual([{ name: '_forkd._tcp.forkd.test', records: 'SRV', endpoints: 2, failures: 0, lastError: undefined }])
    expect(dns.count('SRV _forkd._tcp.forkd.test')).toBeGreaterThanOrEqual(1)
    expect(dns.count('A a.forkd.test')).toBeGreaterThanOrEqual(1)
    await client.close()
    await waitForExit(records.map((r) => r.pid!))
  }, 180_000)
})
