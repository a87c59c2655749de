/**
 * `forkd serve --listen systemd`: the listening socket belongs to a supervisor (here a small sh
 * launcher doing what systemd does for a socket unit), so connections wait in its backlog while
 * the server restarts, and a client under load loses no checkout.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server as NetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { listenFdFromEnvironment } from '../../packages/server/src/cli/socket-activation.js'
import { cliPath, processesTagged, uniqueTag } from '../support/cli.js'
import { childrenOf, killAll } from '../support/faults.js'
import { fixture, waitFor, waitForExit } from '../support/harness.js'

const token = 'socket-activation-token-0123'

describe('listenFdFromEnvironment', () => {
  it('takes fd 3 when LISTEN_PID is this process and LISTEN_FDS is 1, and removes the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '1', LISTEN_FDNAMES: 'forkd', PATH: '/bin' }
    expect(listenFdFromEnvironment(env, 42)).toBe(3)
    expect(env).toEqual({ PATH: '/bin' })
  })

  it.each([
    [{}, /LISTEN_PID is not set: start forkd from a systemd socket unit/],
    [{ LISTEN_PID: '42' }, /LISTEN_FDS is not set/],
    [{ LISTEN_PID: '41', LISTEN_FDS: '1' }, /LISTEN_PID is "41", this process is 42: the sockets were passed to another process/],
    [{ LISTEN_PID: '42', LISTEN_FDS: '0' }, /LISTEN_FDS must be the number of sockets passed, at least 1, got "0"/],
    [{ LISTEN_PID: '42', LISTEN_FDS: '2' }, /forkd listens on one socket, got LISTEN_FDS=2/],
  ])('refuses %j with a usage error', (given, message) => {
    const env: NodeJS.ProcessEnv = { ...given }
    expect(() => listenFdFromEnvironment(env, 42)).toThrow(message)
    expect(env.LISTEN_PID).toBeUndefined()
  })
})

describe('forkd serve --listen systemd', () => {
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /** A listening socket on 127.0.0.2 handed to the launcher as fd 3, then closed here. */
  async function launch(): Promise<{ supervisor: number; port: number; tag: string; stderr: () => string }> {
    const dir = mkdtempSync(join(tmpdir(), 'fkd-sa-'))
    const tokens = join(dir, 'tokens')
    writeFileSync(tokens, `# test\n${token}\n`)
    const listener: NetServer = createServer()
    await new Promise<void>((resolve) => listener.listen({ host: '127.0.0.2', port: 0 }, resolve))
    const port = (listener.address() as { port: number }).port
    const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd
    const tag = uniqueTag()
    const child = spawn('sh', [fixture('socket-activate.sh'), process.execPath, cliPath, 'serve', '--listen', 'systemd', '--auth-token-file', tokens,
      '--spares', '2', '--name', 'sa', fixture('echo-worker.mjs')], {
      stdio: ['ignore', 'ignore', 'pipe', fd],
      env: { ...process.env, FORKD_TEST_RUN: tag },
    })
    // The supervisor holds its copy; this process must not accept on the socket.
    listener.close()
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    cleanups.push(async () => {
      killAll([child.pid!])
      const left = processesTagged(tag)
      killAll(left)
      await waitForExit([child.pid!, ...left])
      rmSync(dir, { recursive: true, force: true })
      // A worker the server forked just before it was killed was not in that list: with its server
      // gone it must exit by itself (it is not killed here).
      await waitFor(() => processesTagged(tag).length === 0, 'every process of the run to be gone')
      expect(processesTagged(tag)).toEqual([])
    })
    return { supervisor: child.pid!, port, tag, stderr: () => stderr }
  }

  /** The forkd server the supervisor runs now (its only child), once it listens. */
  async function currentServer(supervisor: number, not?: number): Promise<number> {
    return waitFor(() => {
      const [pid] = childrenOf(supervisor)
      if (pid === undefined || pid === not) return undefined
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serve') || readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('forkd') ? pid : undefined
    }, 'the socket-activated server')
  }

  it('serves on the socket passed as fd 3, and the workers do not see LISTEN_FDS', async () => {
    const { supervisor, port, stderr } = await launch()
    const server = await currentServer(supervisor)
    const client = new Client({ connect: `127.0.0.2:${port}`, auth: { token }, minWorkers: 0, timeout: 20_000 })
    cleanups.push(() => client.close())
    const c = await client.checkout()
    expect(await c.echo('activated')).toBe('activated')
    const workerPid = await c.pid()
    c.release()
    expect(childrenOf(server)).toContain(workerPid)
    const environ = readFileSync(`/proc/${workerPid}/environ`, 'utf8').split('\0')
    expect(environ.filter((v) => v.startsWith('LISTEN_'))).toEqual([])
    await waitFor(() => / info: listening on /.test(stderr()), 'the listening record')
  })

  it('restarts under client load without losing a checkout: connections wait in the backlog', async () => {
    const { supervisor, port } = await launch()
    const first = await currentServer(supervisor)
    const client = new Client({ connect: `127.0.0.2:${port}`, auth: { token }, minWorkers: 2, maxWorkers: 4, timeout: 30_000 })
    cleanups.push(() => client.close())
    const served = new Set<number>()
    const failures: unknown[] = []
    let stop = false
    let done = 0
    const loop = async () => {
      while (!stop) {
        try {
          const c = await client.checkout()
          try {
            served.add(await c.pid())
          } finally {
            c.release()
          }
          done++
        } catch (error) {
          failures.push(error)
        }
      }
    }
    const loops = [loop(), loop(), loop()]
    await waitFor(() => done >= 20, '20 checkouts on the first server')
    process.kill(first, 'SIGTERM')
    const second = await currentServer(supervisor, first)
    const before = done
    await waitFor(() => done >= before + 20 && [...served].some((pid) => childrenOf(second).includes(pid)), '20 more checkouts, some on the restarted server', 30_000)
    stop = true
    await Promise.all(loops)
    expect(failures).toEqual([])
  })
})
