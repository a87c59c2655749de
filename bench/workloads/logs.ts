/**
 * Worker logs (GitHub issue 6): what logging costs calls that log nothing.
 *   a) a call that logs ten records, made by a checkout with no log sink, against a plain echo:
 *      without a sink the records are never sent, so the two should cost the same;
 *   b) calls on a quiet checkout while another checkout's worker logs 100 000 records in one call
 *      to a sink, against the same calls with no flood (the client process reads both).
 */
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { interleave, median, medianRatio, microsPerOp, ratios, warmUp } from '../lib/stats.js'
import { fmt } from '../report.js'

const payload = '0123456789abcdef'

export async function logs(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(10_000, 2_000)
  const floodLines = ctx.pick(100_000, 20_000)
  const rounds = ctx.rounds(5, 2)
  const cleanup = new Cleanup()
  try {
    const { client } = await startContenders(ctx, cleanup, { workers: 2 })
    const quiet = cleanup.add(await client.checkout(), (c) => c.release())
    let received = 0
    const loud = cleanup.add(await client.checkout({ log: () => void received++ }), (c) => c.release())
    const floodSeconds: number[] = []
    const rssGrowth: number[] = []
    const duringFlood = async () => {
      received = 0
      const rssBefore = process.memoryUsage().rss
      const started = performance.now()
      const flood = loud.flood(floodLines)
      // time the quiet calls while the flood runs (at most n calls, or until it ends)
      let calls = 0
      const t0 = performance.now()
      let floodDone = false
      void flood.then(() => (floodDone = true))
      while (calls < n && !floodDone) {
        await quiet.echo(payload)
        calls++
      }
      const micros = calls === 0 ? NaN : ((performance.now() - t0) * 1000) / calls
      await flood
      floodSeconds.push((performance.now() - started) / 1000)
      rssGrowth.push(process.memoryUsage().rss - rssBefore)
      if (received < floodLines) throw new Error(`only ${received} of ${floodLines} log records arrived`)
      return micros
    }
    const contenders = {
      echo: () => microsPerOp(n, () => quiet.echo(payload)),
      chatty: () => microsPerOp(n, () => quiet.chatty(payload)),
      flood: duringFlood,
    }
    await warmUp({ echo: contenders.echo, chatty: contenders.chatty })
    const s = ctx.attempts.pool('rounds', await interleave(rounds, contenders, (r) => ctx.log(`logs: round ${r}/${rounds}`)))
    const flood = ctx.attempts.pool('flood', { floodSeconds, rssGrowth })
    const chattyRatio = medianRatio(s.chatty, s.echo)
    const floodRatio = medianRatio(s.flood, s.echo)
    const recordsPerSecond = floodLines / median(flood.floodSeconds)
    return {
      name: 'logs',
      title: '8 worker logs',
      rows: [
        { metric: 'µs per awaited call: plain echo, no sink', forkd: fmt.micros(median(s.echo)) },
        { metric: 'µs per awaited call: a call that logs 10 records, caller has no sink', forkd: `${fmt.micros(median(s.chatty))} (${fmt.ratio(chattyRatio)})` },
        { metric: `µs per awaited call on a quiet checkout while another logs ${floodLines.toLocaleString('en-US')} records to a sink`, forkd: `${fmt.micros(median(s.flood))} (${fmt.ratio(floodRatio)})` },
        { metric: 'log records delivered per second during the flood; client RSS growth', forkd: `${Math.round(recordsPerSecond).toLocaleString('en-US')}/s; ${(median(flood.rssGrowth) / 2 ** 20).toFixed(1)} MiB` },
      ],
      checks: [roundsCheck('logging without a sink costs nothing (≤ 1.1× a plain call)', ratios(s.chatty, s.echo), { side: 'atMost', limit: 1.1 }, fmt.ratio)],
      notes: [
        'The flood row shares 2 cores between the flooding worker, the quiet worker and the client that reads 100 000 records: it shows the quiet calls keep going, not that the flood is free.',
      ],
      samples: { n, floodLines, micros: s, ...flood },
    }
  } finally {
    await cleanup.run()
  }
}
