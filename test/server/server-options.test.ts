import { describe, expect, it } from 'vitest'
import { Server } from '@forkd/server'
import { fixture, quietLogger } from '../support/harness.js'

const worker = fixture('echo-worker.mjs')
const listen = '/tmp/fd-never-bound.sock'

// Each row: the options that differ from a valid set, and a pattern the TypeError must match (it
// names the option, the expectation and the value given).
const invalid: [string, Record<string, unknown>, RegExp][] = [
  ['a missing listen', { listen: undefined }, /"listen" must be a socket path, \{ host, port \} or \{ fd \}, got undefined/],
  ['an empty listen path', { listen: '' }, /"listen" must be a socket path/],
  ['a listen path too long for a Unix socket', { listen: '/tmp/' + 'a'.repeat(120) }, /"listen" must be a socket path shorter than 104 bytes/],
  ['a port out of range', { listen: { host: '127.0.0.1', port: 70000 } }, /"listen" must be .*got \{"host":"127.0.0.1","port":70000\}/],
  ['a missing worker', { worker: undefined }, /"worker" must be an absolute path or a file: URL, got undefined/],
  ['a relative worker path', { worker: 'worker.mjs' }, /"worker" must be an absolute path or a file: URL, got "worker.mjs"/],
  ['an http worker URL', { worker: new URL('http://example.com/w.js') }, /"worker" must be an absolute path or a file: URL/],
  ['a non-string name', { name: 3 }, /"name" must be a string, got 3/],
  ['negative spares', { spares: -1 }, /"spares" must be an integer ≥ 0, got -1/],
  ['fractional spares', { spares: 1.5 }, /"spares" must be an integer ≥ 0, got 1.5/],
  ['a zero hungWorkerTimeout', { hungWorkerTimeout: 0 }, /"hungWorkerTimeout" must be a number of milliseconds > 0, or Infinity, got 0/],
  ['a string hungWorkerTimeout', { hungWorkerTimeout: '5s' }, /"hungWorkerTimeout" must be .*got "5s"/],
  ['a negative startTimeout', { startTimeout: -1 }, /"startTimeout" must be a number of milliseconds > 0, or Infinity, got -1/],
  ['a string startTimeout', { startTimeout: '1m' }, /"startTimeout" must be .*got "1m"/],
  ['a socketMode above 0o777', { socketMode: 0o1777 }, /"socketMode" must be a file mode between 0 and 0o777, got 1023/],
  ['an Infinity handshakeTimeout', { handshakeTimeout: Infinity }, /"handshakeTimeout" must be a number of milliseconds > 0, got Infinity/],
  ['zero maxWorkers', { maxWorkers: 0 }, /"maxWorkers" must be an integer ≥ 1, got 0/],
  ['NaN maxPendingConnections', { maxPendingConnections: NaN }, /"maxPendingConnections" must be an integer ≥ 0, got NaN/],
  ['a negative drainTimeout', { drainTimeout: -5 }, /"drainTimeout" must be a number of milliseconds > 0, or Infinity, got -5/],
  ['a logger without error()', { logger: { debug() {}, info() {}, warn() {} } }, /"logger" must be an object with debug, info, warn and error methods/],
  ['an unknown workerOutput level', { workerOutput: { stdout: 'loud' } }, /"workerOutput.stdout" must be one of debug, info, warn, error, ignore, got "loud"/],
  ['execArgv that is not an array of strings', { execArgv: '--inspect' }, /"execArgv" must be an array of strings, got "--inspect"/],
  ['an unknown option', { spare: 1 }, /"spare" must be one of the known options/],
]

describe('Server.start options', () => {
  it.each(invalid)('rejects %s with a TypeError naming the option and the value', async (_what, change, message) => {
    const error = await Server.start({ listen, worker, logger: quietLogger, ...change } as never).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toMatch(/^forkd Server: option /)
    expect((error as Error).message).toMatch(message)
  })

  it('rejects options that are not an object', async () => {
    await expect(Server.start(null as never)).rejects.toThrow(/options must be an object, got null/)
  })
})
