/**
 * A steady checkout load for the multi-host tests: `concurrency` loops, each checking out, running
 * `work` and releasing, until stopped. Every checkout is recorded: when it was asked for, which
 * worker and which server served it, and how its work ended.
 */
import { ClientClosedError, type Checkout, type Client } from '@forkd/client'
import { procStat, waitFor } from './harness.js'

export interface CheckoutRecord {
  /** performance.now() when checkout() was called. */
  askedAt: number
  /** The worker's pid, once granted. */
  pid: number | undefined
  /** The worker's parent (its server) when granted. */
  server: number | undefined
  /** 'ok', or what the work rejected with. */
  outcome: 'ok' | Error | undefined
  /** What checkout() itself rejected with, if it did. */
  checkoutError: Error | undefined
  /** Set once the record is complete. */
  settled: boolean
}

export class CheckoutLoad {
  readonly records: CheckoutRecord[] = []
  readonly #loops: Promise<void>[] = []
  #running = true

  /**
   * Starts the loops. `cleanups` (run last first after the test) gets a step that stops them, so a
   * test that fails half way does not leave them running against a closed client.
   */
  constructor(client: Client, concurrency: number, work: (c: Checkout) => Promise<unknown>, cleanups: (() => unknown)[], checkoutTimeout?: number) {
    // Only the flag: the client's close, the next cleanup step, ends the checkouts still running.
    cleanups.push(() => void (this.#running = false))
    for (let i = 0; i < concurrency; i++) {
      this.#loops.push((async () => {
        while (this.#running) {
          const record: CheckoutRecord = { askedAt: performance.now(), pid: undefined, server: undefined, outcome: undefined, checkoutError: undefined, settled: false }
          this.records.push(record)
          let c: Checkout
          try {
            c = await client.checkout(checkoutTimeout === undefined ? {} : { timeout: checkoutTimeout })
          } catch (error) {
            record.checkoutError = error as Error
            record.settled = true
            // A closed client rejects at once: looping on would spin and fill the memory.
            if (error instanceof ClientClosedError) break
            continue
          }
          record.pid = c.worker.pid
          record.server = procStat(c.worker.pid)?.ppid
          try {
            await work(c)
            record.outcome = 'ok'
          } catch (error) {
            record.outcome = error as Error
          } finally {
            c.release()
            record.settled = true
          }
        }
      })())
    }
  }

  /** Records settled so far. */
  get done(): number {
    return this.records.filter((r) => r.settled).length
  }

  /** Waits until `n` more checkouts than now have settled. */
  async more(n: number, timeout = 60_000): Promise<void> {
    const target = this.done + n
    await waitFor(() => this.done >= target, `${n} more checkouts`, timeout)
  }

  /** Stops the loops and waits for the checkouts in progress to settle. */
  async stop(): Promise<CheckoutRecord[]> {
    this.#running = false
    await Promise.all(this.#loops)
    return this.records
  }
}

/** How many records each server served, by server pid. */
export function servedBy(records: readonly CheckoutRecord[]): Map<number, number> {
  const counts = new Map<number, number>()
  for (const r of records) if (r.server !== undefined) counts.set(r.server, (counts.get(r.server) ?? 0) + 1)
  return counts
}
