/** What every workload receives, and what it gives back to the report. */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TopLevelSpec } from 'vega-lite'
import type { AttemptPool } from './attempts.js'
import type { TargetCheck } from './checks.js'
import type { BenchOptions, WorkloadName } from './options.js'

export interface BenchContext {
  options: BenchOptions
  /** Private temporary folder for sockets; removed at the end. Kept short: socket paths stop at 108 bytes. */
  dir: string
  /** Rounds for this workload: the --rounds override, or the workload's default for the mode. */
  rounds(full: number, quick: number): number
  /** Picks the full-run or the quick-run value. */
  pick<T>(full: T, quick: T): T
  /** Progress line on stderr (stdout carries only the table). */
  log(message: string): void
  /** A fresh socket path in `dir`. */
  socket(name: string): string
  /**
   * This workload's attempts: every series a workload measures goes through `attempts.pool(key,
   * series)`, so that a repeated workload reports every round of every attempt.
   */
  attempts: AttemptPool
}

export type Contender = 'forkd' | 'raw' | 'workerpool' | 'piscina' | 'other'

/** One line of the results table; cells are preformatted text. */
export interface ResultRow {
  metric: string
  forkd?: string
  raw?: string
  workerpool?: string
  piscina?: string
  /** AnyEvent::Task's figure measured on this machine earlier (static). */
  reference?: string
}

/** A chart the full run renders to docs/benchmarks/FILE (SVG) and embeds in docs/benchmarks.md. */
export interface Chart {
  /** File name without folder, e.g. 'surge.svg'. */
  file: string
  /** Alternative text: what the chart shows. */
  alt: string
  /** A vega-lite specification with the run's figures inlined. */
  spec: TopLevelSpec
}

export interface WorkloadResult {
  name: WorkloadName
  title: string
  rows: ResultRow[]
  checks: TargetCheck[]
  notes: string[]
  charts?: Chart[]
  /** Every per-round sample, for --json. */
  samples: Record<string, unknown>
}

/** Absolute path of a compiled file of the bench (`peers/raw-peer.js` → bench/dist/peers/raw-peer.js). */
export function benchFile(relative: string): string {
  return join(fileURLToPath(new URL('..', import.meta.url)), relative)
}
