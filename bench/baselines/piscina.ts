/**
 * piscina baseline: worker threads in the benchmark process, the in-process upper bound (no process
 * boundary, structured clone instead of a socket). When pinned, the threads it starts are moved to
 * the peer CPUs.
 */
import { pathToFileURL } from 'node:url'
import { Piscina } from 'piscina'
import { benchFile, type BenchContext } from '../lib/context.js'
import { ownThreads, pinThread } from '../lib/processes.js'

export interface PiscinaBaseline {
  echo(x: unknown): Promise<unknown>
  stop(): Promise<void>
}

export async function startPiscina(ctx: BenchContext, threads: number): Promise<PiscinaBaseline> {
  const before = ownThreads()
  const pool = new Piscina({
    filename: pathToFileURL(benchFile('peers/piscina-worker.js')).href,
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: Infinity,
  })
  const echo = (x: unknown) => pool.run(x) as Promise<unknown>
  await Promise.all(Array.from({ length: threads * 8 }, () => echo('warm-up')))
  const cpus = ctx.options.peerCpus
  if (cpus !== undefined) for (const tid of ownThreads()) if (!before.has(tid)) pinThread(tid, cpus)
  return {
    echo,
    async stop() {
      await pool.destroy()
    },
  }
}
