/**
 * `forkd status` on a PATH where no forkd server answers says what the PATH is, in one line, and
 * exits 1: a health check reads the status, a person reads the line.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { isAlive, tempDir, waitFor, waitForExit } from '../support/harness.js'

const status = (...args: string[]) => runCli(['status', ...args])

describe('forkd status on a path without a forkd server', () => {
  let dir = ''
  beforeAll(() => {
    dir = tempDir()
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  it('says "no such socket" for a missing path', async () => {
    const path = join(dir, 'missing.sock')
    const result = await status(path)
    expect(result.stderr).toBe(`forkd: no such socket: ${path}\n`)
    expect(result.stdout).toBe('')
    expect(result.status).toBe(1)
  })

  it('says so when a folder on the way is a file', async () => {
    writeFileSync(join(dir, 'plain'), '')
    const path = join(dir, 'plain', 's.sock')
    expect((await status(path)).stderr).toBe(`forkd: no such socket: ${path} (a folder on the way is a file)\n`)
  })

  it('says "is a regular file, not a forkd socket" for a file', async () => {
    const path = join(dir, 'notes.txt')
    writeFileSync(path, 'not a socket\n')
    const result = await status(path)
    expect(result.stderr).toBe(`forkd: ${path} is a regular file, not a forkd socket\n`)
    expect(result.status).toBe(1)
  })

  it('says "is a directory, not a forkd socket" for a folder', async () => {
    const path = join(dir, 'folder')
    mkdirSync(path)
    const result = await status(path)
    expect(result.stderr).toBe(`forkd: ${path} is a directory, not a forkd socket\n`)
    expect(result.status).toBe(1)
  })

  it('says nothing is listening on a socket left behind by a process that died', async () => {
    const path = join(dir, 'stale.sock')
    // A listener killed with SIGKILL cannot remove its socket file: the classic stale socket.
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)})`], { stdio: 'ignore' })
    try {
      await waitFor(() => existsSync(path), 'the socket file')
    } finally {
      holder.kill('SIGKILL')
    }
    await waitForExit([holder.pid!])
    expect(isAlive(holder.pid!)).toBe(false)
    const result = await status(path)
    expect(result.stderr).toBe(`forkd: nothing is listening on ${path} (connection refused: a socket left behind by a server that is gone?)\n`)
    expect(result.status).toBe(1)
  })

  it('says nothing is listening on a TCP address that refuses', async () => {
    const result = await status('127.0.0.3:1')
    expect(result.stderr).toBe('forkd: nothing is listening on 127.0.0.3:1 (connection refused)\n')
    expect(result.status).toBe(1)
  })
})
