import { describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['connect missing', {}, /option "connect" must be an absolute socket path, "host:port" or \{ host, port \}, got undefined/],
  ['connect empty', { connect: '' }, /option "connect" must be an absolute socket path, "host:port" or \{ host, port \}, got ""/],
  ['connect relative', { connect: 'run/app.sock' }, /option "connect" must be an absolute socket path, "host:port" or \{ host, port \} \(a relative socket path is ambiguous: resolve it first\), got "run\/app.sock"/],
  ['connect bad port', { connect: { host: '127.0.0.1', port: 70000 } }, /option "connect" must be an absolute socket path, "host:port" or \{ host, port \} with a port from 1 to 65535, got \{"host":"127.0.0.1","port":70000\}/],
  ['connect bad port string', { connect: 'localhost:0' }, /with a port from 1 to 65535, got "localhost:0"/],
  ['connectTimeout zero', { connect: '/x', connectTimeout: 0 }, /"connectTimeout" must be a number of milliseconds > 0, or Infinity, got 0/],
  ['minWorkers negative', { connect: '/x', minWorkers: -1 }, /"minWorkers" must be an integer ≥ 0, got -1/],
  ['maxWorkers zero', { connect: '/x', maxWorkers: 0 }, /"maxWorkers" must be an integer ≥ 1, got 0/],
  ['maxWorkers fractional', { connect: '/x', maxWorkers: 1.5 }, /"maxWorkers" must be an integer ≥ 1, got 1.5/],
  ['timeout zero', { connect: '/x', timeout: 0 }, /"timeout" must be a number of milliseconds > 0, or Infinity, got 0/],
  ['timeout string', { connect: '/x', timeout: '5s' }, /"timeout" must be a number of milliseconds/],
  ['maxCheckouts zero', { connect: '/x', maxCheckouts: 0 }, /"maxCheckouts" must be an integer ≥ 1 or Infinity, got 0/],
  ['reforkAfterError string', { connect: '/x', reforkAfterError: 'no' }, /"reforkAfterError" must be a boolean, got "no"/],
  ['trackCheckoutSites a number', { connect: '/x', trackCheckoutSites: 1 }, /"trackCheckoutSites" must be true, false or "sampled", got 1/],
  ['trackCheckoutSites another word', { connect: '/x', trackCheckoutSites: 'all' }, /"trackCheckoutSites" must be true, false or "sampled", got "all"/],
  ['unknown option', { connect: '/x', max_workers: 3 }, /option "max_workers" must be one of the known options/],
  ['connect missing names the other forms', {}, /got undefined \(or a list of endpoints, \{ dns, port \} or \{ srv \}\)$/],
  ['connect an empty list', { connect: [] }, /option "connect" must be a non-empty list \(a list of endpoints, \{ dns, port \} or \{ srv \}\), got \[\]/],
  ['connect a list with a bad entry', { connect: ['/a.sock', 'b.sock'] }, /option "connect\[1\]" must be an absolute socket path, "host:port" or \{ host, port \}, got "b.sock"$/],
  ['connect a list in a list', { connect: [['/a.sock']] }, /option "connect\[0\]" must be an endpoint, \{ dns, port \} or \{ srv \}, not a list, got \["\/a.sock"\]/],
  ['connect dns without a port', { connect: { dns: 'forkd.internal' } }, /option "connect" must be \{ dns: NAME, port: 1..65535 \} with NAME a DNS name \(for an address, use \{ host, port \}\), got \{"dns":"forkd.internal"\}/],
  ['connect dns with port 0', { connect: { dns: 'forkd.internal', port: 0 } }, /option "connect" must be \{ dns: NAME, port: 1..65535 \}/],
  ['connect dns given an address', { connect: { dns: '10.0.0.1', port: 7000 } }, /\(for an address, use \{ host, port \}\), got \{"dns":"10.0.0.1","port":7000\}/],
  ['connect dns not a name', { connect: { dns: 'forkd internal', port: 7000 } }, /option "connect" must be \{ dns: NAME/],
  ['connect dns with host too', { connect: { dns: 'a.internal', port: 7000, host: 'b' } }, /option "connect" must be \{ dns: NAME/],
  ['connect srv empty', { connect: { srv: '' } }, /option "connect" must be \{ srv: NAME \} with NAME a DNS name, e.g. "_forkd._tcp.example.internal", got \{"srv":""\}/],
  ['connect srv with a port', { connect: [{ srv: '_forkd._tcp.a.internal', port: 7000 }] }, /option "connect\[0\]" must be \{ srv: NAME \}/],
  ['resolver without resolve6', { connect: { dns: 'a.internal', port: 7000 }, resolver: { resolve4: async () => [] } },
    /option "resolver" must be a dns.promises.Resolver or an object with resolve4, resolve6 methods \(resolve6 is undefined\)/],
  ['resolver without resolveSrv for an SRV name', { connect: { srv: '_forkd._tcp.a.internal' }, resolver: { resolve4: async () => [], resolve6: async () => [] } },
    /option "resolver" must be a dns.promises.Resolver or an object with resolve4, resolve6, resolveSrv methods \(resolveSrv is undefined\)/],
  ['resolver not an object', { connect: '/x', resolver: 'system' }, /option "resolver" must be a dns.promises.Resolver or an object with resolve4, resolve6 and resolveSrv methods, got "system"/],
  ['resolveInterval zero', { connect: '/x', resolveInterval: 0 }, /"resolveInterval" must be a number of milliseconds > 0, got 0/],
  ['resolveInterval Infinity', { connect: '/x', resolveInterval: Infinity }, /"resolveInterval" must be a number of milliseconds > 0, got Infinity/],
  ['pingInterval negative', { connect: '/x', pingInterval: -5 }, /"pingInterval" must be a number of milliseconds > 0, or Infinity, got -5/],
  ['pingTimeout Infinity', { connect: '/x', pingTimeout: Infinity }, /"pingTimeout" must be a number of milliseconds > 0, got Infinity/],
  ['tcpKeepAlive below a second', { connect: '/x', tcpKeepAlive: 500 }, /"tcpKeepAlive" must be an integer ≥ 1000, got 500/],
]

describe('Client options', () => {
  it.each(bad)('throw a TypeError naming the option when %s', (_, options, message) => {
    expect(() => new Client(options as never)).toThrow(TypeError)
    expect(() => new Client(options as never)).toThrow(message)
  })

  it('cap minWorkers at maxWorkers, like AnyEvent::Task', async () => {
    const client = new Client({ connect: '/nonexistent/forkd.sock', minWorkers: 5, maxWorkers: 2 })
    expect(client.options.minWorkers).toBe(2)
    await client.close()
  })

  it('apply the documented defaults', async () => {
    const client = new Client({ connect: '/nonexistent/forkd.sock' })
    expect(client.options).toMatchObject({ minWorkers: 2, maxWorkers: 20, timeout: 30_000, maxCheckouts: Infinity, reforkAfterError: true })
    await client.close()
  })

  it('sample checkout sites by default, and record none when NODE_ENV is production', async () => {
    const saved = process.env.NODE_ENV
    try {
      process.env.NODE_ENV = 'test'
      const sampled = new Client({ connect: '/nonexistent/forkd.sock', autostart: false })
      process.env.NODE_ENV = 'production'
      const production = new Client({ connect: '/nonexistent/forkd.sock', autostart: false })
      const explicit = new Client({ connect: '/nonexistent/forkd.sock', autostart: false, trackCheckoutSites: true })
      expect([sampled.options.trackCheckoutSites, production.options.trackCheckoutSites, explicit.options.trackCheckoutSites]).toEqual(['sampled', false, true])
      await Promise.all([sampled.close(), production.close(), explicit.close()])
    } finally {
      if (saved === undefined) delete process.env.NODE_ENV
      else process.env.NODE_ENV = saved
    }
  })

  it('accept every form of connect, and name each server once', async () => {
    const resolver = { resolve4: async () => [], resolve6: async () => [], resolveSrv: async () => [] }
    const client = new Client({
      connect: ['/run/a.sock', '10.0.0.1:7000', { host: '10.0.0.1', port: 7000 }, '[fd00::1]:7000', { dns: 'forkd.internal', port: 7000 },
        { dns: 'FORKD.internal', port: 7000 }, { srv: '_forkd._tcp.forkd.internal' }, '/run/a.sock'],
      resolver, minWorkers: 0,
    })
    expect(client.options.connect).toEqual([
      { kind: 'endpoint', endpoint: '/run/a.sock' },
      { kind: 'endpoint', endpoint: { host: '10.0.0.1', port: 7000 } },
      { kind: 'endpoint', endpoint: { host: 'fd00::1', port: 7000 } },
      { kind: 'dns', name: 'forkd.internal', port: 7000 },
      { kind: 'srv', name: '_forkd._tcp.forkd.internal' },
    ])
    expect(client.options).toMatchObject({ resolveInterval: 5_000, pingInterval: 5_000, pingTimeout: 5_000, tcpKeepAlive: 10_000, resolver })
    await client.close()
  })

  it('reject a bad per-checkout timeout', async () => {
    const client = new Client({ connect: '/nonexistent/forkd.sock', minWorkers: 0 })
    await expect(client.checkout({ timeout: -1 })).rejects.toThrow(/"timeout" must be a number of milliseconds > 0/)
    await client.close()
  })
})
