/**
 * Workload 2: sequential checkout → one call → release on a warm pool (µs per iteration), against
 * one raw round trip; workerpool's and piscina's per-call cost is their whole "checkout". forkd runs
 * three times, each with its own client and worker: as a production deployment (NODE_ENV=production,
 * the bench's setting), with the options a user gets without NODE_ENV (checkout sites sampled), and
 * with every checkout's site recorded (trackCheckoutSites: true).
 */
import { Client } from '@forkd/client'
import { latencyChart } from '../lib/charts.js'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { checkoutCallRelease, startContenders } from '../lib/contenders.js'
import { interleave, median, medianRatio, microsPerOp, ratios, warmUp } from '../lib/stats.js'
import { anyEventTask, fmt } from '../report.js'

const payload = '0123456789abcdef'

/** A client constructed as if NODE_ENV were unset: the client reads it at construction. */
function defaultOptionsClient(path: string, more: { trackCheckoutSites?: true } = {}): Client {
  const saved = process.env.NODE_ENV
  delete process.env.NODE_ENV
  try {
    return new Client({ connect: path, minWorkers: 1, maxWorkers: 1, ...more })
  } finally {
    if (saved !== undefined) process.env.NODE_ENV = saved
  }
}

export async function checkoutCycle(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(10_000, 2_000)
  const rounds = ctx.rounds(7, 3)
  const cleanup = new Cleanup()
  try {
    const { server, client, raw, workerpool, piscina } = await startContenders(ctx, cleanup, { workers: 1, raw: true, workerpool: true, piscina: true })
    const devClient = cleanup.add(defaultOptionsClient(server.path), (c) => c.close())
    const everySiteClient = cleanup.add(defaultOptionsClient(server.path, { trackCheckoutSites: true }), (c) => c.close())
    const production = checkoutCallRelease(client, payload)
    const defaults = checkoutCallRelease(devClient, payload)
    const everySite = checkoutCallRelease(everySiteClient, payload)
    const latencies = { production: [] as number[], defaults: [] as number[], raw: [] as number[] }
    let record = false
    const keep = (list: number[]) => (record ? list : undefined)
    const contenders = {
      forkd: () => microsPerOp(n, production, keep(latencies.production)),
      forkdDefaults: () => microsPerOp(n, defaults, keep(latencies.defaults)),
      forkdEverySite: () => microsPerOp(n, everySite),
      raw: raw && (() => microsPerOp(n, () => raw.client.echo(payload), keep(latencies.raw))),
      workerpool: workerpool && (() => microsPerOp(n, () => workerpool.echo(payload))),
      piscina: piscina && (() => microsPerOp(n, () => piscina.echo(payload))),
    }
    await warmUp(contenders)
    record = true
    const s = ctx.attempts.pool('rounds', await interleave(rounds, contenders, (r) => ctx.log(`cycle: round ${r}/${rounds} (${n} iterations each)`)))
    const calls = ctx.attempts.pool('latencies', latencies)
    return {
      name: 'cycle',
      title: '2 checkout+call+release',
      rows: [
        {
          metric: `µs per iteration, warm pool, production (${n.toLocaleString('en-US')}; baselines: one call)`,
          forkd: fmt.micros(median(s.forkd)),
          raw: fmt.micros(median(s.raw)),
          workerpool: fmt.micros(median(s.workerpool)),
          piscina: fmt.micros(median(s.piscina)),
          reference: fmt.micros(anyEventTask.cycleMicros),
        },
        {
          metric: 'µs per iteration, default options (no NODE_ENV: checkout sites sampled)',
          forkd: fmt.micros(median(s.forkdDefaults)),
          raw: fmt.micros(median(s.raw)),
        },
        {
          metric: 'µs per iteration, trackCheckoutSites: true (every checkout records its site)',
          forkd: fmt.micros(median(s.forkdEverySite)),
          raw: fmt.micros(median(s.raw)),
        },
      ],
      checks: [
        roundsCheck('iteration ≤ 1.2× raw round trip, production', ratios(s.forkd, s.raw), { side: 'atMost', limit: 1.2 }, fmt.ratio, { suffix: ' raw' }),
        roundsCheck('iteration ≤ 1.25× raw round trip, default options', ratios(s.forkdDefaults, s.raw), { side: 'atMost', limit: 1.25 }, fmt.ratio, { suffix: ' raw' }),
      ],
      notes: [
        `forkd (production) ÷ workerpool ${fmt.ratio(medianRatio(s.forkd, s.workerpool))}, ÷ piscina ${fmt.ratio(medianRatio(s.forkd, s.piscina))}; default options ÷ production ${fmt.ratio(medianRatio(s.forkdDefaults, s.forkd))}; every site recorded ÷ production ${fmt.ratio(medianRatio(s.forkdEverySite, s.forkd))}.`,
        'production: the client constructed with NODE_ENV=production (trackCheckoutSites false); default options: constructed with NODE_ENV unset (trackCheckoutSites "sampled": every checkout while under 1 000/s or in bursts of 100, then 1 000/s). All keep the default 30 s timeout.',
      ],
      charts: [latencyChart('latency-cycle.svg', 'Checkout + call + release, against one raw round trip', {
        'forkd, production': calls.production,
        'forkd, default options': calls.defaults,
        'raw ws+CBOR': calls.raw,
      })],
      samples: { n, microsPerIteration: s },
    }
  } finally {
    await cleanup.run()
  }
}
