/**
 * Timing histograms of a client: how long checkouts wait, calls run and workers are held. Each is a
 * `perf_hooks` HDR histogram (recording is a native call that allocates nothing) with the
 * nanoseconds of each sample, plus a handful of fixed buckets and an exact sum for Prometheus,
 * whose histograms are cumulative counts at fixed bounds that an HDR histogram cannot give exactly.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks'

/** One histogram of `client.stats()`, in milliseconds. All zeros while `count` is 0. */
export interface TimingStats {
  /** Samples recorded. */
  count: number
  /** The smallest sample, ms (0 when there is none). */
  min: number
  /** The largest sample, ms (0 when there is none). */
  max: number
  /** The mean, ms (0 when there is none). */
  mean: number
  /** The median, ms. */
  p50: number
  /** The 90th percentile, ms. */
  p90: number
  /** The 99th percentile, ms. */
  p99: number
  /** The 99.9th percentile, ms. */
  p999: number
}

/** The upper bounds of the Prometheus buckets, in seconds (the `+Inf` bucket is implied). */
export const bucketBounds: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]

/** What a Prometheus histogram needs: cumulative counts at `bucketBounds`, the count and the sum (seconds). */
export interface TimingBuckets {
  /** `cumulative[i]` samples were ≤ `bucketBounds[i]`. */
  cumulative: number[]
  count: number
  sum: number
}

const boundsNs = Float64Array.from(bucketBounds, (s) => s * 1e9)
/** Samples beyond this (about 104 days in ns) are recorded as this: the HDR histogram would drop them. */
const highestNs = Number.MAX_SAFE_INTEGER

/** One timing: an HDR histogram of nanoseconds, its fixed buckets and its sum. */
export class Timing {
  readonly #histogram: RecordableHistogram = createHistogram({ lowest: 1, highest: highestNs, figures: 3 })
  /** Samples per bucket (not cumulative); the last slot is `+Inf`. */
  readonly #buckets = new Float64Array(boundsNs.length + 1)
  #sumNs = 0

  /** Records a duration in milliseconds (fractions welcome); negative or zero counts as 1 ns. */
  record(ms: number): void {
    let ns = Math.round(ms * 1e6)
    if (!(ns >= 1)) ns = 1
    else if (ns > highestNs) ns = highestNs
    this.#histogram.record(ns)
    this.#sumNs += ns
    let i = 0
    while (i < boundsNs.length && ns > boundsNs[i]!) i++
    this.#buckets[i]!++
  }

  get count(): number {
    return this.#histogram.count
  }

  stats(): TimingStats {
    const h = this.#histogram
    if (h.count === 0) return { count: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 }
    return {
      count: h.count,
      min: h.min / 1e6,
      max: h.max / 1e6,
      mean: h.mean / 1e6,
      p50: h.percentile(50) / 1e6,
      p90: h.percentile(90) / 1e6,
      p99: h.percentile(99) / 1e6,
      p999: h.percentile(99.9) / 1e6,
    }
  }

  buckets(): TimingBuckets {
    const cumulative: number[] = []
    let running = 0
    for (let i = 0; i < boundsNs.length; i++) cumulative.push((running += this.#buckets[i]!))
    return { cumulative, count: running + this.#buckets[boundsNs.length]!, sum: this.#sumNs / 1e9 }
  }
}

/** The three timings of a client, made only when `recordTiming` is on. */
export class ClientTimings {
  /** From `checkout()` to the grant of a worker. */
  readonly wait = new Timing()
  /** From a call reaching the worker's turn (sent, or the call before it answered) to its outcome. */
  readonly run = new Timing()
  /** From the grant to the worker's return: released, and its calls settled. */
  readonly hold = new Timing()
}
