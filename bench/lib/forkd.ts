/** Starting a forkd server for a workload: in its own child process, pinned like every peer. */
import type { ChildProcess } from 'node:child_process'
import { benchFile, type BenchContext } from './context.js'
import { childrenOf, spawnNode, stopPeer, waitForMessage } from './processes.js'
import { sleep } from './stats.js'

export interface ForkdServer {
  /** Where it listens, as a client's `connect` takes it: the socket path, or `host:port` on TCP. */
  path: string
  /** The server process (its RSS is the server's RSS). */
  pid: number
  /** How the server was started ('Server.start'), for the report. */
  kind: string
  child: ChildProcess
  /** Worker processes (spares and connected) the server has right now. */
  workerPids(): number[]
  /** The server's own status (spares, active, starting...), asked over IPC. */
  status(): Promise<ServerStatusLike>
  /** Waits until at least `n` spares are ready; resolves with how many there were, or rejects after `timeout` ms. */
  waitForSpares(n: number, timeout?: number): Promise<number>
  /** Waits until `ok(status)` holds (asked every 10 ms); rejects after `timeout` ms naming `what`. */
  waitForStatus(what: string, ok: (status: ServerStatusLike) => boolean, timeout?: number): Promise<ServerStatusLike>
  stop(): Promise<void>
}

/** The fields of @forkd/server's ServerStatus the bench reads. */
export interface ServerStatusLike {
  spares: number
  active: number
  starting: number
  started: number
  exited: number
}

/** Kinds of server seen in this run, for the report's header. */
export const serverKinds = new Set<string>()

export interface ForkdServerOptions {
  spares: number
  name: string
  /** Where to listen: a fresh socket in the bench's folder by default, or `{ host, port }` for TCP. */
  listen?: { host: string; port: number }
  /** More Server.start options. */
  server?: Record<string, unknown>
}

export async function startForkdServer(ctx: BenchContext, options: ForkdServerOptions): Promise<ForkdServer> {
  const listen = options.listen ?? ctx.socket(options.name)
  const profiling = ctx.options.prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${ctx.options.prof}`]
  const config = { listen, worker: benchFile('peers/echo-worker.js'), spares: options.spares, workerExecArgv: profiling, server: options.server }
  const child = spawnNode(benchFile('peers/serve-child.js'), [JSON.stringify(config)], { cpus: ctx.options.peerCpus, execArgv: profiling })
  const { kind, address } = await waitForMessage<{ type: 'ready'; kind: string; address: string | { host: string; port: number } }>(child, 'ready')
  serverKinds.add(kind)
  const pid = child.pid!
  const endpoint = typeof address === 'string' ? address : `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`
  const server: ForkdServer = {
    path: endpoint,
    pid,
    kind,
    child,
    workerPids: () => childrenOf(pid),
    async status() {
      const answer = waitForMessage<{ type: 'status'; status: ServerStatusLike }>(child, 'status', 5_000)
      child.send({ type: 'status-request' })
      return (await answer).status
    },
    async waitForSpares(n, timeout = 30_000) {
      return (await server.waitForStatus(`${n} spares`, (s) => s.spares >= n, timeout)).spares
    },
    async waitForStatus(what, ok, timeout = 30_000) {
      const deadline = performance.now() + timeout
      for (;;) {
        const status = await server.status()
        if (ok(status)) return status
        if (performance.now() > deadline) throw new Error(`the forkd server did not reach "${what}" within ${timeout} ms: ${JSON.stringify(status)}`)
        await sleep(10)
      }
    },
    stop: () => stopPeer(child),
  }
  return server
}
