// Conformance fixture "plain": a map interface without a checkoutDone hook.
import { defineWorker } from '@forkd/server'

export default defineWorker({
  interface: {
    echo: (value) => value,
    fail: (message) => {
      throw new Error(message)
    },
  },
})
