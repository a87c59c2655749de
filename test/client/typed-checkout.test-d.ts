import { describe, expectTypeOf, it } from 'vitest'
import { Client, type Checkout } from '@forkd/client'
import { defineWorker } from '@forkd/server'
import type typedWorker from '../fixtures/typed-worker.js'
import type typedFunctionWorker from '../fixtures/typed-function-worker.js'

describe('a typed checkout', () => {
  it('has the worker interface methods, returning promises of their results', async () => {
    const client = new Client<typeof typedWorker>({ connect: '/x.sock' })
    const c = await client.checkout()
    expectTypeOf(c.add).toEqualTypeOf<(a: number, b: number) => Promise<number>>()
    expectTypeOf(c.greet('x')).toEqualTypeOf<Promise<string>>()
    expectTypeOf(c.call('add', 1, 2)).toEqualTypeOf<Promise<number>>()
    expectTypeOf(c.worker).toEqualTypeOf<{ pid: number; id: number; concurrency: number }>()
    expectTypeOf(c.release).toEqualTypeOf<(error?: unknown) => void>()
  })

  it('rejects a wrong method name or argument type', async () => {
    const client = new Client({ connect: '/x.sock' })
    const c = await client.checkout<typeof typedWorker>()
    // @ts-expect-error: no such method
    void c.subtract(1, 2)
    // @ts-expect-error: wrong argument type
    void c.add('1', 2)
    // @ts-expect-error: missing argument
    void c.add(1)
    // @ts-expect-error: wrong method name through call()
    void c.call('nope')
    // @ts-expect-error: wrong argument type through call()
    void c.call('greet', 5)
  })

  it('refuses a worker method with a reserved name when the worker is defined', () => {
    // @ts-expect-error: "release" is reserved: a checkout has its own c.release
    void defineWorker({ interface: { hash: (x: string) => x, release: () => 1 } })
    // @ts-expect-error: "then" would make every checkout a thenable
    void defineWorker({ interface: { then: () => 1 } })
    void defineWorker({ interface: { hash: (x: string) => x, releaseAll: () => 1 } })
  })

  it('keeps the checkout\'s own members for reserved names of a worker interface type, reachable through call()', async () => {
    interface Shadowing {
      release(reason: string): string
      worker(): number
      hash(password: string): string
    }
    const client = new Client<Shadowing>({ connect: '/x.sock' })
    const c = await client.checkout()
    expectTypeOf(c.release).toEqualTypeOf<(error?: unknown) => void>()
    expectTypeOf(c.worker).toEqualTypeOf<{ pid: number; id: number; concurrency: number }>()
    expectTypeOf(c.hash).toEqualTypeOf<(password: string) => Promise<string>>()
    expectTypeOf(c.call('release', 'why')).toEqualTypeOf<Promise<string>>()
    // The checkout's own release: it takes an optional error and returns nothing.
    expectTypeOf(c.release('why')).toEqualTypeOf<void>()
  })

  it('is callable for a one-function interface, with the arguments after the method name', async () => {
    const client = new Client<typeof typedFunctionWorker>({ connect: '/x.sock' })
    const c = await client.checkout()
    expectTypeOf(c(5)).toEqualTypeOf<Promise<{ method: string; size: number }>>()
    expectTypeOf(c.call('resize', 5)).toEqualTypeOf<Promise<{ method: string; size: number }>>()
    // @ts-expect-error: wrong argument type
    void c('big')
  })

  it('is loosely typed without a worker type', async () => {
    const client = new Client({ connect: '/x.sock' })
    const c: Checkout = await client.checkout()
    expectTypeOf(c.anything).toBeAny()
    expectTypeOf(c.release).toEqualTypeOf<(error?: unknown) => void>()
  })

  it('run() infers the result type of its callback, and validate() sees a typed checkout', async () => {
    const client = new Client<typeof typedWorker>({ connect: '/x.sock', validate: async (c) => (await c.add(1, 1)) === 2 })
    expectTypeOf(client.run((c) => c.add(1, 2))).toEqualTypeOf<Promise<number>>()
    expectTypeOf(client.run(async (c) => `${await c.greet('x')}!`)).toEqualTypeOf<Promise<string>>()
    // @ts-expect-error: no such method inside run() either
    void client.run((c) => c.subtract(1, 2))
  })
})
