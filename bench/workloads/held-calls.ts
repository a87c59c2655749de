/**
 * Workload 1: calls in a held checkout, each awaited before the next (µs per call).
 * Baselines: one raw ws+CBOR round trip; workerpool exec and piscina run with one worker.
 */
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { interleave, median, medianRatio, microsPerOp, verdict, warmUp } from '../lib/stats.js'
import { anyEventTask, fmt } from '../report.js'

const payload = '0123456789abcdef'

export async function heldCalls(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(10_000, 2_000)
  const rounds = ctx.rounds(7, 3)
  const cleanup = new Cleanup()
  try {
    const { client, raw, workerpool, piscina } = await startContenders(ctx, cleanup, { workers: 1, raw: true, workerpool: true, piscina: true })
    const c = cleanup.add(await client.checkout(), (c) => c.release())
    const contenders = {
      forkd: () => microsPerOp(n, () => c.echo(payload)),
      raw: raw && (() => microsPerOp(n, () => raw.client.echo(payload))),
      workerpool: workerpool && (() => microsPerOp(n, () => workerpool.echo(payload))),
      piscina: piscina && (() => microsPerOp(n, () => piscina.echo(payload))),
    }
    await warmUp(contenders)
    const s = await interleave(rounds, contenders, (r) => ctx.log(`held: round ${r}/${rounds} (${n} calls each)`))
    const ratio = medianRatio(s.forkd, s.raw)
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
      checks: [{ target: 'call ≤ 1.25× raw round trip', measured: `${fmt.ratio(ratio)} raw`, pass: verdict(ratio, (r) => r <= 1.25) }],
      notes: [
        `forkd ÷ workerpool ${fmt.ratio(medianRatio(s.forkd, s.workerpool))}, ÷ piscina ${fmt.ratio(medianRatio(s.forkd, s.piscina))} (median of ${rounds} rounds).`,
      ],
      samples: { n, microsPerCall: s },
    }
  } finally {
    await cleanup.run()
  }
}
