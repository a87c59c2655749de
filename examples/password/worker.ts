/**
 * Password hashing in worker processes: scrypt is deliberately slow and CPU-bound, exactly the work
 * that should not run on an application's event loop.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto'
import { defineWorker } from '@forkd/server'

const keyLength = 32
// N=2^14 is scrypt's interactive-login cost: tens of milliseconds per hash.
const cost = { N: 16384, r: 8, p: 1 }

export default defineWorker({
  interface: {
    /** Returns `salt$hash`, both hex. */
    hash(password: string): string {
      const salt = randomBytes(16)
      const hash = scryptSync(password, salt, keyLength, cost)
      return `${salt.toString('hex')}$${hash.toString('hex')}`
    },
    verify(password: string, stored: string): boolean {
      const [saltHex, hashHex] = stored.split('$')
      if (saltHex === undefined || hashHex === undefined) throw new Error('stored hash must look like salt$hash')
      const expected = Buffer.from(hashHex, 'hex')
      const actual = scryptSync(password, Buffer.from(saltHex, 'hex'), expected.length, cost)
      return timingSafeEqual(actual, expected)
    },
    pid: () => process.pid,
  },
})
