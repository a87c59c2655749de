/**
 * Verdicts that tell a miss from noise (GitHub issue 20). A check's figure is the median of its
 * per-round values (the ratio of two contenders timed in the same round, or single samples such as
 * checkout latencies). Its spread is the range that holds the true median with about 95%
 * confidence, read off the sorted values by order statistics (no assumption about the shape of the
 * noise): with up to 8 values it is the lowest to the highest, and it narrows as values are added.
 *
 * A check passes or fails only when the whole spread lies on one side of the target, that is when
 * the margin between the median and the target is wider than the spread on the target's side.
 * Otherwise it is noisy: the runner repeats the workload and pools the new rounds with the old.
 */

/** `atMost`: the figure must be ≤ limit (a time ratio); `atLeast`: ≥ limit (a rate ratio). */
export interface Goal {
  side: 'atMost' | 'atLeast'
  limit: number
}

export type Verdict = 'pass' | 'fail' | 'noisy' | 'n/a'

export interface MedianInterval {
  median: number
  /** Lower and upper end of the spread. */
  low: number
  high: number
  /** Probability that [low, high] holds the true median (1 - 2^(1-n) for n ≤ 5 values). */
  confidence: number
  /** How many finite values were judged. */
  count: number
}

export interface Judgement extends MedianInterval {
  verdict: Verdict
  /** Which side of the target the median is on (also for a noisy verdict). */
  medianPasses: boolean | undefined
}

/** Confidence the interval [x(k), x(n+1-k)] of n sorted values gives the median: 1 - 2·P(B ≤ k-1), B ~ Bin(n, ½). */
function coverage(n: number, k: number): number {
  let logP = -n * Math.LN2 // log P(B = 0)
  let below = 0
  for (let j = 0; j < k; j++) {
    below += Math.exp(logP)
    logP += Math.log((n - j) / (j + 1))
  }
  return 1 - 2 * below
}

/**
 * The median of `values` and the order-statistic interval around it with at least `level`
 * confidence (or the widest there is, lowest to highest, when too few values reach `level`).
 * Non-finite values (a baseline that did not run) are left out.
 */
export function medianInterval(values: readonly number[], level = 0.95): MedianInterval {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return { median: NaN, low: NaN, high: NaN, confidence: NaN, count: 0 }
  const mid = n >> 1
  const median = n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  let k = 1
  while (k + 1 <= n + 1 - (k + 1) && coverage(n, k + 1) >= level) k++
  return { median, low: sorted[k - 1]!, high: sorted[n - k]!, confidence: n === 1 ? 0 : coverage(n, k), count: n }
}

/** Pass or fail when the whole spread is on one side of the target; noisy when it straddles it. */
export function judge(values: readonly number[], goal: Goal): Judgement {
  const interval = medianInterval(values)
  if (interval.count === 0) return { ...interval, verdict: 'n/a', medianPasses: undefined }
  const passes = (v: number) => (goal.side === 'atMost' ? v <= goal.limit : v >= goal.limit)
  const lowPasses = passes(interval.low)
  const highPasses = passes(interval.high)
  const verdict: Verdict = lowPasses && highPasses ? 'pass' : !lowPasses && !highPasses ? 'fail' : 'noisy'
  return { ...interval, verdict, medianPasses: passes(interval.median) }
}
