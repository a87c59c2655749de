// Conformance fixture "function": a one-function interface that returns its arguments as an array.
import { defineWorker } from '@forkd/server'

export default defineWorker({
  interface: (...args) => args,
})
