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

/** Median of the per-round ratios a[i] / b[i]: survives drift of the machine between rounds. */
export function medianRatio(a: readonly number[], b: readonly number[]): number {
  const ratios: number[] = []
  for (let i = 0; i < Math.min(a.length, b.length); i++) ratios.push(a[i]! / b[i]!)
  return median(ratios)
}

/**
 * Runs every contender once per round, in the given order (A B C A B C ...), and returns each
 * contender's value per round. `onRound` reports progress.
 */
export async function interleave<K extends string>(
  rounds: number,
  contenders: Record<K, () => Promise<number>>,
  onRound?: (round: number) => void,
): Promise<Record<K, number[]>> {
  const names = Object.keys(contenders) as K[]
  const out = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>
  for (let round = 0; round < rounds; round++) {
    onRound?.(round + 1)
    for (const name of names) out[name].push(await contenders[name]())
  }
  return out
}

/** Runs `op` n times, each awaited before the next; returns microseconds per operation. */
export async function microsPerOp(n: number, op: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < n; i++) await op()
  return ((performance.now() - start) * 1000) / n
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
