/**
 * Workload 4: a surge of checkouts issued at once (each: one call, then release), with maxWorkers
 * 2 and 4, at three counts that double (10 000, 20 000, 40 000) to show how time grows with the
 * count. Reports errors, checkouts/s and the time ratio of each doubling; workerpool (and piscina)
 * get the same surge of calls with the same number of workers.
 */
import type { Client } from '@forkd/client'
import { surgeChart, type SurgeSeries } from '../lib/charts.js'
import { exactCheck, roundsCheck, type TargetCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, ResultRow, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { median, medianRatio, ratios } from '../lib/stats.js'
import { anyEventTask, fmt } from '../report.js'

const payload = '0123456789abcdef'

interface Trial {
  seconds: number
  errors: number
  firstError: string | undefined
}

async function surge(n: number, one: () => Promise<unknown>): Promise<Trial> {
  let errors = 0
  let firstError: string | undefined
  const all: Promise<void>[] = new Array(n)
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    all[i] = one().then(
      () => undefined,
      (error: unknown) => {
        errors++
        firstError ??= `${(error as Error)?.name}: ${(error as Error)?.message}`
      },
    )
  }
  await Promise.all(all)
  return { seconds: (performance.now() - start) / 1000, errors, firstError }
}

function forkdSurge(client: Client, n: number): Promise<Trial> {
  return surge(n, async () => {
    const c = await client.checkout()
    try {
      await c.echo(payload)
    } finally {
      c.release()
    }
  })
}

export async function surgeWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const counts = ctx.pick([10_000, 20_000, 40_000], [2_000, 4_000, 8_000])
  const rounds = ctx.rounds(3, 2)
  const rows: ResultRow[] = []
  const checks: TargetCheck[] = []
  const notes: string[] = []
  const samples: Record<string, unknown> = { counts }
  const series: SurgeSeries[] = []
  for (const workers of [2, 4]) {
    const cleanup = new Cleanup()
    try {
      const { client, workerpool, piscina } = await startContenders(ctx, cleanup, { workers, workerpool: true, piscina: true })
      // per count: seconds per round, for each contender
      const t = { forkd: counts.map(() => [] as number[]), workerpool: counts.map(() => [] as number[]), piscina: counts.map(() => [] as number[]) }
      let errors = 0
      let baselineErrors = 0
      let firstError: string | undefined
      // Warm-up: a whole surge of the smallest count, so round 1 does not time the JIT.
      await forkdSurge(client, counts[0]!)
      if (workerpool !== undefined) await surge(counts[0]!, () => workerpool.echo(payload))
      if (piscina !== undefined) await surge(counts[0]!, () => piscina.echo(payload))
      for (let round = 1; round <= rounds; round++) {
        ctx.log(`surge: maxWorkers ${workers}, round ${round}/${rounds} (${counts.join(', ')})`)
        for (const [i, n] of counts.entries()) {
          const f = await forkdSurge(client, n)
          errors += f.errors
          firstError ??= f.firstError
          t.forkd[i]!.push(f.seconds)
          if (workerpool !== undefined) {
            const w = await surge(n, () => workerpool.echo(payload))
            t.workerpool[i]!.push(w.seconds)
            baselineErrors += w.errors
          }
          if (piscina !== undefined) {
            const p = await surge(n, () => piscina.echo(payload))
            t.piscina[i]!.push(p.seconds)
            baselineErrors += p.errors
          }
        }
        const stats = client.stats()
        if (stats.pending !== 0 || stats.busy !== 0) notes.push(`maxWorkers ${workers}: after round ${round} the pool still had ${stats.pending} pending and ${stats.busy} busy.`)
      }
      // pooled with earlier attempts: one series per count (seconds per round), and the error counts
      const pooled = counts.map((n, i) => ctx.attempts.pool(`${workers} workers, ${n}`, { forkd: t.forkd[i]!, workerpool: t.workerpool[i]!, piscina: t.piscina[i]! }))
      t.forkd = pooled.map((p) => p.forkd)
      t.workerpool = pooled.map((p) => p.workerpool)
      t.piscina = pooled.map((p) => p.piscina)
      const failures = ctx.attempts.pool(`${workers} workers, errors`, { forkd: [errors], baselines: [baselineErrors] })
      errors = failures.forkd.reduce((a, b) => a + b, 0)
      baselineErrors = failures.baselines.reduce((a, b) => a + b, 0)
      const rate = (seconds: number[], n: number) => median(seconds.map((s) => n / s))
      for (const [i, n] of counts.entries()) {
        rows.push({
          metric: `surge of ${n.toLocaleString('en-US')}, ${workers} workers: checkouts/s (calls/s)`,
          forkd: fmt.rate(rate(t.forkd[i]!, n)),
          workerpool: fmt.rate(rate(t.workerpool[i]!, n)),
          piscina: fmt.rate(rate(t.piscina[i]!, n)),
          reference: n === 20_000 ? `~${anyEventTask.surgeCheckoutsPerSecond}/s, quadratic` : undefined,
        })
      }
      const doublings = counts.slice(1).map((_, i) => ({
        label: `${counts[i]! / 1000}k→${counts[i + 1]! / 1000}k`,
        rounds: ratios(t.forkd[i + 1]!, t.forkd[i]!),
        forkd: medianRatio(t.forkd[i + 1]!, t.forkd[i]!),
        workerpool: medianRatio(t.workerpool[i + 1]!, t.workerpool[i]!),
        piscina: medianRatio(t.piscina[i + 1]!, t.piscina[i]!),
      }))
      for (const d of doublings)
        rows.push({
          metric: `time ratio ${d.label}, ${workers} workers (2.0 = linear, 4.0 = quadratic)`,
          forkd: fmt.ratio(d.forkd),
          workerpool: fmt.ratio(d.workerpool),
          piscina: fmt.ratio(d.piscina),
          reference: '~4× (quadratic)',
        })
      const mid = counts.length >> 1
      checks.push(
        exactCheck(`zero errors, ${workers} workers (default timeout)`, `${errors} errors${firstError ? ` (first in the last attempt: ${firstError})` : ''}`, errors === 0),
        ...doublings.map((d) => roundsCheck(`doubling ${d.label} ≤ 2.2× time, ${workers} workers`, d.rounds, { side: 'atMost', limit: 2.2 }, fmt.ratio)),
        roundsCheck(
          `checkouts/s ≥ 1.2× workerpool calls/s, ${workers} workers (${counts[mid]!.toLocaleString('en-US')})`,
          ratios(t.workerpool[mid]!, t.forkd[mid]!),
          { side: 'atLeast', limit: 1.2 },
          fmt.ratio,
          { suffix: ' workerpool' },
        ),
      )
      series.push({ workers, counts, seconds: t })
      if (baselineErrors > 0) notes.push(`maxWorkers ${workers}: the baselines had ${baselineErrors} errors.`)
      samples[`workers${workers}`] = { seconds: t, errors, baselineErrors }
    } finally {
      await cleanup.run()
    }
  }
  notes.unshift('each surge issues every checkout at once on a warm client (minWorkers = maxWorkers); rates are medians over rounds, time ratios medians of per-round ratios.')
  return { name: 'surge', title: '4 surge', rows, checks, notes, charts: [surgeChart(series)], samples }
}
