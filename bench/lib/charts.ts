/**
 * The charts of docs/benchmarks.md as vega-lite specifications, built from a run's own figures
 * (the workloads call these with their samples; bench/lib/render-svg.ts turns them into SVG).
 */
import type { TopLevelSpec } from 'vega-lite'
import type { Chart } from './context.js'
import { median } from './stats.js'

const schema = 'https://vega.github.io/schema/vega-lite/v6.json'
/** One colour per contender in every chart. */
const palette: Record<string, string> = {
  forkd: '#1f77b4',
  'forkd, production': '#1f77b4',
  'forkd, default options': '#17becf',
  raw: '#2ca02c',
  'raw ws+CBOR': '#2ca02c',
  workerpool: '#ff7f0e',
  piscina: '#9467bd',
}
const colourOf = (names: readonly string[]) => ({
  domain: [...names],
  range: names.map((n, i) => palette[n] ?? ['#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'][i % 4]!),
})
const config = { font: 'sans-serif', title: { anchor: 'start' as const, offset: 10 }, view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } }

export interface SurgeSeries {
  workers: number
  counts: readonly number[]
  /** contender → per count → seconds per round */
  seconds: Record<string, readonly (readonly number[])[]>
}

/**
 * Surge time against its size, one panel per worker count: medians with the range of rounds, and
 * the dashed line through the origin that fits them best, so linear growth shows as lines that coincide.
 */
export function surgeChart(series: readonly SurgeSeries[]): Chart {
  const values: Record<string, unknown>[] = []
  const contenders = new Set<string>()
  for (const s of series) {
    for (const [contender, perCount] of Object.entries(s.seconds)) {
      if (perCount.every((rounds) => rounds.length === 0)) continue
      contenders.add(contender)
      // the line through the origin closest to the medians (least squares): linear growth lies on it
      const medians = perCount.map((rounds) => median(rounds))
      const slope = s.counts.reduce((sum, c, i) => sum + c * medians[i]!, 0) / s.counts.reduce((sum, c) => sum + c * c, 0)
      s.counts.forEach((count, i) => {
        const rounds = perCount[i] ?? []
        values.push({
          panel: `${s.workers} workers`, contender, count, kind: 'measured',
          seconds: median(rounds), low: Math.min(...rounds), high: Math.max(...rounds),
        })
        values.push({ panel: `${s.workers} workers`, contender, count, kind: 'linear', seconds: slope * count })
      })
    }
  }
  const x = { field: 'count', type: 'quantitative', title: 'checkouts (calls) issued at once', scale: { zero: true }, axis: { format: '~s' } } as const
  const color = { field: 'contender', type: 'nominal', title: null, scale: colourOf([...contenders]) } as const
  const spec: TopLevelSpec = {
    $schema: schema,
    title: { text: 'Surge: time to finish every checkout', subtitle: 'median of rounds, bars: fastest to slowest round; dashed: the best line through the origin (linear growth)' },
    data: { values },
    facet: { column: { field: 'panel', type: 'nominal', title: null } },
    spec: {
      width: 280,
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'linear'" }],
          mark: { type: 'line', strokeDash: [4, 3], opacity: 0.55 },
          encoding: { x, y: { field: 'seconds', type: 'quantitative' }, color },
        },
        {
          transform: [{ filter: "datum.kind === 'measured'" }],
          mark: { type: 'line', point: true },
          encoding: { x, y: { field: 'seconds', type: 'quantitative', title: 'seconds', scale: { zero: true } }, color },
        },
        {
          transform: [{ filter: "datum.kind === 'measured'" }],
          mark: { type: 'rule' },
          encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color },
        },
      ],
    },
    config,
  }
  return { file: 'surge.svg', alt: 'Surge time against the number of checkouts for forkd, workerpool and piscina, 2 and 4 workers', spec }
}

/** Probabilities at which a latency distribution is drawn: the body in 1% steps, the tail finer. */
const cdfPoints = [0.1, 0.5, ...Array.from({ length: 99 }, (_, i) => i + 1), 99.5, 99.8, 99.9]

