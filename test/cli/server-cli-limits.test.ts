import { spawn, spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { fixture, isAlive, tempDir, waitFor, waitForExit } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

const cli = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url))
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 })

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    socket.on('data', (d) => (text += d))
    socket.on('close', () => resolve(text))
    socket.on('error', () => {})
  })
}

describe('forkd serve limit flags', () => {
  let dir = ''
  const pids: number[] = []
  afterEach(async () => {
    for (const pid of pids.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    if (dir) rmSync(dir, { recursive: true, force: true })
    dir = ''
  })

  it('lists --max-workers, --max-pending-connections and --handshake-timeout in --help', () => {
    const result = run('--help')
    expect(result.status).toBe(0)
    for (const flag of ['--max-workers N', '--max-pending-connections N', '--handshake-timeout MS']) expect(result.stdout).toContain(flag)
  })

  it.each([
    [['--max-pending-connections', 'lots'], /^forkd: --max-pending-connections must be a number, got "lots"\n/],
    [['--max-pending-connections=-1'], /^forkd: --max-pending-connections must be an integer ≥ 0, got -1\n/],
    [['--handshake-timeout', 'soon'], /^forkd: --handshake-timeout must be a number, got "soon"\n/],
    [['--handshake-timeout', '0'], /^forkd: --handshake-timeout must be a number of milliseconds > 0, got 0\n/],
  ])('exits 2 with a one-line error for a bad value: %j', (flags, message) => {
    dir = tempDir()
    const result = run('serve', '--listen', join(dir, 's.sock'), ...flags, fixture('plain-worker.mjs'))
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(message)
    expect(existsSync(join(dir, 's.sock'))).toBe(false)
  })

  it('passes --max-workers, --max-pending-connections and --handshake-timeout to the server', async () => {
    dir = tempDir()
    const path = join(dir, 's.sock')
    const server = spawn(process.execPath, [cli, 'serve', '--listen', path, '--spares', '1', '--max-workers', '1',
      '--max-pending-connections', '0', '--handshake-timeout', '300', fixture('plain-worker.mjs')], { stdio: ['ignore', 'ignore', 'ignore'] })
    pids.push(server.pid!)
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)))
    await waitFor(() => existsSync(path), 'the socket')

    // --handshake-timeout 300: a connection that never speaks is closed long before the 5 s default.
    const silent = connect(path)
    const startedAt = Date.now()
    expect(await readAll(silent)).toBe('')
    expect(Date.now() - startedAt).toBeLessThan(4_000)

    // --max-workers 1 and --max-pending-connections 0: with the one worker busy, the next connection
    // is refused at once with a 503 instead of waiting.
    const held = await waitFor(() => connectRaw(path).catch(() => undefined), 'a worker after the silent one')
    const refused = await readAll(connect(path))
    expect(refused).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\nX-Forkd-Error: server at capacity\r\n/)
    expect(await held.call('echo', 'still here')).toEqual([2, 1, 'still here'])

    held.ws.close()
    await waitForExit([held.hello.pid])
    server.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
