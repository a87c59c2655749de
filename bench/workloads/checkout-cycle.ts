/**
 * Workload 2: sequential checkout → one call → release on a warm pool (µs per iteration), against
 * one raw round trip; workerpool's and piscina's per-call cost is their whole "checkout".
 */
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { checkoutCallRelease, startContenders } from '../lib/contenders.js'
import { interleave, median, medianRatio, microsPerOp, verdict, warmUp } from '../lib/stats.js'
import { anyEventTask, fmt } from '../report.js'

const payload = '0123456789abcdef'

export async function checkoutCycle(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(10_000, 2_000)
  const rounds = ctx.rounds(7, 3)
  const cleanup = new Cleanup()
  try {
    const { client, raw, workerpool, piscina } = await startContenders(ctx, cleanup, { workers: 1, raw: true, workerpool: true, piscina: true })
    const cycle = checkoutCallRelease(client, payload)
    const contenders = {
      forkd: () => microsPerOp(n, cycle),
      raw: raw && (() => microsPerOp(n, () => raw.client.echo(payload))),
      workerpool: workerpool && (() => microsPerOp(n, () => workerpool.echo(payload))),
      piscina: piscina && (() => microsPerOp(n, () => piscina.echo(payload))),
    }
    await warmUp(contenders)
    const s = await interleave(rounds, contenders, (r) => ctx.log(`cycle: round ${r}/${rounds} (${n} iterations each)`))
    const ratio = medianRatio(s.forkd, s.raw)
    return {
      name: 'cycle',
      title: '2 checkout+call+release',
      rows: [{
        metric: `µs per iteration, warm pool (${n.toLocaleString('en-US')}; baselines: one call)`,
        forkd: fmt.micros(median(s.forkd)),
        raw: fmt.micros(median(s.raw)),
        workerpool: fmt.micros(median(s.workerpool)),
        piscina: fmt.micros(median(s.piscina)),
        reference: fmt.micros(anyEventTask.cycleMicros),
      }],
      checks: [{ target: 'iteration ≤ 1.5× raw round trip', measured: `${fmt.ratio(ratio)} raw`, pass: verdict(ratio, (r) => r <= 1.5) }],
      notes: [
        `forkd ÷ workerpool ${fmt.ratio(medianRatio(s.forkd, s.workerpool))}, ÷ piscina ${fmt.ratio(medianRatio(s.forkd, s.piscina))}; the client's default options (trackCheckoutSites: true, timeout 30 s) are in force.`,
      ],
      samples: { n, microsPerIteration: s },
    }
  } finally {
    await cleanup.run()
  }
}
