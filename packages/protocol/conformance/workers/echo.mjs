// Conformance fixture "echo": a map interface with a checkoutDone hook. README.md describes every
// method, so that another implementation of the worker side can provide the same fixture.
import { defineWorker, emit, log } from '@forkd/server'

let doneRuns = 0

export default defineWorker({
  interface: {
    echo: (value) => value,
    args: (...args) => args,
    add: (a, b) => a + b,
    typeOf: (value) => typeof value,
    fail: (message) => {
      throw new Error(message)
    },
    failCoded: () => {
      throw Object.assign(new Error('duplicate key value'), {
        code: '23505', detail: 'Key (id)=(1) already exists.', position: 7, retry: false, hint: null, missing: undefined, big: 1n, nested: { a: 1 },
      })
    },
    failLong: (char, count) => {
      throw new Error(char.repeat(count))
    },
    failWith: (value) => {
      throw value
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
    spinForever: () => {
      for (;;);
    },
    exit: (code) => process.exit(code),
    exitIdle: (ms, code) => {
      setTimeout(() => process.exit(code), ms)
      return ms
    },
    throwLater: (message) => {
      setTimeout(() => {
        throw new Error(message)
      }, 1)
      return new Promise(() => {})
    },
    unencodable: () => () => 1,
    logSome: (n) => {
      for (let i = 0; i < n; i++) log.info(`line ${i}`, { i })
      return n
    },
    progress: async (steps) => {
      for (let i = 1; i <= steps; i++) {
        emit('progress', { step: i, of: steps })
        await new Promise((resolve) => setImmediate(resolve))
      }
      return 'finished'
    },
    nest: (levels) => {
      let value = 0
      for (let i = 0; i < levels; i++) value = [value]
      return value
    },
    big: () => 2 ** 40,
    loneSurrogate: () => 'a\ud800b',
    doneRuns: () => doneRuns,
  },
  checkoutDone() {
    doneRuns++
  },
})
