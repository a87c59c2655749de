/** Starting a forkd server for a workload: in its own child process, pinned like every peer. */
import type { ChildProcess } from 'node:child_process'
import { benchFile, type BenchContext } from './context.js'
import { childrenOf, spawnNode, stopPeer, waitForMessage } from './processes.js'
import { sleep } from './stats.js'

export interface ForkdServer {
  path: string
  /** The server process (its RSS is the server's RSS). */
  pid: number
  /** 'Server.start', or 'stand-in' while @forkd/server does not export Server yet. */
  kind: string
  child: ChildProcess
  /** Worker processes (spares and connected) the server has right now. */
  workerPids(): number[]
  /** Waits until the server has at least `n` worker processes, plus `settle` ms for them to finish booting. */
  waitForWorkers(n: number, settle?: number): Promise<void>
  stop(): Promise<void>
}

/** Kinds of server seen in this run, for the report's header. */
export const serverKinds = new Set<string>()

export async function startForkdServer(ctx: BenchContext, options: { spares: number; name: string }): Promise<ForkdServer> {
  const path = ctx.socket(options.name)
  const profiling = ctx.options.prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${ctx.options.prof}`]
  const config = { listen: path, worker: benchFile('peers/echo-worker.js'), spares: options.spares, workerExecArgv: profiling }
  const child = spawnNode(benchFile('peers/serve-child.js'), [JSON.stringify(config)], { cpus: ctx.options.peerCpus, execArgv: profiling })
  const { kind } = await waitForMessage<{ type: 'ready'; kind: string }>(child, 'ready')
  serverKinds.add(kind)
  const pid = child.pid!
  const server: ForkdServer = {
    path,
    pid,
    kind,
    child,
    workerPids: () => childrenOf(pid),
    async waitForWorkers(n, settle = 300) {
      for (let i = 0; i < 500 && childrenOf(pid).length < n; i++) await sleep(20)
      await sleep(settle)
    },
    stop: () => stopPeer(child),
  }
  return server
}
