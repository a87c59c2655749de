/**
 * Workload 3: one checkout, 10 000 calls issued at once (messages/s). forkd batches per tick; the
 * raw baseline sends one frame per message. workerpool and piscina get one worker.
 */
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { burstRate, interleave, median, medianRatio, ratios, warmUp } from '../lib/stats.js'
import { fmt } from '../report.js'

const payload = '0123456789abcdef'

export async function pipelined(ctx: BenchContext): Promise<WorkloadResult> {
  const n = 10_000
  const rounds = ctx.rounds(7, 3)
  const cleanup = new Cleanup()
  try {
    const { client, raw, workerpool, piscina } = await startContenders(ctx, cleanup, { workers: 1, raw: true, workerpool: true, piscina: true })
    const c = cleanup.add(await client.checkout(), (c) => c.release())
    const contenders = {
      forkd: () => burstRate(n, () => c.echo(payload)),
      raw: raw && (() => burstRate(n, () => raw.client.echo(payload))),
      workerpool: workerpool && (() => burstRate(n, () => workerpool.echo(payload))),
      piscina: piscina && (() => burstRate(n, () => piscina.echo(payload))),
    }
    await warmUp(contenders)
    const s = await interleave(rounds, contenders, (r) => ctx.log(`pipelined: round ${r}/${rounds}`))
    return {
      name: 'pipelined',
      title: '3 pipelined',
      rows: [{
        metric: `calls/s, ${n.toLocaleString('en-US')} issued at once in one checkout`,
        forkd: fmt.rate(median(s.forkd)),
        raw: fmt.rate(median(s.raw)),
        workerpool: fmt.rate(median(s.workerpool)),
        piscina: fmt.rate(median(s.piscina)),
      }],
      checks: [roundsCheck('msgs/s ≥ 3× raw ws (one frame per message)', ratios(s.forkd, s.raw), { side: 'atLeast', limit: 3 }, fmt.ratio, { suffix: ' raw' })],
      notes: [`forkd ÷ workerpool ${fmt.ratio(medianRatio(s.forkd, s.workerpool))}, ÷ piscina ${fmt.ratio(medianRatio(s.forkd, s.piscina))} in calls/s.`],
      samples: { n, callsPerSecond: s },
    }
  } finally {
    await cleanup.run()
  }
}
