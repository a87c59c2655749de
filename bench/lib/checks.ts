/**
 * Target checks: what a workload claims, and how the report and the runner judge it. A check whose
 * figure varies from round to round carries every per-round value (of every attempt, when the
 * workload was repeated: bench/lib/attempts.ts), so that its spread can be shown (bench/lib/verdict.ts).
 */
import { judge, type Goal, type Judgement } from './verdict.js'

/** A check with an exact outcome, such as a count of errors: no noise to judge. */
export interface ExactCheck {
  kind: 'exact'
  target: string
  measured: string
  /** undefined: not applicable in this run (e.g. a baseline did not run). */
  pass: boolean | undefined
}

/** A check judged from values that vary from round to round (ratios of the same round, or samples). */
export interface RoundsCheck {
  kind: 'rounds'
  target: string
  values: number[]
  goal: Goal
  /** Formats one value: `fmt.ratio`, `fmt.ms`... */
  show: (value: number) => string
  /** Text after the median, e.g. ' raw' in '1.12× raw'. */
  suffix: string
  /** What one value is, for the report: 'rounds' or 'samples'. */
  unit: 'rounds' | 'samples'
}

export type TargetCheck = ExactCheck | RoundsCheck

export function exactCheck(target: string, measured: string, pass: boolean | undefined): ExactCheck {
  return { kind: 'exact', target, measured, pass }
}

export function roundsCheck(
  target: string,
  values: readonly number[],
  goal: Goal,
  show: (value: number) => string,
  options: { suffix?: string; unit?: 'rounds' | 'samples' } = {},
): RoundsCheck {
  return { kind: 'rounds', target, values: [...values], goal, show, suffix: options.suffix ?? '', unit: options.unit ?? 'rounds' }
}

/** A check as the report shows it. */
export interface JudgedCheck {
  target: string
  /** The median (or the exact outcome). */
  measured: string
  /** `1.05×–1.31× (7 rounds, 98%)`, or '' for an exact check. */
  spread: string
  verdict: Judgement['verdict']
  medianPasses: boolean | undefined
}

export function judgeCheck(check: TargetCheck): JudgedCheck {
  if (check.kind === 'exact') {
    const verdict = check.pass === undefined ? 'n/a' : check.pass ? 'pass' : 'fail'
    return { target: check.target, measured: check.measured, spread: '', verdict, medianPasses: check.pass }
  }
  const j = judge(check.values, check.goal)
  if (j.verdict === 'n/a') return { target: check.target, measured: 'n/a', spread: '', verdict: 'n/a', medianPasses: undefined }
  const confidence = j.count > 1 ? `, ${Math.floor(j.confidence * 100)}%` : ''
  return {
    target: check.target,
    measured: `${check.show(j.median)}${check.suffix}`,
    spread: `${check.show(j.low)} – ${check.show(j.high)} (${j.count} ${j.count === 1 ? check.unit.slice(0, -1) : check.unit}${confidence})`,
    verdict: j.verdict,
    medianPasses: j.medianPasses,
  }
}