function quantile(sorted: readonly number[], p: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/**
 * Latency distributions (each call's own time, every round pooled) as cumulative curves on a log
 * time axis: the further left and the steeper, the better; the raw transport is the floor.
 */
export function latencyChart(file: string, title: string, samples: Record<string, readonly number[]>): Chart {
  const values: Record<string, unknown>[] = []
  const names: string[] = []
  for (const [contender, list] of Object.entries(samples)) {
    if (list.length === 0) continue
    names.push(contender)
    const sorted = [...list].sort((a, b) => a - b)
    for (const p of cdfPoints) values.push({ contender, micros: quantile(sorted, p), fraction: p / 100 })
  }
  const counts = names.map((n) => `${n} ${samples[n]!.length.toLocaleString('en-US')}`).join(', ')
  const spec: TopLevelSpec = {
    $schema: schema,
    title: { text: title, anchor: 'start', subtitle: `share of calls done within a time (p0.1 to p99.9); calls: ${counts}` },
    data: { values },
    width: 520,
    height: 260,
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'micros', type: 'quantitative', title: 'µs per call (log scale)', scale: { type: 'log', nice: false }, axis: { labelOverlap: 'greedy', labelSeparation: 6 } },
      y: { field: 'fraction', type: 'quantitative', title: 'share of calls', axis: { format: '%' } },
      color: { field: 'contender', type: 'nominal', title: null, scale: colourOf(names) },
    },
    config,
  }
  return { file, alt: title, spec }
}

export interface FreshSeries {
  /** label → per-round rate (/s) */
  rates: Record<string, readonly number[]>
  /** The target: this fraction of the rate named `of`. */
  target: { of: string; fraction: number }
  /** label → CPU ms per start, per measurement */
  cpuMs: Record<string, readonly number[]>
}

/** Fresh workers per second next to plain node starts (with the target), and the CPU one start costs. */
export function freshChart(series: FreshSeries): Chart {
  const rateValues = Object.entries(series.rates).flatMap(([what, rounds]) => rounds.map((rate, round) => ({ what, rate, round: round + 1 })))
  const targetRate = series.target.fraction * median(series.rates[series.target.of] ?? [])
  const cpuValues = Object.entries(series.cpuMs).flatMap(([what, list]) => list.map((ms) => ({ what, ms })))
  const bars = (field: string, title: string, values: Record<string, unknown>[]) => ({
    data: { values },
    width: 300,
    height: 24 * new Set(values.map((v) => v.what)).size,
    layer: [
      {
        mark: { type: 'bar', color: '#9ecae1' },
        encoding: {
          y: { field: 'what', type: 'nominal', title: null, sort: null, axis: { labelLimit: 260 } },
          x: { aggregate: 'median', field, type: 'quantitative', title },
        },
      },
      {
        mark: { type: 'tick', color: '#08519c', thickness: 2 },
        encoding: { y: { field: 'what', type: 'nominal', sort: null }, x: { field, type: 'quantitative' } },
      },
    ],
  })
  const rates = bars('rate', 'per second (bar: median, ticks: rounds)', rateValues)
  const withTarget = {
    ...rates,
    layer: [
      ...rates.layer,
      {
        data: { values: [{ rate: targetRate, label: `target: ${series.target.fraction} ×` }] },
        layer: [
          { mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] }, encoding: { x: { field: 'rate', type: 'quantitative' } } },
          {
            mark: { type: 'text', color: '#d62728', align: 'right', dx: -3, dy: -4, baseline: 'bottom' },
            encoding: { x: { field: 'rate', type: 'quantitative' }, text: { field: 'label' }, y: { value: 0 } },
          },
        ],
      },
    ],
  }
  const spec = {
    $schema: schema,
    title: { text: 'Fresh worker per checkout (maxCheckouts: 1)', subtitle: 'sustained fresh checkouts against plain node process starts; CPU time (user + sys) of one start' },
    vconcat: [withTarget, bars('ms', 'CPU ms per start (bar: median, ticks: measurements)', cpuValues)],
    config,
  } as TopLevelSpec
  return { file: 'fresh-workers.svg', alt: 'Fresh worker checkouts per second against plain node process starts, and the CPU time of one start', spec }
}
