/**
 * Workload 10: several connections per worker process (the server's `concurrency`). 64 checkouts
 * at once of a worker whose call awaits a 20 ms timer (I/O-bound), against a server with
 * concurrency 1 (a process per connection) and one with concurrency 16: the total RSS of the
 * server's worker processes (spares included, the same 2 on both) and checkouts per second.
 * Target: with 16, at most a quarter of the memory at no lower throughput.
 */
import { Client } from '@forkd/client'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startForkdServer, type ForkdServer } from '../lib/forkd.js'
import { vmRss } from '../lib/processes.js'
import { interleave, median, medianRatio, ratios, warmUp } from '../lib/stats.js'
import { fmt } from '../report.js'

const parallel = 64
const callMs = 20

interface Setup { server: ForkdServer; client: Client }

async function start(ctx: BenchContext, cleanup: Cleanup, concurrency: number): Promise<Setup> {
  const server = cleanup.add(await startForkdServer(ctx, { spares: 2, name: `c${concurrency}`, server: { concurrency } }), (s) => s.stop())
  const client = cleanup.add(new Client({ connect: server.path, minWorkers: parallel, maxWorkers: parallel }), (c) => c.close())
  await client.ready()
  return { server, client }
}

/** `parallel` loops of checkout → one awaited 20 ms call → release, `each` times; checkouts/s. */
async function run({ server, client }: Setup, each: number, rss: number[]): Promise<number> {
  const started = performance.now()
  let sampled = false
  const loop = async () => {
    for (let i = 0; i < each; i++) {
      const c = await client.checkout()
      try {
        await c.wait(callMs)
      } finally {
        c.release()
      }
      // Once, half-way, while every checkout is in flight: the memory the load costs.
      if (!sampled && i === each >> 1) {
        sampled = true
        rss.push(server.workerPids().reduce((sum, pid) => sum + (vmRss(pid) || 0), 0))
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, loop))
  return (parallel * each) / ((performance.now() - started) / 1000)
}

export async function concurrencyWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const each = ctx.pick(50, 10)
  const rounds = ctx.rounds(5, 3)
  const cleanup = new Cleanup()
  try {
    const one = await start(ctx, cleanup, 1)
    const sixteen = await start(ctx, cleanup, 16)
    const rss = { c1: [] as number[], c16: [] as number[] }
    const contenders = { c1: () => run(one, each, rss.c1), c16: () => run(sixteen, each, rss.c16) }
    await warmUp(contenders)
    rss.c1.length = 0
    rss.c16.length = 0
    const s = ctx.attempts.pool('rounds', await interleave(rounds, contenders, (r) => ctx.log(`concurrency: round ${r}/${rounds}`)))
    const memory = ctx.attempts.pool('rss', rss)
    const processes = { c1: one.server.workerPids().length, c16: sixteen.server.workerPids().length }
    return {
      name: 'concurrency',
      title: '10 concurrency (several connections per worker process)',
      rows: [
        { metric: `concurrency 1: ${parallel} checkouts at once, one awaited ${callMs} ms timer each: worker RSS total; checkouts/s`, forkd: `${fmt.mib(median(memory.c1))}; ${fmt.rate(median(s.c1))}` },
        { metric: `concurrency 16: the same load: worker RSS total; checkouts/s`, forkd: `${fmt.mib(median(memory.c16))}; ${fmt.rate(median(s.c16))}` },
      ],
      checks: [
        roundsCheck('concurrency 16 RSS ≤ 0.25× concurrency 1', ratios(memory.c16, memory.c1), { side: 'atMost', limit: 0.25 }, fmt.ratio),
        roundsCheck('concurrency 16 checkouts/s ≥ 1× concurrency 1', ratios(s.c16, s.c1), { side: 'atLeast', limit: 1 }, fmt.ratio),
      ],
      notes: [
        `worker processes at the end: ${processes.c1} with concurrency 1, ${processes.c16} with 16 (2 spares each); RSS ratio ${fmt.ratio(medianRatio(memory.c16, memory.c1))}, throughput ratio ${fmt.ratio(medianRatio(s.c16, s.c1))} (median of ${s.c1.length} rounds).`,
      ],
      samples: { parallel, each, checkoutsPerSecond: s, rss: memory },
    }
  } finally {
    await cleanup.run()
  }
}
