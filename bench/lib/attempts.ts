/**
 * The values of a workload's repeated attempts, pooled (GitHub issue 20). When a check is noisy the
 * runner runs the workload again; the workload passes every series it measured through
 * `pool(key, series)`, which appends it to what earlier attempts measured under the same key, so its
 * rows, checks and charts all come from every round of every attempt.
 */

/** Named series of values, e.g. `{ forkd: [...], raw: [...] }` (one value per round). */
export type Series = Record<string, number[]>

/** `later` appended to `earlier`, name by name; a name only one side has is kept as it is. */
export function mergeSeries<T extends Series>(earlier: T, later: T): T {
  const out: Series = {}
  for (const name of new Set([...Object.keys(earlier), ...Object.keys(later)])) out[name] = [...(earlier[name] ?? []), ...(later[name] ?? [])]
  return out as T
}

export class AttemptPool {
  readonly #pooled = new Map<string, Series>()
  #attempt = 1

  /** 1 for the first run of the workload, 2 for the first repeat... */
  get attempt(): number {
    return this.#attempt
  }

  /** Starts the next attempt: values pooled so far stay. */
  next(): void {
    this.#attempt++
  }

  /** `series` appended to what earlier attempts pooled under `key`; kept for the next attempt. */
  pool<T extends Series>(key: string, series: T): T {
    const earlier = this.#pooled.get(key) as T | undefined
    const merged = earlier === undefined ? mergeSeries({} as T, series) : mergeSeries(earlier, series)
    this.#pooled.set(key, merged)
    return merged
  }
}
