/**
 * What observability costs the checkout cycle (issue 17): the cycle of workload 2 (checkout → one
 * call → release, sequential, warm pool) timed in the same rounds
 * - with the client of another commit (`--baseline REF`, e.g. the commit before tracing and
 *   histograms landed): what the change costs with no subscriber;
 * - with the current client and no diagnostics_channel subscriber (histograms on, the default);
 * - with the current client and `recordTiming: false`: what the histograms cost;
 * - with the same current client while one subscriber listens to every forkd channel (no-op
 *   handlers: the cost is forkd's context objects and TracingChannel's promise chain, not the
 *   subscriber's own work).
 * Each client has its own worker process on one server.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { Client, channelNames } from '@forkd/client'
import { loadBaselineClient } from '../lib/baseline-client.js'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { checkoutCallRelease } from '../lib/contenders.js'
import { startForkdServer } from '../lib/forkd.js'
import { interleave, median, medianRatio, microsPerOp, ratios, warmUp } from '../lib/stats.js'
import { fmt } from '../report.js'

const payload = '0123456789abcdef'

/** `+0.4 %`: a time ratio as the overhead it means. */
const overhead = (ratio: number) => (Number.isFinite(ratio) ? `${ratio >= 1 ? '+' : '−'}${Math.abs((ratio - 1) * 100).toFixed(1)} %` : 'n/a')

/** One subscriber on every forkd channel, with handlers that do nothing; returns its unsubscribe. */
function subscribeEverywhere(): () => void {
  const noop = () => {}
  const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop }
  const checkout = diagnosticsChannel.tracingChannel(channelNames.checkout)
  const call = diagnosticsChannel.tracingChannel(channelNames.call)
  checkout.subscribe(handlers)
  call.subscribe(handlers)
  diagnosticsChannel.subscribe(channelNames.workerConnect, noop)
  diagnosticsChannel.subscribe(channelNames.workerRemove, noop)
  return () => {
    checkout.unsubscribe(handlers)
    call.unsubscribe(handlers)
    diagnosticsChannel.unsubscribe(channelNames.workerConnect, noop)
    diagnosticsChannel.unsubscribe(channelNames.workerRemove, noop)
  }
}

export async function observability(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(10_000, 2_000)
  const rounds = ctx.rounds(9, 3)
  const cleanup = new Cleanup()
  try {
    const ref = ctx.options.baseline
    const Baseline = ref === undefined ? undefined : (await loadBaselineClient(ref, ctx.dir)).Client
    const server = cleanup.add(await startForkdServer(ctx, { spares: 4, name: 'o' }), (s) => s.stop())
    const make = (C: typeof Client, options: { recordTiming?: boolean } = {}) =>
      cleanup.add(new C({ connect: server.path, minWorkers: 1, maxWorkers: 1, ...options }), (c) => c.close())
    const baseline = Baseline === undefined ? undefined : make(Baseline as typeof Client)
    const current = make(Client)
    const untimed = make(Client, { recordTiming: false })
    const cycle = (client: Client) => checkoutCallRelease(client, payload)
    const contenders = {
      baseline: baseline && (() => microsPerOp(n, cycle(baseline))),
      current: () => microsPerOp(n, cycle(current)),
      untimed: () => microsPerOp(n, cycle(untimed)),
      traced: async () => {
        const unsubscribe = subscribeEverywhere()
        try {
          return await microsPerOp(n, cycle(current))
        } finally {
          unsubscribe()
        }
      },
    }
    await warmUp(contenders)
    const s = ctx.attempts.pool('rounds', await interleave(rounds, contenders, (r) => ctx.log(`observability: round ${r}/${rounds} (${n} iterations each)`)))
    const sampled = current.stats()
    return {
      name: 'observability',
      title: 'observability: tracing and histograms in the checkout cycle',
      rows: [
        { metric: `µs per iteration, client of ${ref ?? '(no --baseline)'}, no subscriber (${n.toLocaleString('en-US')})`, forkd: fmt.micros(median(s.baseline)) },
        { metric: 'µs per iteration, this client, no subscriber (histograms on)', forkd: fmt.micros(median(s.current)) },
        { metric: 'µs per iteration, this client, recordTiming: false', forkd: fmt.micros(median(s.untimed)) },
        { metric: 'µs per iteration, this client, one subscriber on every channel', forkd: fmt.micros(median(s.traced)) },
      ],
      checks: [
        roundsCheck(`no subscriber: ≤ 1 % over the client of ${ref ?? 'the baseline'}`, ratios(s.current, s.baseline), { side: 'atMost', limit: 1.01 }, overhead),
        roundsCheck('one subscriber: ≤ 10 % over none', ratios(s.traced, s.current), { side: 'atMost', limit: 1.1 }, overhead),
      ],
      notes: [
        `histograms (recordTiming) cost ${overhead(medianRatio(s.current, s.untimed))} against recordTiming: false; recordTiming: false against the baseline: ${overhead(medianRatio(s.untimed, s.baseline))}.`,
        `the current client's own histograms over the run: waitTime p50 ${fmt.micros((sampled.waitTime?.p50 ?? NaN) * 1000)}, runTime p50 ${fmt.micros((sampled.runTime?.p50 ?? NaN) * 1000)}, holdTime p50 ${fmt.micros((sampled.holdTime?.p50 ?? NaN) * 1000)} (${sampled.runTime?.count ?? 0} calls).`,
        'each client has its own worker process on one server; the subscriber is toggled around its own contender only, on the same client as "no subscriber".',
      ],
      samples: { n, microsPerIteration: s },
    }
  } finally {
    await cleanup.run()
  }
}
