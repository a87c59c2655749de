/** The worker of the OpenTelemetry example: a hash, a failure and a slow call, to have spans of each kind. */
import { createHash } from 'node:crypto'
import { defineWorker } from '@forkd/server'

export default defineWorker({
  interface: {
    hash: (text: string) => createHash('sha256').update(text).digest('hex'),
    fail: (message: string) => {
      throw new Error(message)
    },
    sleep: (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
  },
})
