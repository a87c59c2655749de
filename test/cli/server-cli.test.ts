import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { fixture, isAlive, tempDir, waitFor, waitForExit } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

const cli = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url))
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 })

describe('forkd CLI', () => {
  let dir = ''
  const pids: number[] = []
  afterEach(async () => {
    for (const pid of pids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = ''
  })

  it('prints usage for --help and exits 0', () => {
    const result = run('--help')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^Usage:\n {2}forkd serve --listen PATH/)
    expect(result.stdout).toContain('forkd status PATH')
  })

  it('keeps its shebang line in the built file, so the installed bin runs directly', () => {
    // npm sets the executable bit when it links the bin; the build only has to keep the shebang.
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node')
  })

  it('prints one line and exits 2 when the worker module is missing', () => {
    dir = tempDir()
    const result = run('serve', '--listen', join(dir, 's.sock'), 'no-such-worker.mjs')
    expect(result.status).toBe(2)
    expect(result.stderr).toBe(`forkd: worker module ${join(process.cwd(), 'no-such-worker.mjs')}: no such file\n`)
    expect(existsSync(join(dir, 's.sock'))).toBe(false)
  })

  it('prints a syntax error in the worker module once, with its place, and exits 2', () => {
    dir = tempDir()
    const worker = fixture('syntax-error-worker.mjs')
    const result = run('serve', '--listen', join(dir, 's.sock'), worker)
    expect(result.status).toBe(2)
    const message = `forkd: cannot import worker module ${pathToFileURL(worker).href}: SyntaxError: Unexpected token '*' at ${worker}:6:34\n` +
      '      interface: { double: (x) => x +* 2 },\n' +
      '                                     ^\n'
    expect(result.stderr.endsWith(message)).toBe(true)
    // Said once: not in the worker's output, not in a log record before the final message.
    expect(result.stderr.split('Unexpected token').length - 1).toBe(1)
    expect(result.stderr.slice(0, -message.length)).toMatch(/^(forkd-server\[\d+\] info: closed \{[^\n]*\}\n)?$/)
  })

  it('prints one line and exits 2 when the socket\'s folder does not exist', () => {
    dir = tempDir()
    const path = join(dir, 'run', 'app', 'hash.sock')
    const result = run('serve', '--listen', path, fixture('plain-worker.mjs'))
    expect(result.status).toBe(2)
    expect(result.stderr).toBe(`forkd: cannot listen on ${path}: the folder ${join(dir, 'run', 'app')} does not exist ` +
      '(forkd does not create it: create it first, writable by the server\'s user)\n')
  })

  it.each([
    [['serve', '--listen', '/tmp/x.sock', '--spares', 'many', 'w.mjs'], /^forkd: --spares must be a number, got "many"\n/],
    [['serve', '--listen', '/tmp/x.sock', '--bogus', 'w.mjs'], /^forkd: unknown flag --bogus for serve\nUsage: forkd serve --listen PATH \[flags\] WORKER_MODULE/],
    [['serve', 'w.mjs'], /^forkd: serve needs --listen PATH\n/],
    [['frobnicate'], /^forkd: unknown command "frobnicate"\n/],
  ])('exits 2 with a one-line error for bad arguments: %j', (args, message) => {
    const result = run(...args)
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(result.stderr.trimEnd().split('\n').length).toBeLessThanOrEqual(2)
  })

  it('serves in the foreground, answers forkd status, and drains and exits 0 on SIGTERM', async () => {
    dir = tempDir()
    const path = join(dir, 's.sock')
    const server = spawn(process.execPath, [cli, 'serve', '--listen', path, '--name', 'cli', '--spares', '1', fixture('echo-worker.mjs')], { stdio: ['ignore', 'ignore', 'pipe'] })
    pids.push(server.pid!)
    let stderr = ''
    server.stderr!.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)))
    await waitFor(() => existsSync(path), 'the socket')
    const conn = await connectRaw(path)

    const status = spawnSync(process.execPath, [cli, 'status', path], { encoding: 'utf8' })
    expect(status.status).toBe(0)
    // The status connection is served by a worker too: the held connection plus the asker.
    expect(JSON.parse(status.stdout)).toMatchObject({ pid: server.pid, name: 'cli', state: 'listening', active: 2 })

    server.kill('SIGTERM')
    expect(await conn.waitFor((m) => Array.isArray(m) && m[0] === 9)).toEqual([9, 'shutdown'])
    conn.ws.close()
    expect(await exited).toBe(0)
    await waitForExit([conn.hello.pid])
    expect(existsSync(path)).toBe(false)
    expect(stderr).toMatch(/^forkd-server:cli\[\d+\] info: listening on /)
  })

  it('drains and exits 0 when a newer server takes over its path', async () => {
    dir = tempDir()
    const path = join(dir, 's.sock')
    const serve = () => {
      const child = spawn(process.execPath, [cli, 'serve', '--listen', path, '--spares', '1', fixture('plain-worker.mjs')], { stdio: ['ignore', 'ignore', 'ignore'] })
      pids.push(child.pid!)
      return { child, exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))) }
    }
    const old = serve()
    await waitFor(() => existsSync(path), 'the socket')
    const held = await connectRaw(path)
    expect(held.hello.serverPid).toBe(old.child.pid)

    const next = serve()
    expect(await held.waitFor((m) => Array.isArray(m) && m[0] === 9)).toEqual([9, 'server-replaced'])
    const fresh = await connectRaw(path)
    expect(fresh.hello.serverPid).toBe(next.child.pid)
    held.ws.close()
    expect(await old.exited).toBe(0)
    expect(existsSync(path)).toBe(true)
    fresh.ws.close()
    next.child.kill('SIGTERM')
    expect(await next.exited).toBe(0)
  })
})
