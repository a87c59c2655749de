/**
 * Workload 1: calls in a held checkout, each awaited before the next (µs per call), with every
 * call's own time kept for the latency chart.
 * Baselines: one raw ws+CBOR round trip; workerpool exec and piscina run with one worker.
 */
import { latencyChart } from '../lib/charts.js'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { interleave, median, medianRatio, microsPerOp, ratios, warmUp } from '../lib/stats.js'
import { anyEventTask, fmt } from '../report.js'

const payload = '0123456789abcdef'

export async function heldCalls(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(10_000, 2_000)
  const rounds = ctx.rounds(7, 3)
  const cleanup = new Cleanup()
  try {
    const { client, raw, workerpool, piscina } = await startContenders(ctx, cleanup, { workers: 1, raw: true, workerpool: true, piscina: true })
    const c = cleanup.add(await client.checkout(), (c) => c.release())
    const latencies = { forkd: [] as number[], raw: [] as number[], workerpool: [] as number[], piscina: [] as number[] }
    let record = false
    const keep = (list: number[]) => (record ? list : undefined)
    const contenders = {
      forkd: () => microsPerOp(n, () => c.echo(payload), keep(latencies.forkd)),
      raw: raw && (() => microsPerOp(n, () => raw.client.echo(payload), keep(latencies.raw))),
      workerpool: workerpool && (() => microsPerOp(n, () => workerpool.echo(payload), keep(latencies.workerpool))),
      piscina: piscina && (() => microsPerOp(n, () => piscina.echo(payload), keep(latencies.piscina))),
    }
    await warmUp(contenders)
    record = true
    const s = ctx.attempts.pool('rounds', await interleave(rounds, contenders, (r) => ctx.log(`held: round ${r}/${rounds} (${n} calls each)`)))
    const calls = ctx.attempts.pool('latencies', latencies)
    return {
      name: 'held',
      title: '1 held checkout',
      rows: [{
        metric: `µs per awaited call (${n.toLocaleString('en-US')} calls, 16-byte string)`,
        forkd: fmt.micros(median(s.forkd)),
        raw: fmt.micros(median(s.raw)),
        workerpool: fmt.micros(median(s.workerpool)),
        piscina: fmt.micros(median(s.piscina)),
        reference: fmt.micros(anyEventTask.heldCallMicros),
      }],
      checks: [roundsCheck('call ≤ 1.1× raw round trip', ratios(s.forkd, s.raw), { side: 'atMost', limit: 1.1 }, fmt.ratio, { suffix: ' raw' })],
      notes: [
        `forkd ÷ workerpool ${fmt.ratio(medianRatio(s.forkd, s.workerpool))}, ÷ piscina ${fmt.ratio(medianRatio(s.forkd, s.piscina))} (median of ${s.forkd.length} rounds).`,
      ],
      charts: [latencyChart('latency-held.svg', 'Held checkout: one awaited call (16-byte string echo)', { forkd: calls.forkd, 'raw ws+CBOR': calls.raw, workerpool: calls.workerpool, piscina: calls.piscina })],
      samples: { n, microsPerCall: s },
    }
  } finally {
    await cleanup.run()
  }
}
