import { spawnSync } from 'node:child_process'
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Server, SocketPathError } from '@forkd/server'
import { fixture, quietLogger, tempDir } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

const worker = fixture('plain-worker.mjs')

describe('Server socket path', () => {
  const dirs: string[] = []
  const servers: Server[] = []
  const dir = () => {
    const d = tempDir()
    dirs.push(d)
    return d
  }
  const start = async (listen: string, extra: object = {}) => {
    const server = await Server.start({ listen, worker, logger: quietLogger, spares: 1, ...extra })
    servers.push(server)
    return server
  }
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close({ drain: false })))
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })

  it('refuses a path that is a regular file, and leaves the file untouched', async () => {
    const path = join(dir(), 'not-a-socket')
    writeFileSync(path, 'precious data')
    const error = await Server.start({ listen: path, worker, logger: quietLogger }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SocketPathError)
    expect((error as SocketPathError).code).toBe('FORKD_ERR_SOCKET_PATH')
    expect((error as Error).message).toContain(`${path}: it exists and is a regular file`)
    expect(readFileSync(path, 'utf8')).toBe('precious data')
  })

  it('refuses a path that is a directory, and leaves it untouched', async () => {
    const path = join(dir(), 'a-dir')
    mkdirSync(path)
    await expect(Server.start({ listen: path, worker, logger: quietLogger })).rejects.toThrow(/it exists and is a directory/)
    expect(statSync(path).isDirectory()).toBe(true)
  })

  it('replaces a stale socket left by a crashed server, and serves on it', async () => {
    const path = join(dir(), 's.sock')
    // A process that binds the path and dies without closing leaves the socket file behind.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`])
    expect(lstatSync(path).isSocket()).toBe(true)
    await start(path)
    const conn = await connectRaw(path)
    expect(await conn.call('echo', 'through the replaced path')).toEqual([2, 1, 'through the replaced path'])
    conn.ws.close()
  })

  it('creates the socket with mode 0600 by default', async () => {
    const path = join(dir(), 's.sock')
    await start(path)
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  it('creates the socket with the socketMode given', async () => {
    const path = join(dir(), 's.sock')
    await start(path, { socketMode: 0o660 })
    expect(statSync(path).mode & 0o777).toBe(0o660)
  })

  it('leaves no temporary folder beside the path, and removes the path on close', async () => {
    const d = dir()
    const path = join(d, 's.sock')
    const server = await start(path)
    expect(readdirSync(d)).toEqual(['s.sock'])
    await server.close()
    expect(readdirSync(d)).toEqual([])
  })
})
