/** The CLI's pure parts: suggestions, value parsers, listen targets, option errors in flag terms, the flag parser. */
import { describe, expect, it } from 'vitest'
import { bytesValue, octalModeValue, parseFlags, type Flag } from '../../packages/server/dist/cli/flags.js'
import { inFlagTerms } from '../../packages/server/dist/cli/option-errors.js'
import { listenTarget, serveFlags } from '../../packages/server/dist/cli/serve.js'
import { closest, editDistance, suggestions } from '../../packages/server/dist/cli/suggest.js'
import { UsageError } from '../../packages/server/dist/cli/usage-error.js'
import { Server } from '@forkd/server'

describe('editDistance', () => {
  it.each([
    ['', '', 0], ['spares', 'spares', 0], ['max-worker', 'max-workers', 1], ['sapres', 'spares', 1],
    ['maxworkers', 'max-workers', 1], ['kitten', 'sitting', 3], ['', 'abc', 3],
  ])('%s → %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })
})

describe('suggestions', () => {
  const known = ['--listen', '--log-level', '--log-format', '--spares', '--max-workers']
  it('offers the closest word within the limit, and nothing for a word nothing resembles', () => {
    expect(closest('--lisen', known)).toBe('--listen')
    expect(closest('--frobnicate', known)).toBeUndefined()
  })
  it('falls back to the known words a prefix begins, up to three', () => {
    expect(suggestions('--log', known)).toEqual(['--log-level', '--log-format'])
    expect(suggestions('--', known)).toEqual([])
  })
})

describe('value parsers', () => {
  it.each([['1048576', 1048576], ['512KiB', 512 * 1024], ['64MiB', 64 * 1024 ** 2], ['64m', 64 * 1024 ** 2], ['1GiB', 1024 ** 3], ['1.5KiB', 1536]])(
    'bytesValue(%s) = %i', (raw, n) => expect(bytesValue('max-payload', raw)).toBe(n))
  it.each([['600', 0o600], ['0660', 0o660], ['0o755', 0o755], ['0', 0]])('octalModeValue(%s) = %o', (raw, n) => expect(octalModeValue('socket-mode', raw)).toBe(n))
  it.each([['64MB'], ['x'], ['-1'], ['']])('bytesValue refuses %j with a UsageError naming the flag', (raw) => {
    expect(() => bytesValue('max-payload', raw)).toThrow(new UsageError(`--max-payload must be a number of bytes (e.g. 1048576, 512KiB or 64MiB), got ${JSON.stringify(raw)}`))
  })
  it.each([['8'], ['1777'], ['rw-'], ['0x1ff']])('octalModeValue refuses %j', (raw) => {
    expect(() => octalModeValue('socket-mode', raw)).toThrow(UsageError)
  })
})

describe('listenTarget', () => {
  it.each([
    ['127.0.0.2:7400', { host: '127.0.0.2', port: 7400 }],
    [':7400', { host: '127.0.0.1', port: 7400 }],
    ['[::1]:7400', { host: '::1', port: 7400 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['/run/app/x.sock', '/run/app/x.sock'],
    ['/run/app:1/x.sock', '/run/app:1/x.sock'],
  ])('%s → %j', (value, target) => expect(listenTarget(value)).toEqual(target))
  it('resolves a relative socket path against the current folder', () => {
    expect(listenTarget('x.sock')).toBe(`${process.cwd()}/x.sock`)
  })
})

describe('inFlagTerms', () => {
  /** The server's own TypeError for `options`, as Server.start rejects with it. */
  async function serverError(options: Record<string, unknown>): Promise<unknown> {
    return Server.start({ listen: '/tmp/fd-never.sock', worker: '/tmp/never.mjs', ...options } as never).catch((e: unknown) => e)
  }
  it('names the flag that sets the option, with the server\'s rule and the value given', async () => {
    expect(inFlagTerms(await serverError({ maxWorkers: 0 }), serveFlags)).toBe('--max-workers must be an integer ≥ 1, got 0')
    expect(inFlagTerms(await serverError({ drainTimeout: -1 }), serveFlags)).toBe('--drain-timeout must be a number of milliseconds > 0, or Infinity, got -1')
  })
  it('names a positional for an option given as one', async () => {
    expect(inFlagTerms(await serverError({ worker: 'relative.mjs' }), serveFlags, { worker: 'WORKER_MODULE' }))
      .toBe('WORKER_MODULE must be an absolute path or a file: URL, got "relative.mjs"')
  })
  it('leaves alone what is not an option error, or an option no flag sets', async () => {
    expect(inFlagTerms(new Error('option "spares" must be fine'), serveFlags)).toBeUndefined()
    expect(inFlagTerms(await serverError({ workerOutput: { stdout: 'loud' } }), serveFlags)).toBeUndefined()
  })
})

describe('parseFlags', () => {
  interface Into {
    seen: string[]
  }
  const flags: Flag<Into>[] = [
    { name: 'tag', value: 'T', repeatable: true, group: 'g', help: '', apply: (c, v) => void c.seen.push(`tag=${String(v)}`) },
    { name: 'one', value: 'N', group: 'g', help: '', apply: (c, v) => void c.seen.push(`one=${String(v)}`) },
    { name: 'dry', short: 'n', group: 'g', help: '', apply: (c, v) => void c.seen.push(`dry=${String(v)}`) },
  ]
  it('applies flags in order, inline or separate values, short aliases, and keeps positionals; -- ends the flags', () => {
    const into: Into = { seen: [] }
    const positionals = parseFlags(['a', '--tag', 'x', '--tag=y', '-n', '--one', '-3', 'b', '--', '--tag'], flags, into, 'test')
    expect(into.seen).toEqual(['tag=x', 'tag=y', 'dry=true', 'one=-3'])
    expect(positionals).toEqual(['a', 'b', '--tag'])
  })
  it('tells the command in a UsageError, for the usage line', () => {
    let error: unknown
    try {
      parseFlags(['--tga', 'x'], flags, { seen: [] }, 'test')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(UsageError)
    expect(error).toMatchObject({ message: 'unknown flag --tga for test (did you mean --tag?)', command: 'test' })
  })
})
