/** The forkd worker module every forkd workload uses. */
import { defineWorker, log } from '@forkd/server'

export default defineWorker({
  interface: {
    echo: (x: unknown) => x,
    /** Awaits a timer of `ms`: an I/O-bound call, for the concurrency workload. */
    wait: (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
    /** Logs ten records, then echoes: what logging costs a caller that attached no sink. */
    chatty: (x: unknown) => {
      for (let i = 0; i < 10; i++) log.info('chatty', { i })
      return x
    },
    /** Logs `n` records in one synchronous call. */
    flood: (n: number) => {
      for (let i = 0; i < n; i++) log.info('flood line', { i })
      return n
    },
  },
})
