import { spawnSync } from 'node:child_process'
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { Server, SocketPathError } from '@forkd/server'
import { fixture, quietLogger, serverLog, tempDir, workerChildren } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

const worker = fixture('plain-worker.mjs')
const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
/** An unprivileged user for the permission test when the tests run as root (who may write anywhere). */
const nobody = 65534

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

  it('refuses a path whose folder does not exist, naming the folder, and starts no worker', async () => {
    const missing = join(dir(), 'no-such-folder')
    const path = join(missing, 'hash.sock')
    const before = serverLog.length
    const error = await Server.start({ listen: path, worker, logger: quietLogger }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SocketPathError)
    expect((error as SocketPathError).code).toBe('FORKD_ERR_SOCKET_PATH')
    expect((error as SocketPathError).path).toBe(path)
    expect((error as Error).message).toBe(
      `cannot listen on ${path}: the folder ${missing} does not exist (forkd does not create it: create it first, writable by the server's user)`)
    // Checked before any worker process was started: the server logged nothing at all.
    expect(serverLog.slice(before)).toEqual([])
    expect(workerChildren()).toEqual([])
  })

  it('refuses a path below a regular file, naming the file', async () => {
    const file = join(dir(), 'a-file')
    writeFileSync(file, '')
    const path = join(file, 'sub', 's.sock')
    const error = await Server.start({ listen: path, worker, logger: quietLogger }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SocketPathError)
    expect((error as Error).message).toBe(`cannot listen on ${path}: ${file} is a regular file, not a folder`)
  })

  it('refuses a folder the server may not write to, naming the folder and the user', () => {
    const d = dir()
    chmodSync(d, 0o755)
    const readOnly = join(d, 'read-only')
    mkdirSync(readOnly, { mode: 0o555 })
    const path = join(readOnly, 's.sock')
    // root may write anywhere: the server then runs as an unprivileged user
    const asRoot = process.getuid?.() === 0
    const script = `import { Server } from '@forkd/server'
      Server.start({ listen: ${JSON.stringify(path)}, worker: ${JSON.stringify(worker)} })
        .then((s) => s.close(), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message, cause: e.cause?.code })))`
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot, encoding: 'utf8', timeout: 20_000, ...(asRoot ? { uid: nobody, gid: nobody } : {}),
    })
    expect(result.stderr).toBe('')
    const uid = asRoot ? nobody : process.getuid!()
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'SocketPathError',
      code: 'FORKD_ERR_SOCKET_PATH',
      message: expect.stringMatching(new RegExp(`^cannot listen on ${path}: permission denied: the server runs as (user \\S+ \\(uid ${uid}\\)|uid ${uid}), ` +
        `who may not create files in ${readOnly} \\(make the folder writable by that user, or listen somewhere else\\)$`)),
      cause: 'EACCES',
    })
    expect(readdirSync(readOnly)).toEqual([])
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
