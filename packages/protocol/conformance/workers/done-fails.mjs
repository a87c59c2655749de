// Conformance fixture "done-fails": its checkoutDone hook always throws.
import { defineWorker } from '@forkd/server'

export default defineWorker({
  interface: {
    echo: (value) => value,
  },
  checkoutDone() {
    throw new Error('rollback failed')
  },
})
