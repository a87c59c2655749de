/**
 * The pool over several endpoints, with fake connections and a fake resolver: which endpoint each
 * new connection goes to, per-endpoint backoff, endpoints that come and go with the DNS answer,
 * SRV priorities, and idle pings. Milliseconds, no processes.
 */
import { describe, expect, it } from 'vitest'
import { ResolveError } from '@forkd/client'
import { countByEndpoint, live, makePool, settle, where } from '../support/fake-pool.js'
import { FakeResolver, dnsError } from '../support/fake-resolver.js'
import { prng } from '../support/faults.js'
import { waitFor } from '../support/harness.js'

const three = ['/a.sock', '/b.sock', '/c.sock']

describe('Pool with several endpoints', () => {
  it('spreads new connections by power of two choices: three endpoints, 30 connections, 10 each', () => {
    const { conns, request } = makePool({ connect: three, maxWorkers: 30 }, false, prng(1).next)
    for (let i = 0; i < 30; i++) request(`r${i}`)
    expect(conns).toHaveLength(30)
    // Each connection goes to the less loaded of two: the counts never drift more than one apart.
    expect(countByEndpoint(conns)).toEqual({ '/a.sock': 10, '/b.sock': 10, '/c.sock': 10 })
  })

  it('counts connections in every state (releasing, connecting, busy) when it compares endpoints', async () => {
    // random() always 0: of two endpoints with as many connections, /a.sock is taken
    const { pool, conns, request } = makePool({ connect: ['/a.sock', '/b.sock'], maxWorkers: 10 }, true, () => 0)
    const first = request('r1')
    expect(conns.map(where)).toEqual(['/a.sock'])
    conns[0]!.hello()
    await settle()
    first.checkout.release() // /a.sock: 1 releasing (checkoutDone runs)
    request('r2') // waits for the releasing worker: no new connection
    request('r3')
    expect(conns.map(where)).toEqual(['/a.sock', '/b.sock']) // releasing counted: 1 > 0
    request('r4')
    expect(conns.map(where)).toEqual(['/a.sock', '/b.sock', '/a.sock']) // connecting counted: 1 = 1, a tie
    conns[0]!.doneAck() // r2 gets it: /a.sock now 1 busy + 1 connecting
    request('r5')
    expect(conns.map(where)).toEqual(['/a.sock', '/b.sock', '/a.sock', '/b.sock']) // busy counted: 2 > 1
    expect(pool.stats().endpoints).toEqual([
      { endpoint: '/a.sock', connections: { idle: 0, busy: 1, connecting: 1, releasing: 0 }, failures: 0, backingOff: false, lastError: undefined, removed: false },
      { endpoint: '/b.sock', connections: { idle: 0, busy: 0, connecting: 2, releasing: 0 }, failures: 0, backingOff: false, lastError: undefined, removed: false },
    ])
  })

  it('backs a failing endpoint off on its own while the others keep serving, then probes it once at a time', async () => {
    const { pool, conns, request } = makePool({ connect: three, maxWorkers: 20, connectRetryMin: 30, connectRetryMax: 30 }, false, prng(3).next)
    for (let i = 0; i < 6; i++) request(`r${i}`)
    for (const c of conns.filter((c) => where(c) === '/b.sock')) c.failAttempt()
    // the two waiting checkouts whose attempts failed get new attempts, never on /b.sock
    expect(live(conns)).toHaveLength(6)
    expect(live(conns).map(where).filter((w) => w === '/b.sock')).toEqual([])
    const row = (name: string) => pool.stats().endpoints.find((e) => e.endpoint === name)!
    expect(row('/b.sock')).toMatchObject({ failures: 2, backingOff: true })
    expect(row('/b.sock').lastError?.message).toBe('ECONNREFUSED')
    expect(row('/a.sock')).toMatchObject({ failures: 0, backingOff: false })
    expect(pool.stats().connectFailures).toBe(2)
    // more checkouts meanwhile: still none on /b.sock
    for (let i = 6; i < 8; i++) request(`r${i}`)
    expect(live(conns).map(where).filter((w) => w === '/b.sock')).toEqual([])
    // after the backoff /b.sock, the least loaded, gets one probe, however many checkouts wait
    await waitFor(() => !row('/b.sock').backingOff, 'the end of the backoff', 2_000)
    for (let i = 8; i < 14; i++) request(`r${i}`)
    expect(live(conns).filter((c) => where(c) === '/b.sock')).toHaveLength(1)
    // the probe succeeds: /b.sock takes connections again and its failures are forgotten
    live(conns).find((c) => where(c) === '/b.sock')!.hello()
    expect(row('/b.sock')).toMatchObject({ failures: 0, backingOff: false, lastError: undefined })
    for (let i = 14; i < 20; i++) request(`r${i}`)
    expect(live(conns).filter((c) => where(c) === '/b.sock').length).toBeGreaterThan(1)
  })

  it('when every endpoint backs off, checkouts wait and the last connection error is the reason', async () => {
    const { pool, conns, request } = makePool({ connect: ['/a.sock', '/b.sock'], maxWorkers: 4, connectRetryMin: 20, connectRetryMax: 20 }, false, prng(4).next)
    const a = request('a')
    const b = request('b')
    expect(conns.map(where).sort()).toEqual(['/a.sock', '/b.sock'])
    conns[0]!.failAttempt(new Error('first'))
    expect(pool.lastConnectError).toBeUndefined() // the other endpoint has not failed
    // the other endpoint takes the failed attempt's place, then fails too
    expect(live(conns).map(where)).toEqual([where(conns[1]!), where(conns[1]!)])
    conns[1]!.failAttempt(new Error('second'))
    conns[2]!.failAttempt(new Error('third'))
    expect(live(conns)).toHaveLength(0)
    expect(pool.lastConnectError?.message).toBe('third')
    expect(pool.stats()).toMatchObject({ pending: 2, connectFailures: 3 })
    expect(pool.stats().endpoints.map((e) => e.backingOff)).toEqual([true, true])
    // both come back after their backoff: one probe each
    await waitFor(() => live(conns).length === 2, 'one probe per endpoint', 2_000)
    live(conns)[0]!.hello()
    expect([a.error, b.error]).toEqual([undefined, undefined])
    expect(pool.stats()).toMatchObject({ busy: 1, pending: 1 })
  })

  it('prefers the lowest SRV priority and uses the next one only while every preferred endpoint backs off', async () => {
    const resolver = new FakeResolver()
    resolver.srv.set('_forkd._tcp.svc', [
      { name: '10.0.0.1', port: 7001, priority: 10, weight: 1 },
      { name: '10.0.0.2', port: 7002, priority: 10, weight: 1 },
      { name: 'backup.svc', port: 7003, priority: 20, weight: 1 },
    ])
    resolver.a.set('backup.svc', ['10.0.0.3'])
    const { pool, conns, request } = makePool({ connect: { srv: '_forkd._tcp.svc' }, resolver, maxWorkers: 20, connectRetryMin: 1_000, connectRetryMax: 1_000 }, false, prng(5).next)
    for (let i = 0; i < 4; i++) request(`r${i}`)
    await waitFor(() => conns.length === 4, 'the SRV answer')
    expect(countByEndpoint(conns)).toEqual({ '10.0.0.1:7001': 2, '10.0.0.2:7002': 2 })
    // while one preferred endpoint is left, the waiting checkouts' new attempts go there
    const preferred = () => live(conns).find((c) => where(c) !== '10.0.0.3:7003')
    for (let c = preferred(); c !== undefined; c = preferred()) c.failAttempt()
    // both preferred endpoints back off: the backup serves
    expect(countByEndpoint(live(conns))).toEqual({ '10.0.0.3:7003': 4 })
    expect(pool.stats().endpoints.map((e) => e.endpoint)).toEqual(['10.0.0.1:7001', '10.0.0.2:7002', '10.0.0.3:7003'])
    expect(resolver.queries).toContain('A backup.svc')
    // an address as a target is used as it is, not resolved
    expect(resolver.queries).not.toContain('A 10.0.0.1')
  })
})

