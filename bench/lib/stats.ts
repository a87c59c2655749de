/** Timing loops, interleaved rounds and the statistics the report uses. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Nearest-rank percentile, `p` in 0..100. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

/** The per-round ratios a[i] / b[i] (empty when either contender did not run). */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = []
  for (let i = 0; i < Math.min(a.length, b.length); i++) out.push(a[i]! / b[i]!)
  return out
}

/** Median of the per-round ratios a[i] / b[i]: survives drift of the machine between rounds. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  return median(ratios(a, b))
}

/** A measurement of one contender, or undefined when it is not running (--forkd-only). */
export type Measure = (() => Promise<number>) | undefined

/**
 * Runs every contender once per round, in the given order (A B C A B C ...), and returns each
 * contender's value per round (an empty list for a contender that is not running). `onRound`
 * reports progress.
 */
export async function interleave<K extends string>(
  rounds: number,
  contenders: Record<K, Measure>,
  onRound?: (round: number) => void,
): Promise<Record<K, number[]>> {
  const names = Object.keys(contenders) as K[]
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>
  for (let round = 0; round < rounds; round++) {
    onRound?.(round + 1)
    for (const name of names) {
      const measure = contenders[name]
      if (measure !== undefined) out[name].push(await measure())
    }
  }
  return out
}

/** Runs each present contender once, untimed, so every code path is warm before round 1. */
export async function warmUp(contenders: Record<string, Measure>): Promise<void> {
  for (const measure of Object.values(contenders)) if (measure !== undefined) await measure()
}

/**
 * Runs `op` n times, each awaited before the next; returns microseconds per operation. With
 * `latencies`, also appends each operation's own time in µs: one clock read per operation (the end
 * of one is the start of the next, ~60 ns on a ~100 µs call), paid alike by every contender.
 */
export async function microsPerOp(n: number, op: () => Promise<unknown>, latencies?: number[]): Promise<number> {
  const start = performance.now()
  if (latencies === undefined) {
    for (let i = 0; i < n; i++) await op()
    return ((performance.now() - start) * 1000) / n
  }
  let previous = start
  for (let i = 0; i < n; i++) {
    await op()
    const now = performance.now()
    latencies.push((now - previous) * 1000)
    previous = now
  }
  return ((previous - start) * 1000) / n
}

/** Issues n operations at once and waits for all; returns operations per second. */
export async function burstRate(n: number, op: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  const all: Promise<unknown>[] = new Array(n)
  for (let i = 0; i < n; i++) all[i] = op()
  await Promise.all(all)
  return n / ((performance.now() - start) / 1000)
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
