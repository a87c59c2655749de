import { describe, expect, it } from 'vitest'
import { reservedMethodNames } from '@forkd/protocol'
import { defineWorker } from '@forkd/server'

const reservedList = reservedMethodNames.join(', ')

describe('defineWorker', () => {
  it.each(['release', 'with', 'worker', 'call', 'then', 'abort', 'released', 'toJSON'])('refuses a method named %s, naming it', (name) => {
    const definition = { interface: { hash: (x: string) => x, [name]: () => 1 } }
    // The type refuses it too (test/client/typed-checkout.test-d.ts); here it is the run-time check.
    expect(() => defineWorker(definition as never)).toThrow(new TypeError(
      `interface.${name}: "${name}" is reserved: a checkout has its own c.${name}, so clients could never call this method; rename it (reserved: ${reservedList})`))
  })

  it('lists every name the checkout keeps for itself', () => {
    expect(reservedMethodNames).toEqual(['call', 'release', 'abort', 'worker', 'released', 'with', 'then', 'catch', 'finally',
      'toJSON', 'constructor', 'toString', 'valueOf', 'inspect', 'nodeType', 'asymmetricMatch', '$$typeof'])
  })

  it('accepts any other name, and a one-function interface', () => {
    const map = { interface: { hash: (x: string) => x, releaseAll: () => 1, callback: () => 2 } }
    expect(defineWorker(map)).toBe(map)
    const fn = { interface: (x: string) => x }
    expect(defineWorker(fn)).toBe(fn)
  })
})
