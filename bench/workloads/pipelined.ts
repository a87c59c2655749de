/**
 * Workload 3: one checkout, 10 000 calls issued at once (messages/s). forkd batches per tick; the
 * raw ws baseline sends one frame per message; the raw Unix socket baseline (no WebSocket, a length
 * prefix per CBOR message) sends every call of a tick in one write, the floor of pipelining.
 * workerpool and piscina get one worker.
 */
import { startRawSocket } from '../baselines/raw-socket.js'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { notePlacement } from '../lib/processes.js'
import { burstRate, interleave, median, medianRatio, ratios, warmUp } from '../lib/stats.js'
import { fmt } from '../report.js'

const payload = '0123456789abcdef'

export async function pipelined(ctx: BenchContext): Promise<WorkloadResult> {
  const n = 10_000
  const rounds = ctx.rounds(7, 3)
  const cleanup = new Cleanup()
  try {
    const { client, raw, workerpool, piscina } = await startContenders(ctx, cleanup, { workers: 1, raw: true, workerpool: true, piscina: true })
    const socket = ctx.options.forkdOnly ? undefined : cleanup.add(await startRawSocket(ctx), (s) => s.stop())
    if (socket !== undefined) notePlacement('raw socket peer', socket.peer.pid!)
    const c = cleanup.add(await client.checkout(), (c) => c.release())
    const contenders = {
      forkd: () => burstRate(n, () => c.echo(payload)),
      raw: raw && (() => burstRate(n, () => raw.client.echo(payload))),
      socket: socket && (() => burstRate(n, () => socket.client.echo(payload))),
      workerpool: workerpool && (() => burstRate(n, () => workerpool.echo(payload))),
      piscina: piscina && (() => burstRate(n, () => piscina.echo(payload))),
    }
    await warmUp(contenders)
    const s = ctx.attempts.pool('rounds', await interleave(rounds, contenders, (r) => ctx.log(`pipelined: round ${r}/${rounds}`)))
    return {
      name: 'pipelined',
      title: '3 pipelined',
      rows: [
        {
          metric: `calls/s, ${n.toLocaleString('en-US')} issued at once in one checkout; raw ws: one frame per message`,
          forkd: fmt.rate(median(s.forkd)),
          raw: fmt.rate(median(s.raw)),
          workerpool: fmt.rate(median(s.workerpool)),
          piscina: fmt.rate(median(s.piscina)),
        },
        {
          metric: 'raw column: a raw Unix socket, CBOR with a length prefix, every call of a tick in one write each way (no WebSocket)',
          raw: fmt.rate(median(s.socket)),
        },
      ],
      checks: [roundsCheck('msgs/s ≥ 3× raw ws (one frame per message)', ratios(s.forkd, s.raw), { side: 'atLeast', limit: 3 }, fmt.ratio, { suffix: ' raw' })],
      notes: [
        `forkd ÷ the coalescing raw socket ${fmt.ratio(medianRatio(s.forkd, s.socket))}; ÷ workerpool ${fmt.ratio(medianRatio(s.forkd, s.workerpool))}, ÷ piscina ${fmt.ratio(medianRatio(s.forkd, s.piscina))} in calls/s.`,
      ],
      samples: { n, callsPerSecond: s },
    }
  } finally {
    await cleanup.run()
  }
}
