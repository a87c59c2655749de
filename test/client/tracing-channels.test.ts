/**
 * The client's diagnostics_channel tracing: `forkd:checkout` and `forkd:call` publish start, end,
 * asyncStart, asyncEnd and error in the order of TracingChannel.tracePromise, with the documented
 * context at each event, for a successful call, a worker error, a timeout and a dead worker;
 * `forkd:worker:connect` and `forkd:worker:remove` carry the worker and the reason.
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  TimeoutError, WorkerDiedError, WorkerError, channelNames,
  type CallTraceContext, type CheckoutTraceContext, type WorkerConnectMessage, type WorkerRemoveMessage,
} from '@forkd/client'
import { startEnv, waitFor, warm, type TestEnv } from '../support/harness.js'

type Event = 'start' | 'end' | 'asyncStart' | 'asyncEnd' | 'error'
interface Seen<C> { event: Event; context: C; snapshot: Record<string, unknown> }

/** Subscribes to a tracing channel; keeps, for the client named `client`, each event with a copy of its context at that moment. */
function watch<C extends { client: string }>(name: string, client: string) {
  const channel = diagnosticsChannel.tracingChannel<unknown, C>(name)
  const seen: Seen<C>[] = []
  const on = (event: Event) => (context: C) => {
    if (context.client === client) seen.push({ event, context, snapshot: { ...context } })
  }
  const handlers = { start: on('start'), end: on('end'), asyncStart: on('asyncStart'), asyncEnd: on('asyncEnd'), error: on('error') }
  channel.subscribe(handlers)
  return { seen, events: () => seen.map((s) => s.event), stop: () => channel.unsubscribe(handlers) }
}

/** Subscribes to a plain channel; keeps the messages about the client named `client`. */
function listen<M extends { client: string }>(name: string, client: string) {
  const messages: M[] = []
  const handler = (message: unknown) => {
    if ((message as M).client === client) messages.push(message as M)
  }
  diagnosticsChannel.subscribe(name, handler)
  return { messages, stop: () => diagnosticsChannel.unsubscribe(name, handler) }
}

