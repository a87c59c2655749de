/**
 * workerpool baseline in process mode (`workerType: 'process'`): the process pool a Node user picks
 * today. Its workers are children of the benchmark process; when pinned they are moved to the peer
 * CPUs once started, since fork() gives them the benchmark's own affinity.
 */
import workerpool from 'workerpool'
import { benchFile, type BenchContext } from '../lib/context.js'
import { childrenOf, cmdline, pinProcess } from '../lib/processes.js'
import { sleep } from '../lib/stats.js'

const script = benchFile('peers/workerpool-worker.js')

export interface WorkerpoolBaseline {
  echo(x: unknown): Promise<unknown>
  /** Pids of the pool's worker processes. */
  pids(): number[]
  stop(): Promise<void>
}

export async function startWorkerpool(ctx: BenchContext, workers: number): Promise<WorkerpoolBaseline> {
  const before = new Set(workerPids())
  const pool = workerpool.pool(script, { workerType: 'process', minWorkers: workers, maxWorkers: workers })
  const echo = (x: unknown) => pool.exec('echo', [x]) as unknown as Promise<unknown>
  // Every worker answers once before anything is timed.
  await Promise.all(Array.from({ length: workers * 8 }, () => echo('warm-up')))
  let pids: number[] = []
  for (let i = 0; i < 50 && pids.length < workers; i++) {
    pids = workerPids().filter((pid) => !before.has(pid))
    if (pids.length < workers) await sleep(20)
  }
  for (const pid of pids) pinProcess(pid, ctx.options.peerCpus)
  return {
    echo,
    pids: () => pids,
    async stop() {
      await pool.terminate(true)
    },
  }
}

function workerPids(): number[] {
  return childrenOf(process.pid).filter((pid) => cmdline(pid).includes(script))
}