describe('Pool with a DNS name', () => {
  function dnsPool(resolver: FakeResolver, options: Parameters<typeof makePool>[0] = {}) {
    return makePool({ connect: { dns: 'svc.test', port: 7000 }, resolver, resolveInterval: 30, maxWorkers: 20, ...options }, false, prng(6).next)
  }

  it('retires a removed endpoint\'s idle workers at once and its busy ones on release; a new endpoint gets new connections', async () => {
    const resolver = new FakeResolver()
    resolver.a.set('svc.test', ['10.0.0.1', '10.0.0.2'])
    const { pool, conns, request } = dnsPool(resolver, { minWorkers: 4 })
    await waitFor(() => conns.length === 4, 'connections after the first answer')
    expect(countByEndpoint(conns)).toEqual({ '10.0.0.1:7000': 2, '10.0.0.2:7000': 2 })
    const one = conns.filter((c) => where(c) === '10.0.0.1:7000')
    const two = conns.filter((c) => where(c) === '10.0.0.2:7000')
    // idle workers are a stack: the three checkouts take the last three to say hello
    for (const c of [two[0]!, one[0]!, one[1]!, two[1]!]) c.hello()
    const requests = [request('x'), request('y'), request('z')]
    await settle()
    const busy = requests.map((r) => r.checkout)
    const onTwo = busy.find((c) => c.worker.pid === two[1]!.info.pid)!
    const idleOnTwo = [two[0]!]
    const busyOnTwo = [two[1]!]
    expect(idleOnTwo[0]!.state).toBe('idle')
    expect(busyOnTwo[0]!.state).toBe('busy')

    // 10.0.0.2 leaves the answer, 10.0.0.3 joins it
    resolver.a.set('svc.test', ['10.0.0.1', '10.0.0.3'])
    await waitFor(() => pool.stats().endpoints.some((e) => e.endpoint === '10.0.0.3:7000'), 'the new answer')
    for (const c of idleOnTwo) expect(c.closeReason).toBe('endpointRemoved')
    for (const c of busyOnTwo) expect(c.state).toBe('busy')
    const row = pool.stats().endpoints.find((e) => e.endpoint === '10.0.0.2:7000')!
    expect(row).toMatchObject({ removed: true, connections: { busy: busyOnTwo.length, idle: 0 } })
    // the refill of minWorkers goes to the new endpoint, the least loaded
    expect(live(conns).filter((c) => c.state === 'connecting').map(where)).toEqual(['10.0.0.3:7000'])
    onTwo.release()
    for (const c of busyOnTwo) expect(c.closeReason).toBe('endpointRemoved')
    expect(pool.stats().retired.endpointRemoved).toBe(idleOnTwo.length + busyOnTwo.length)
    // drained: the row is gone; no connection was ever opened to 10.0.0.2 after the change
    expect(pool.stats().endpoints.map((e) => e.endpoint)).toEqual(['10.0.0.1:7000', '10.0.0.3:7000'])
    for (let i = 0; i < 6; i++) request(`n${i}`)
    expect(conns.slice(4).map(where)).not.toContain('10.0.0.2:7000')
    // an endpoint on a fixed list never leaves: other workers were not touched
    for (const c of conns.filter((c) => where(c) === '10.0.0.1:7000')) expect(c.closeReason).toBeUndefined()
  })

  it('abandons attempts to a removed endpoint at once', async () => {
    const resolver = new FakeResolver()
    resolver.a.set('svc.test', ['10.0.0.1'])
    const { conns, request } = dnsPool(resolver)
    request('a')
    await waitFor(() => conns.length === 1, 'an attempt')
    resolver.a.set('svc.test', ['10.0.0.9'])
    await waitFor(() => conns[0]!.state === 'closed', 'the attempt to be abandoned')
    expect(conns[0]!.closeReason).toBe('endpointRemoved')
    expect(live(conns).map(where)).toEqual(['10.0.0.9:7000'])
  })

  it('keeps the last good answer when a resolution fails or finds no record, and says why', async () => {
    const resolver = new FakeResolver()
    resolver.a.set('svc.test', ['10.0.0.1', '10.0.0.2'])
    const { pool, conns } = dnsPool(resolver, { minWorkers: 2 })
    await waitFor(() => conns.length === 2, 'the first answer')
    conns.forEach((c) => c.hello())
    resolver.a.set('svc.test', dnsError('ETIMEOUT', 'svc.test'))
    const queries = resolver.count('A svc.test')
    await waitFor(() => resolver.count('A svc.test') >= queries + 2, 'two more resolutions')
    expect(pool.stats().names).toEqual([{ name: 'svc.test', records: 'A/AAAA', endpoints: 2, failures: expect.any(Number), lastError: expect.any(ResolveError) }])
    expect(pool.stats().names[0]!.failures).toBeGreaterThanOrEqual(1)
    expect(pool.stats().names[0]!.lastError!.message).toBe('cannot resolve svc.test (A/AAAA): ETIMEOUT')
    expect((pool.stats().names[0]!.lastError!.cause as { code: string }).code).toBe('ETIMEOUT')
    // an empty answer (NXDOMAIN, NODATA) is not taken for "no servers" either
    resolver.a.set('svc.test', undefined)
    const before = resolver.count('A svc.test')
    await waitFor(() => resolver.count('A svc.test') >= before + 2, 'two more resolutions')
    expect(pool.stats().names[0]).toMatchObject({ endpoints: 2, lastError: { message: 'cannot resolve svc.test (A/AAAA): no A/AAAA records' } })
    expect(conns.map((c) => c.state)).toEqual(['idle', 'idle'])
    expect(pool.stats().retired.endpointRemoved).toBe(0)
    // it answers again: failures and the error are forgotten
    resolver.a.set('svc.test', ['10.0.0.1', '10.0.0.2'])
    await waitFor(() => pool.stats().names[0]!.failures === 0, 'a good answer')
    expect(pool.stats().names[0]!.lastError).toBeUndefined()
  })

  it('uses A and AAAA records together, and keeps one type\'s last good records while only its query fails', async () => {
    const resolver = new FakeResolver()
    resolver.a.set('svc.test', ['10.0.0.1'])
    resolver.aaaa.set('svc.test', ['fd00::1'])
    const { pool } = dnsPool(resolver)
    await waitFor(() => pool.stats().endpoints.length === 2, 'both records')
    expect(pool.stats().endpoints.map((e) => e.endpoint)).toEqual(['10.0.0.1:7000', '[fd00::1]:7000'])
    resolver.aaaa.set('svc.test', dnsError('ESERVFAIL'))
    resolver.a.set('svc.test', ['10.0.0.1', '10.0.0.4'])
    await waitFor(() => pool.stats().endpoints.length === 3, 'the new A record')
    expect(pool.stats().endpoints.map((e) => e.endpoint)).toEqual(['10.0.0.1:7000', '[fd00::1]:7000', '10.0.0.4:7000'])
    expect(pool.stats().names[0]).toMatchObject({ failures: 0, lastError: { message: 'cannot resolve svc.test (A/AAAA): ESERVFAIL' } })
  })

  it('when the first resolution fails, checkouts wait and the resolution error is the reason; served once DNS answers', async () => {
    const resolver = new FakeResolver()
    resolver.a.set('svc.test', dnsError('ECONNREFUSED'))
    resolver.aaaa.set('svc.test', dnsError('ECONNREFUSED'))
    const { pool, conns, request } = dnsPool(resolver)
    const a = request('a')
    await waitFor(() => resolver.count('A svc.test') >= 3, 'retries of the first resolution')
    expect(conns).toHaveLength(0)
    expect(pool.lastConnectError).toBeInstanceOf(ResolveError)
    expect(pool.lastConnectError).toMatchObject({ code: 'FORKD_ERR_RESOLVE', hostname: 'svc.test', message: 'cannot resolve svc.test (A/AAAA): ECONNREFUSED' })
    resolver.a.set('svc.test', ['10.0.0.1'])
    resolver.aaaa.set('svc.test', undefined)
    await waitFor(() => conns.length === 1, 'an attempt once DNS answers')
    conns[0]!.hello()
    await settle()
    expect(a.checkout.worker.pid).toBe(conns[0]!.info.pid)
  })

  it('asks DNS again at once when an attempt fails, but not within a second of the last time', async () => {
    const resolver = new FakeResolver()
    resolver.a.set('svc.test', ['10.0.0.1'])
    const { conns, request } = dnsPool(resolver, { resolveInterval: 60_000, connectRetryMin: 1, connectRetryMax: 2 })
    request('a')
    await waitFor(() => conns.length === 1, 'an attempt')
    expect(resolver.count('A svc.test')).toBe(1)
    // not within a second of the last resolution
    conns[0]!.failAttempt()
    await waitFor(() => live(conns).length === 1, 'the next probe')
    expect(resolver.count('A svc.test')).toBe(1)
    await new Promise((r) => setTimeout(r, 1_050))
    live(conns)[0]!.failAttempt()
    await waitFor(() => resolver.count('A svc.test') === 2, 'a resolution after the failure')
    await waitFor(() => live(conns).length === 1, 'the next probe')
    live(conns)[0]!.failAttempt()
    await new Promise((r) => setTimeout(r, 100))
    expect(resolver.count('A svc.test')).toBe(2)
  })

  it('rejects a resolver answer that is not a list of addresses', async () => {
    const resolver = new FakeResolver()
    resolver.a.set('svc.test', ['not-an-address'])
    const { pool } = dnsPool(resolver)
    await waitFor(() => pool.stats().names[0]!.failures > 0, 'a failed resolution')
    expect(pool.stats().names[0]!.lastError).toMatchObject({
      code: 'FORKD_ERR_RESOLVE', message: 'cannot resolve svc.test: the resolver\'s resolve4 gave something other than a list of IPv4 addresses',
    })
    expect(pool.stats().endpoints).toEqual([])
  })
})

describe('Pool idle pings', () => {
  it('pings idle workers only, and replaces one that does not answer before anyone checks it out', async () => {
    const { pool, conns, request } = makePool({ minWorkers: 2, pingInterval: 20, pingTimeout: 1_000 })
    conns.forEach((c) => c.hello())
    const heldRequest = request('held')
    await settle()
    const held = heldRequest.checkout
    const busy = conns.find((c) => c.state === 'busy')!
    const idle = conns.find((c) => c.state === 'idle')!
    await waitFor(() => idle.pings.length === 1, 'a ping to the idle worker')
    expect(idle.pings).toEqual([1_000])
    expect(busy.pings).toEqual([])
    idle.noPong()
    expect(pool.stats().retired.unresponsive).toBe(1)
    // replaced: a new connection is on its way, and the next checkout waits for it
    expect(live(conns).filter((c) => c.state === 'connecting')).toHaveLength(1)
    const next = request('next')
    await settle()
    expect(next.settled).toBe(false)
    held.release()
    await settle()
    expect(next.checkout.worker.pid).toBe(busy.info.pid)
  })
})
