/** The forkd worker module every forkd workload uses. */
import { defineWorker } from '@forkd/server'

export default defineWorker({
  interface: {
    echo: (x: unknown) => x,
  },
})
