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
  ['unknown option', { connect: '/x', max_workers: 3 }, /option "max_workers" must be one of the known options/],
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

  it('reject a bad per-checkout timeout', async () => {
    const client = new Client({ connect: '/nonexistent/forkd.sock', minWorkers: 0 })
    await expect(client.checkout({ timeout: -1 })).rejects.toThrow(/"timeout" must be a number of milliseconds > 0/)
    await client.close()
  })
})
