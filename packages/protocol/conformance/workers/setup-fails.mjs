// Conformance fixture "setup-fails": its setup always throws.
import { defineWorker } from '@forkd/server'

export default defineWorker({
  setup() {
    throw new Error('no database')
  },
  interface: {
    echo: (value) => value,
  },
})
