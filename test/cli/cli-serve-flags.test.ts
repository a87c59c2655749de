/**
 * The flags of `forkd serve` reach real servers and workers: socket mode, worker Node flags and
 * preloads, the worker environment from --env-file, the payload limit, and the log level and
 * format of what the server writes.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, PayloadTooLargeError } from '@forkd/client'
import { cliPath, processesTagged, uniqueTag } from '../support/cli.js'
import { fixture, tempDir, waitFor } from '../support/harness.js'

interface FlagsWorker {
  interface: {
    env(name: string): string | null
    execArgv(): string[]
    preloaded(): string | null
    size(bytes: Uint8Array): number
    say(text: string): boolean
    complain(text: string): boolean
  }
}

interface Served {
  child: ChildProcess
  path: string
  stderr(): string
  exited: Promise<number | null>
}

describe('forkd serve flags, end to end', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** Starts `forkd serve` with `flags` on a fresh socket; resolves once the socket exists (it is bound atomically). */
  async function serve(flags: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
    const dir = tempDir()
    const path = join(dir, 's.sock')
    const tag = uniqueTag()
    const child = spawn(process.execPath, [cliPath, 'serve', '--listen', path, '--spares', '1', ...flags, fixture('flags-worker.mjs')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, FORKD_DEBUG: '', ...env, FORKD_TEST_RUN: tag },
    })
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      await exited
      await waitFor(() => processesTagged(tag).length === 0, 'the server and its workers to exit')
      rmSync(dir, { recursive: true, force: true })
    })
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`forkd serve exited early: ${stderr}`)
      return existsSync(path)
    }, 'the socket', 20_000)
    return { child, path, stderr: () => stderr, exited }
  }

  function client(path: string): Client<FlagsWorker> {
    const c = new Client<FlagsWorker>({ connect: path, minWorkers: 0, maxWorkers: 1, timeout: 20_000 })
    cleanups.push(() => c.close())
    return c
  }

  it('--socket-mode 660 sets the socket file mode; the default is 600', async () => {
    const custom = await serve(['--socket-mode', '660'])
    expect(statSync(custom.path).mode & 0o777).toBe(0o660)
    const plain = await serve([])
    expect(statSync(plain.path).mode & 0o777).toBe(0o600)
  })

  it('--import MODULE and --exec-argv ARG become the workers\' Node flags, in order', async () => {
    const preload = fixture('preload-mark.mjs')
    const { path } = await serve(['--import', preload, '--exec-argv=--max-old-space-size=96', '--exec-argv', '--no-warnings'])
    const c = await client(path).checkout()
    try {
      expect(await c.execArgv()).toEqual(['--import', preload, '--max-old-space-size=96', '--no-warnings'])
      expect(await c.preloaded()).toBe('preloaded by --import')
    } finally {
      c.release()
    }
  })

  it('--env-file gives workers the file\'s variables over the server\'s environment, later files winning', async () => {
    const dir = tempDir()
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'a.env'), '# comment\nFORKD_T_FROM_FILE=a\nFORKD_T_BOTH="from a"\nexport FORKD_T_OVER=file\n')
    writeFileSync(join(dir, 'b.env'), 'FORKD_T_BOTH=from b\n')
    const { path } = await serve(['--env-file', join(dir, 'a.env'), '--env-file', join(dir, 'b.env')], { FORKD_T_OVER: 'server', FORKD_T_SERVER_ONLY: 'kept' })
    const c = await client(path).checkout()
    try {
      expect(await c.env('FORKD_T_FROM_FILE')).toBe('a')
      expect(await c.env('FORKD_T_BOTH')).toBe('from b')
      expect(await c.env('FORKD_T_OVER')).toBe('file')
      expect(await c.env('FORKD_T_SERVER_ONLY')).toBe('kept')
    } finally {
      c.release()
    }
  })

  it('--max-payload 4KiB: a worker accepts a 1 KiB argument and refuses an 8 KiB one', async () => {
    const { path } = await serve(['--max-payload', '4KiB'])
    const pool = client(path)
    const c = await pool.checkout()
    expect(await c.size(new Uint8Array(1024))).toBe(1024)
    const refused = await c.size(new Uint8Array(8 * 1024)).catch((error: unknown) => error)
    // The worker's hello says its limit of 4096 bytes: the client refuses the call before sending
    // it (the worker would close the connection with 1009), and the checkout goes on.
    expect(refused).toBeInstanceOf(PayloadTooLargeError)
    expect(refused).toMatchObject({ limit: 4096, message: expect.stringContaining('more than the 4096 bytes (4 KiB) the worker accepts in one message') })
    expect(await c.size(new Uint8Array(2048))).toBe(2048)
    c.release()
  })

  it('--log-format json writes one JSON object per line: time, level, msg, pid, name, then the fields', async () => {
    const served = await serve(['--log-format', 'json', '--name', 'js'])
    const c = await client(served.path).checkout()
    const { pid: workerPid, id } = c.worker
    await c.say('hello from a worker')
    c.release()
    await waitFor(() => served.stderr().includes('hello from a worker'), 'the worker line')
    served.child.kill('SIGTERM')
    expect(await served.exited).toBe(0)

    const lines = served.stderr().trimEnd().split('\n')
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    for (const r of records) {
      expect(Object.keys(r).slice(0, 5)).toEqual(['time', 'level', 'msg', 'pid', 'name'])
      expect(new Date(r.time as string).toISOString()).toBe(r.time)
      expect(r.pid).toBe(served.child.pid)
      expect(r.name).toBe('forkd-server:js')
    }
    // The listening record's own pid field would hide the record's: it is written as _pid.
    expect(records[0]).toEqual({ time: records[0]!.time, level: 'info', msg: `listening on ${served.path}`, pid: served.child.pid, name: 'forkd-server:js',
      _pid: served.child.pid, worker: fixture('flags-worker.mjs') })
    expect(records).toContainEqual(expect.objectContaining({ level: 'info', msg: `forkd-worker:js(${id})[${workerPid}] hello from a worker`, worker: id, _pid: workerPid, stream: 'stdout' }))
    expect(records.at(-1)).toMatchObject({ level: 'info', msg: 'closed' })
  })

  it('--log-level warn drops info records (worker stdout among them) and keeps warnings (worker stderr)', async () => {
    const served = await serve(['--log-level', 'warn', '--name', 'quiet'])
    const c = await client(served.path).checkout()
    await c.say('said on stdout')
    await c.complain('complained on stderr')
    c.release()
    await waitFor(() => served.stderr().includes('complained on stderr'), 'the stderr line')
    served.child.kill('SIGTERM')
    expect(await served.exited).toBe(0)
    const lines = served.stderr().trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^forkd-server:quiet\\[${served.child.pid}\\] warn: forkd-worker:quiet\\(\\d+\\)\\[\\d+\\] complained on stderr `))
  })

  it.each<[string, boolean, string[], NodeJS.ProcessEnv]>([
    ['--log-level debug', true, ['--log-level', 'debug'], {}],
    ['FORKD_DEBUG=1', true, [], { FORKD_DEBUG: '1' }],
    ['FORKD_DEBUG=0', false, [], { FORKD_DEBUG: '0' }],
    ['--log-level info over FORKD_DEBUG=1', false, ['--log-level', 'info'], { FORKD_DEBUG: '1' }],
  ])('%s: debug records shown: %s', async (_, debug, flags, env) => {
    const served = await serve(['--name', 'dbg', ...flags], env)
    // A worker's start is a debug record; the spare was started before the socket appeared.
    const c = await client(served.path).checkout()
    c.release()
    served.child.kill('SIGTERM')
    expect(await served.exited).toBe(0)
    const debugLines = served.stderr().split('\n').filter((l) => / debug: /.test(l))
    if (debug) expect(debugLines).toContainEqual(expect.stringMatching(/^forkd-server:dbg\[\d+\] debug: forkd-worker:dbg\(1\)\[\d+\] starting /))
    else expect(debugLines).toEqual([])
    expect(served.stderr()).toMatch(/ info: listening on /)
  })
})
