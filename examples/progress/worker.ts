/** A long job that reports progress while it runs, and logs what it did. */
import { createHash } from 'node:crypto'
import { defineWorker, emit, log } from '@forkd/server'

export default defineWorker({
  interface: {
    /** Hashes `rounds` chunks of `chunkSize` bytes, emitting progress every chunk. */
    async digest(rounds: number, chunkSize: number): Promise<string> {
      const timer = log.timer('digest')
      const hash = createHash('sha256')
      const chunk = Buffer.alloc(chunkSize, 7)
      for (let i = 1; i <= rounds; i++) {
        hash.update(chunk)
        emit('progress', { done: i, total: rounds })
        // Yield now and then so progress frames leave while the job runs.
        if (i % 4 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      timer.end({ bytes: rounds * chunkSize })
      log.info('digest finished', { rounds })
      return hash.digest('hex')
    },
  },
})