describe('diagnostics_channel tracing', () => {
  let env: TestEnv
  const stops: (() => void)[] = []
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterEach(() => {
    for (const stop of stops.splice(0)) stop()
  })
  afterAll(() => env.cleanup())

  it('traces a checkout from checkout() to its grant, and a successful call, with their contexts', async () => {
    const checkouts = watch<CheckoutTraceContext>(channelNames.checkout, 'ok')
    const calls = watch<CallTraceContext>(channelNames.call, 'ok')
    stops.push(checkouts.stop, calls.stop)
    const client = env.client({ name: 'ok', minWorkers: 1, maxWorkers: 1, timeout: 10_000 })

    const c = await client.checkout({ priority: 3 })
    env.pids.add(c.worker.pid)
    expect(checkouts.events()).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    // At start only what the request says; the grant's fields arrive before asyncStart.
    expect(checkouts.seen[0]!.snapshot).toEqual({ client: 'ok', priority: 3, timeout: 10_000 })
    const granted = checkouts.seen[2]!.snapshot
    expect(granted).toMatchObject({ client: 'ok', priority: 3, timeout: 10_000, pid: c.worker.pid, workerId: c.worker.id, endpoint: env.path })
    expect(granted.result).toBe(c)
    expect(typeof granted.checkoutId).toBe('number')
    expect(granted.waitTime).toBeGreaterThanOrEqual(0)
    expect(granted.error).toBeUndefined()

    expect(await c.echo('hello')).toBe('hello')
    expect(await c.add(2, 3)).toBe(5)
    c.release()
    expect(calls.events()).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd'])
    expect(calls.seen[0]!.snapshot).toEqual({ client: 'ok', method: 'echo', pid: c.worker.pid, workerId: c.worker.id, endpoint: env.path, checkoutId: granted.checkoutId })
    expect(calls.seen[2]!.snapshot.result).toBe('hello')
    expect(calls.seen[4]!.snapshot.method).toBe('add')
    expect(calls.seen[6]!.snapshot.result).toBe(5)
    // Every event of one call shares one context object.
    expect(new Set(calls.seen.slice(0, 4).map((s) => s.context)).size).toBe(1)

    // A second checkout has another id.
    await client.run((c2) => c2.echo('again'))
    expect(checkouts.seen[6]!.snapshot.checkoutId).not.toBe(granted.checkoutId)
    expect(calls.seen[8]!.snapshot.checkoutId).toBe(checkouts.seen[6]!.snapshot.checkoutId)
  })

  it('publishes error before asyncStart with the WorkerError of a call that threw in the worker', async () => {
    const calls = watch<CallTraceContext>(channelNames.call, 'throws')
    stops.push(calls.stop)
    const client = env.client({ name: 'throws', minWorkers: 1, maxWorkers: 1 })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    const error = await c.fail('boom').catch((e: unknown) => e)
    c.release()
    expect(error).toBeInstanceOf(WorkerError)
    expect(calls.events()).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(calls.seen[2]!.snapshot).toMatchObject({ method: 'fail', pid: c.worker.pid })
    expect(calls.seen[2]!.snapshot.error).toBe(error)
    expect((calls.seen[2]!.snapshot.error as WorkerError).remote.message).toBe('boom')
    expect(calls.seen[3]!.snapshot.result).toBeUndefined()
  })

  it('traces a call that times out with TimeoutError, and a checkout that times out waiting with no worker', async () => {
    const checkouts = watch<CheckoutTraceContext>(channelNames.checkout, 'slow')
    const calls = watch<CallTraceContext>(channelNames.call, 'slow')
    stops.push(checkouts.stop, calls.stop)
    const client = env.client({ name: 'slow', minWorkers: 1, maxWorkers: 1, timeout: 300 })
    await warm(client)
    const c = await client.checkout()
    env.pids.add(c.worker.pid)

    const waiting = await client.checkout({ timeout: 150 }).catch((e: unknown) => e)
    expect(waiting).toBeInstanceOf(TimeoutError)
    expect(checkouts.events()).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    const failed = checkouts.seen[6]!.snapshot
    expect(failed.error).toBe(waiting)
    expect(failed.timeout).toBe(150)
    expect(failed.waitTime).toBeGreaterThanOrEqual(140)
    expect(failed.pid).toBeUndefined()
    expect(failed.checkoutId).toBeUndefined()

    const slow = await c.sleep(5_000).catch((e: unknown) => e)
    c.release()
    expect(slow).toBeInstanceOf(TimeoutError)
    expect(calls.events()).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(calls.seen[2]!.snapshot).toMatchObject({ method: 'sleep', pid: c.worker.pid })
    expect(calls.seen[2]!.snapshot.error).toBe(slow)
  })

  it('traces a call whose worker dies with WorkerDiedError, and the worker:remove message with reason died', async () => {
    const calls = watch<CallTraceContext>(channelNames.call, 'dies')
    const connects = listen<WorkerConnectMessage>(channelNames.workerConnect, 'dies')
    const removes = listen<WorkerRemoveMessage>(channelNames.workerRemove, 'dies')
    stops.push(calls.stop, connects.stop, removes.stop)
    const client = env.client({ name: 'dies', minWorkers: 1, maxWorkers: 1 })
    const c = await client.checkout()
    const { pid, id } = c.worker
    env.pids.add(pid)
    const died = await c.exit(7).catch((e: unknown) => e)
    c.release()
    expect(died).toBeInstanceOf(WorkerDiedError)
    expect(calls.events()).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd'])
    expect(calls.seen[2]!.snapshot).toMatchObject({ method: 'exit', pid })
    expect(calls.seen[2]!.snapshot.error).toBe(died)

    await waitFor(() => removes.messages.length > 0, 'the worker:remove message')
    expect(connects.messages[0]).toEqual({ client: 'dies', pid, workerId: id, endpoint: env.path })
    expect(removes.messages).toEqual([{ client: 'dies', pid, workerId: id, endpoint: env.path, reason: 'died' }])
  })

  it('publishes nothing once the subscribers are gone', async () => {
    const calls = watch<CallTraceContext>(channelNames.call, 'quiet')
    const client = env.client({ name: 'quiet', minWorkers: 1, maxWorkers: 1 })
    await client.run((c) => c.echo(1))
    expect(calls.events()).toEqual(['start', 'end', 'asyncStart', 'asyncEnd'])
    calls.stop()
    await client.run((c) => c.echo(2))
    expect(calls.events()).toHaveLength(4)
  })
})
