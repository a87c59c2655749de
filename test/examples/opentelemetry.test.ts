/**
 * examples/opentelemetry: forkd's traces become OpenTelemetry spans (an in-memory exporter) named
 * `forkd/METHOD` with the RPC conventions' attributes, children of the request span active where
 * the checkout and the calls were made, with `error.type` for a worker error and a timeout.
 */
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SpanKind, SpanStatusCode, context, type Tracer } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { TimeoutError, WorkerError } from '@forkd/client'
import { instrumentForkd, serverAttributes } from '../../examples/opentelemetry/forkd-tracing.js'
import type exampleWorker from '../../examples/opentelemetry/worker.js'
import { startEnv, warm, type TestEnv } from '../support/harness.js'

const worker = fileURLToPath(new URL('../../examples/dist/opentelemetry/worker.js', import.meta.url))

describe('the OpenTelemetry example', () => {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer: Tracer = provider.getTracer('test')
  const contextManager = new AsyncLocalStorageContextManager()
  let env: TestEnv
  let stop: () => void

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable())
    stop = instrumentForkd({ tracer })
    env = await startEnv(worker)
  })
  afterEach(() => exporter.reset())
  afterAll(async () => {
    stop()
    await env.cleanup()
    await provider.shutdown()
    context.disable()
  })

  /** Runs `fn` inside an active request span; returns that span's id once it ended. */
  async function inRequest(fn: () => Promise<unknown>): Promise<string> {
    return tracer.startActiveSpan('GET /request', async (request) => {
      try {
        await fn()
      } finally {
        request.end()
      }
      return request.spanContext().spanId
    })
  }

  const named = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name)

  it('makes a checkout span and a CLIENT span forkd/METHOD per call, both children of the request span', async () => {
    const client = env.client<typeof exampleWorker>({ name: 'otel', minWorkers: 1, maxWorkers: 1 })
    await warm(client)
    let pid = 0
    const requestId = await inRequest(() => client.run(async (c) => {
      pid = c.worker.pid
      env.pids.add(pid)
      await c.hash('a')
      await c.hash('b')
    }))
    const [checkout] = named('forkd checkout')
    const calls = named('forkd/hash')
    expect(checkout).toBeDefined()
    expect(calls).toHaveLength(2)
    for (const span of [checkout!, ...calls]) {
      expect(span.parentSpanContext?.spanId).toBe(requestId)
      expect(span.spanContext().traceId).toBe(named('GET /request')[0]!.spanContext().traceId)
    }
    expect(checkout!.kind).toBe(SpanKind.INTERNAL)
    expect(checkout!.attributes).toMatchObject({ 'forkd.client.name': 'otel', 'forkd.worker.pid': pid, 'server.address': env.path, 'network.transport': 'unix' })
    expect(checkout!.attributes['forkd.checkout.wait_time_ms']).toBeGreaterThanOrEqual(0)
    for (const call of calls) {
      expect(call.kind).toBe(SpanKind.CLIENT)
      expect(call.status.code).toBe(SpanStatusCode.UNSET)
      expect(call.attributes).toEqual({
        'rpc.system.name': 'forkd',
        'rpc.method': 'hash',
        'server.address': env.path,
        'network.transport': 'unix',
        'forkd.client.name': 'otel',
        'forkd.worker.pid': pid,
        'forkd.worker.id': checkout!.attributes['forkd.worker.id'],
        'forkd.checkout.id': checkout!.attributes['forkd.checkout.id'],
      })
    }
    // The calls run after the grant: the checkout span ends first (span times are precise to about a millisecond).
    const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6
    expect(ms(checkout!.endTime)).toBeLessThanOrEqual(ms(calls[0]!.startTime) + 1)
  })

  it('marks a call that threw in the worker with error.type FORKD_ERR_WORKER and an ERROR status', async () => {
    const client = env.client<typeof exampleWorker>({ name: 'otel-error', minWorkers: 1, maxWorkers: 1 })
    await warm(client)
    let thrown: unknown
    await inRequest(() => client.run((c) => c.fail('bad input')).catch((e: unknown) => (thrown = e)))
    expect(thrown).toBeInstanceOf(WorkerError)
    const [span] = named('forkd/fail')
    expect(span!.attributes['error.type']).toBe('FORKD_ERR_WORKER')
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: (thrown as Error).message })
    expect(span!.events.map((e) => e.name)).toEqual(['exception'])
  })

  it('marks a call that timed out, and a checkout that timed out waiting, with error.type FORKD_ERR_TIMEOUT', async () => {
    const client = env.client<typeof exampleWorker>({ name: 'otel-timeout', minWorkers: 1, maxWorkers: 1, timeout: 300 })
    await warm(client)
    const outcomes: unknown[] = []
    await inRequest(async () => {
      const held = await client.checkout()
      env.pids.add(held.worker.pid)
      outcomes.push(await client.checkout({ timeout: 50 }).catch((e: unknown) => e))
      outcomes.push(await held.sleep(5_000).catch((e: unknown) => e))
      held.release()
    })
    expect(outcomes.map((e) => e instanceof TimeoutError)).toEqual([true, true])
    const [sleep] = named('forkd/sleep')
    expect(sleep!.attributes['error.type']).toBe('FORKD_ERR_TIMEOUT')
    expect(sleep!.status.code).toBe(SpanStatusCode.ERROR)
    const checkouts = named('forkd checkout')
    expect(checkouts.map((s) => s.attributes['error.type'])).toEqual([undefined, 'FORKD_ERR_TIMEOUT'])
    expect(checkouts[1]!.attributes['forkd.worker.pid']).toBeUndefined()
  })

  it('makes no span once unsubscribed', async () => {
    const client = env.client<typeof exampleWorker>({ name: 'otel-off', minWorkers: 1, maxWorkers: 1 })
    await warm(client)
    stop()
    try {
      await inRequest(() => client.run((c) => c.hash('x')))
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['GET /request'])
    } finally {
      stop = instrumentForkd({ tracer })
    }
  })

  it('describes TCP endpoints with server.address, server.port and network.transport', () => {
    expect(serverAttributes('127.0.0.2:7400')).toEqual({ 'server.address': '127.0.0.2', 'server.port': 7400, 'network.transport': 'tcp' })
    expect(serverAttributes('[::1]:7400')).toEqual({ 'server.address': '::1', 'server.port': 7400, 'network.transport': 'tcp' })
    expect(serverAttributes('/run/app/forkd.sock')).toEqual({ 'server.address': '/run/app/forkd.sock', 'network.transport': 'unix' })
  })
})
