import { describe, expectTypeOf, it } from 'vitest'
import { Client, type Checkout } from '@forkd/client'
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
