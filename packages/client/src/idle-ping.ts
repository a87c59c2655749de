/**
 * Idle pings: every `interval` ms, each idle worker connection is pinged with a deadline of
 * `timeout` ms (WorkerConnection.ping). A worker that stopped answering without closing its
 * connection (SIGSTOP, a host gone, a cable cut: no FIN, no RST) is so found within
 * interval + timeout of falling silent, and replaced before anyone checks it out.
 *
 * One timer for the whole pool, nothing on the checkout path: the connection most recently given
 * back is also the first handed out again, so pings mostly go to workers that have rested a while.
 */
import type { PooledConnection } from './worker-connection.js'

export class IdlePing {
  readonly #timer: NodeJS.Timeout | undefined

  /** `idle` lists the idle connections at each tick. `interval: Infinity` pings nothing. */
  constructor(interval: number, timeout: number, idle: () => Iterable<PooledConnection>) {
    if (interval === Infinity) return
    this.#timer = setInterval(() => {
      for (const conn of idle()) conn.ping(timeout)
    }, interval).unref()
  }

  close(): void {
    clearInterval(this.#timer)
  }
}
