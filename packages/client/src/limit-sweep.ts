/**
 * The limit sweep: every so often the pool looks at its idle workers again, so that one which passes
 * a time limit (`idleTimeout`, `maxWorkerAge`) while nobody touches it is found. Workers are also
 * judged whenever they are released or become idle; this covers the ones that rest.
 *
 * One timer for the whole pool, unref'd (it never keeps a process alive), and none at all while no
 * time limit is set: nothing on the checkout path.
 */

/** How often the sweep runs for a limit: a tenth of it, between 10 ms and 1 s. */
export function sweepInterval(limit: number): number {
  return Math.min(1_000, Math.max(10, limit / 10))
}

export class LimitSweep {
  readonly #timer: NodeJS.Timeout | undefined

  /** `limit`: the shortest time limit in force (`Infinity`: no sweep). `sweep` looks at the idle workers. */
  constructor(limit: number, sweep: () => void) {
    if (limit === Infinity) return
    this.#timer = setInterval(sweep, sweepInterval(limit)).unref()
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
