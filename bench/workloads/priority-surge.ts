/**
 * Workload: a surge of checkouts with random priorities next to the same surge at priority 0 (the
 * FIFO case of the surge workload), interleaved in the same run, at three counts that double
 * (10 000, 20 000, 40 000). Each checkout makes one call and releases. The priorities are drawn
 * from a range of a million, so nearly every checkout has a priority of its own: the worst case for
 * the queue's heap of priorities (O(log p) per grant). Reports checkouts/s, the cost of priorities
 * against FIFO, the time ratio of each doubling (2.0 = linear), and whether every grant from the
 * queue came in priority order.
 */
import type { Client } from '@forkd/client'
import { Cleanup } from '../lib/cleanup.js'
import { exactCheck, roundsCheck, type TargetCheck } from '../lib/checks.js'
import type { BenchContext, ResultRow, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { median, medianRatio, ratios } from '../lib/stats.js'
import { fmt } from '../report.js'

const payload = '0123456789abcdef'
const workers = 2
const priorityRange = 1_000_000

interface Trial {
  seconds: number
  errors: number
  firstError: string | undefined
  /** Grants after the first `workers` (those found idle workers) whose priority was above the previous one's. */
  outOfOrder: number
}

/** Issues `n` checkouts at once, with `priorityOf(i)`; records the priority of each grant in order. */
async function surge(client: Client, n: number, priorityOf: (i: number) => number): Promise<Trial> {
  let errors = 0
  let firstError: string | undefined
  const granted: number[] = []
  const all: Promise<void>[] = new Array(n)
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const priority = priorityOf(i)
    all[i] = client.checkout({ priority }).then(
      async (c) => {
        granted.push(priority)
        try {
          await c.echo(payload)
        } finally {
          c.release()
        }
      },
      (error: unknown) => {
        errors++
        firstError ??= `${(error as Error)?.name}: ${(error as Error)?.message}`
      },
    )
  }
  await Promise.all(all)
  const seconds = (performance.now() - start) / 1000
  // Every checkout was queued before the first release, so after the ones granted at once the
  // grants must come in non-increasing priority.
  let outOfOrder = 0
  for (let i = workers + 1; i < granted.length; i++) if (granted[i]! > granted[i - 1]!) outOfOrder++
  return { seconds, errors, firstError, outOfOrder }
}

const randomPriority = () => Math.floor(Math.random() * priorityRange) - priorityRange / 2

export async function prioritySurge(ctx: BenchContext): Promise<WorkloadResult> {
  const counts = ctx.pick([10_000, 20_000, 40_000], [2_000, 4_000, 8_000])
  const rounds = ctx.rounds(3, 2)
  const rows: ResultRow[] = []
  const checks: TargetCheck[] = []
  const notes: string[] = []
  const cleanup = new Cleanup()
  const t = { fifo: counts.map(() => [] as number[]), random: counts.map(() => [] as number[]) }
  let errors = 0
  let firstError: string | undefined
  let outOfOrder = 0
  try {
    const { client } = await startContenders(ctx, cleanup, { workers })
    // Warm-up: one surge of each kind at the smallest count, so round 1 does not time the JIT.
    await surge(client, counts[0]!, () => 0)
    await surge(client, counts[0]!, randomPriority)
    for (let round = 1; round <= rounds; round++) {
      ctx.log(`priority: round ${round}/${rounds} (${counts.join(', ')}; FIFO, then random priorities)`)
      for (const [i, n] of counts.entries()) {
        for (const [kind, priorityOf] of [['fifo', () => 0], ['random', randomPriority]] as const) {
          const trial = await surge(client, n, priorityOf)
          errors += trial.errors
          firstError ??= trial.firstError
          if (kind === 'random') outOfOrder += trial.outOfOrder
          t[kind][i]!.push(trial.seconds)
        }
      }
      const stats = client.stats()
      if (stats.pending !== 0 || stats.busy !== 0) notes.push(`after round ${round} the pool still had ${stats.pending} pending and ${stats.busy} busy.`)
    }
  } finally {
    await cleanup.run()
  }
  // pooled with earlier attempts when the runner repeats this workload (bench/lib/attempts.ts)
  const pooled = counts.map((n, i) => ctx.attempts.pool(`priority ${n}`, { fifo: t.fifo[i]!, random: t.random[i]! }))
  t.fifo = pooled.map((p) => p.fifo)
  t.random = pooled.map((p) => p.random)
  const failures = ctx.attempts.pool('priority errors', { errors: [errors], outOfOrder: [outOfOrder] })
  errors = failures.errors.reduce((a, b) => a + b, 0)
  outOfOrder = failures.outOfOrder.reduce((a, b) => a + b, 0)

  const rate = (seconds: number[], n: number) => median(seconds.map((s) => n / s))
  for (const [i, n] of counts.entries()) {
    const count = n.toLocaleString('en-US')
    rows.push(
      { metric: `surge of ${count} at priority 0 (FIFO), ${workers} workers: checkouts/s`, forkd: fmt.rate(rate(t.fifo[i]!, n)) },
      { metric: `surge of ${count} with random priorities, ${workers} workers: checkouts/s`, forkd: fmt.rate(rate(t.random[i]!, n)) },
      { metric: `surge of ${count}: time with random priorities / FIFO`, forkd: fmt.ratio(medianRatio(t.random[i]!, t.fifo[i]!)) },
    )
  }
  const doublings = counts.slice(1).map((_, i) => ({
    label: `${counts[i]! / 1000}k→${counts[i + 1]! / 1000}k`,
    fifo: medianRatio(t.fifo[i + 1]!, t.fifo[i]!),
    random: medianRatio(t.random[i + 1]!, t.random[i]!),
    rounds: ratios(t.random[i + 1]!, t.random[i]!),
  }))
  for (const d of doublings) {
    rows.push(
      { metric: `time ratio ${d.label}, priority 0 (2.0 = linear, 4.0 = quadratic)`, forkd: fmt.ratio(d.fifo) },
      { metric: `time ratio ${d.label}, random priorities (2.0 = linear, 4.0 = quadratic)`, forkd: fmt.ratio(d.random) },
    )
  }
  const mid = counts.length >> 1
  checks.push(
    exactCheck('zero errors (default timeout)', `${errors} errors${firstError ? ` (first: ${firstError})` : ''}`, errors === 0),
    exactCheck('every grant from the queue in priority order', `${outOfOrder} out of order`, outOfOrder === 0),
    ...doublings.map((d) => roundsCheck(`doubling ${d.label} ≤ 2.2× time, random priorities`, d.rounds, { side: 'atMost', limit: 2.2 }, fmt.ratio)),
    roundsCheck(
      `random priorities ≤ 1.5× the time of FIFO (${counts[mid]!.toLocaleString('en-US')})`,
      ratios(t.random[mid]!, t.fifo[mid]!),
      { side: 'atMost', limit: 1.5 },
      fmt.ratio,
      { suffix: ' FIFO' },
    ),
  )
  notes.unshift(`each surge issues every checkout at once on a warm client (minWorkers = maxWorkers = ${workers}); FIFO and random-priority surges alternate in each round; ` +
    `priorities are drawn from a range of ${priorityRange.toLocaleString('en-US')} (nearly one per checkout, the worst case for the heap of priorities); rates are medians over rounds, ratios medians of per-round ratios.`)
  return { name: 'priority', title: '4b priority surge', rows, checks, notes, samples: { counts, seconds: t, errors, outOfOrder } }
}
