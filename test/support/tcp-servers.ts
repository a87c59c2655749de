/**
 * forkd servers on TCP for the multi-host tests: each in its own process on a loopback address
 * (127.0.0.2, 127.0.0.3, ...), standing for one host, so a test can kill a "host" (its server and
 * its workers, with SIGKILL) or freeze one. Every process is tagged, so cleanup finds the workers
 * too, wherever they were reparented.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fixture, waitForExit } from './harness.js'
import { processesTagged, uniqueTag } from './cli.js'
import { childrenOf, killAll } from './faults.js'

/**
 * What every TCP server of the tests is started with, besides listen and worker: the one place
 * that says how a test server on TCP is secured. These tests are about hosts, not security: plain
 * TCP on loopback addresses, which a server refuses unless told `insecure: true` (the security
 * tests pass their own `tls` and `auth` in `server`).
 */
export const tcpServerSecurity: Record<string, unknown> = { insecure: true }

export interface TcpServer {
  host: string
  port: number
  /** `host:port`, as stats().endpoints names it. */
  endpoint: string
  /** The server process. */
  pid: number
  child: ChildProcess
  /** Its live worker processes (spares and connected). */
  workers(): number[]
  /** SIGKILL the server and every worker it has, at once: what a machine dying does. */
  killHost(): number[]
  /** SIGTERM; resolves when it exited. */
  stop(): Promise<void>
}

export interface StartOptions {
  worker?: string
  spares?: number
  /** More Server.start options. */
  server?: Record<string, unknown>
}

/**
 * A group for one test whose cleanup is registered in `cleanups` (run last first, after the
 * test): it ends every process of the group and checks none is left.
 */
export function serverGroup(cleanups: (() => unknown)[]): TcpServers {
  const servers = new TcpServers()
  cleanups.push(async () => {
    await servers.cleanup()
    const left = processesTagged(servers.tag)
    if (left.length > 0) throw new Error(`processes of the test's servers left running: ${left.join(', ')}`)
  })
  return servers
}

/** A group of servers that one test starts; `cleanup()` ends every process they ever started. */
export class TcpServers {
  readonly tag = uniqueTag()
  readonly servers: TcpServer[] = []

  /** Starts a server on `host:port` (port 0: any free port). */
  async start(host: string, port: number, options: StartOptions = {}): Promise<TcpServer> {
    const config = {
      listen: { host, port },
      worker: fixture(options.worker ?? 'echo-worker.mjs'),
      spares: options.spares ?? 2,
      name: `mh-${host}`,
      ...tcpServerSecurity,
      ...options.server,
    }
    const child = fork(fixture('serve-options.mjs'), [JSON.stringify(config)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, FORKD_TEST_RUN: this.tag },
    })
    const message = await new Promise<{ address?: { host: string; port: number }; error?: string; code?: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as never))
      child.once('exit', (code) => reject(new Error(`server process on ${host}:${port} exited with code ${code} before listening`)))
    })
    if (message.address === undefined) throw Object.assign(new Error(`server on ${host}:${port}: ${message.error}`), { code: message.code })
    const pid = child.pid!
    const server: TcpServer = {
      host,
      port: message.address.port,
      endpoint: `${host}:${message.address.port}`,
      pid,
      child,
      workers: () => childrenOf(pid),
      killHost: () => {
        const pids = [pid, ...childrenOf(pid)]
        killAll(pids)
        return pids
      },
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      },
    }
    this.servers.push(server)
    return server
  }

  /**
   * Starts one server on each host, all on one port (a DNS name with A records has one port for
   * every address). Retries with another port when one host has it taken.
   */
  async startOnOnePort(hosts: readonly string[], options: StartOptions = {}): Promise<TcpServer[]> {
    for (let attempt = 1; ; attempt++) {
      const first = await this.start(hosts[0]!, 0, options)
      try {
        return [first, ...await Promise.all(hosts.slice(1).map((h) => this.start(h, first.port, options)))]
      } catch (error) {
        if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt === 5) throw error
        await this.cleanup()
      }
    }
  }

  /** Ends every process of the group (servers, workers, orphans) and waits for them to exit. */
  async cleanup(): Promise<void> {
    await Promise.all(this.servers.splice(0).map((s) => s.stop().catch(() => undefined)))
    const left = processesTagged(this.tag)
    killAll(left)
    await waitForExit(left)
  }
}
