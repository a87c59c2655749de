/**
 * forkd's diagnostics_channel traces as OpenTelemetry spans, following the RPC semantic
 * conventions: one CLIENT span per call, named `forkd/METHOD`, with `rpc.system.name` "forkd",
 * `rpc.method`, `server.address` (the socket path, or the host with `server.port`),
 * `network.transport` and, when it fails, `error.type` (the forkd error's code, e.g.
 * `FORKD_ERR_TIMEOUT`) and an ERROR status. Each checkout gets an INTERNAL span `forkd checkout`
 * covering its wait for a worker.
 *
 * Both spans are children of the span active where `checkout()` or the call was made (the request
 * being served), as siblings: a checkout's span ends when the worker is granted, before its calls
 * run. `forkd.checkout.id` ties the calls to their checkout.
 *
 * This file is an example to copy into an application; it is not part of forkd's packages.
 *
 * @example
 * ```ts
 * const stop = instrumentForkd({ tracer: trace.getTracer('my-app') })
 * ```
 */
import diagnosticsChannel from 'node:diagnostics_channel'
import { SpanKind, SpanStatusCode, context, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api'
import { channelNames, type CallTraceContext, type CheckoutTraceContext } from '@forkd/client'

export interface ForkdTracingOptions {
  /** Where spans come from. Default: `trace.getTracer('forkd')` of the global tracer provider. */
  tracer?: Tracer
  /** Also make a span for each checkout's wait. Default true. */
  checkoutSpans?: boolean
}

/** `server.address`, `server.port` and `network.transport` of a forkd endpoint (`/path.sock`, `host:port`, `[::1]:port`). */
export function serverAttributes(endpoint: string): Attributes {
  if (endpoint.startsWith('/')) return { 'server.address': endpoint, 'network.transport': 'unix' }
  const tcp = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(endpoint)
  if (tcp === null) return { 'server.address': endpoint }
  return { 'server.address': tcp[1] ?? tcp[2]!, 'server.port': Number(tcp[3]), 'network.transport': 'tcp' }
}

/** A low-cardinality name for what went wrong: the forkd error's code, else the error's class name. */
export function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string') return code
  return error instanceof Error ? error.constructor.name : '_OTHER'
}

function fail(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error))
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
  if (error instanceof Error) span.recordException(error)
}

/** Subscribes to forkd's channels and returns the function that unsubscribes. */
export function instrumentForkd(options: ForkdTracingOptions = {}): () => void {
  const tracer = options.tracer ?? trace.getTracer('forkd')
  // The TracingChannel hands the same context object to every event of one operation.
  const spans = new WeakMap<object, Span>()
  const finish = (ctx: object) => {
    spans.get(ctx)?.end()
    spans.delete(ctx)
  }

  const callChannel = diagnosticsChannel.tracingChannel<unknown, CallTraceContext>(channelNames.call)
  const call = {
    start(ctx: CallTraceContext) {
      const method = ctx.method ?? '()'
      spans.set(ctx, tracer.startSpan(`forkd/${method}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          'rpc.system.name': 'forkd',
          'rpc.method': method,
          ...serverAttributes(ctx.endpoint),
          'forkd.client.name': ctx.client,
          'forkd.worker.pid': ctx.pid,
          'forkd.worker.id': ctx.workerId,
          'forkd.checkout.id': ctx.checkoutId,
        },
      }, context.active()))
    },
    error(ctx: CallTraceContext) {
      const span = spans.get(ctx)
      if (span !== undefined) fail(span, ctx.error)
    },
    asyncEnd: finish,
    // A call settles after `end`; an error already set at `end` was thrown synchronously, and no asyncEnd follows.
    end(ctx: CallTraceContext) {
      if (ctx.error !== undefined) finish(ctx)
    },
    asyncStart() {},
  }
  callChannel.subscribe(call)

  const checkoutChannel = diagnosticsChannel.tracingChannel<unknown, CheckoutTraceContext>(channelNames.checkout)
  const checkout = {
    start(ctx: CheckoutTraceContext) {
      spans.set(ctx, tracer.startSpan('forkd checkout', {
        kind: SpanKind.INTERNAL,
        attributes: { 'forkd.client.name': ctx.client, 'forkd.checkout.priority': ctx.priority },
      }, context.active()))
    },
    error(ctx: CheckoutTraceContext) {
      const span = spans.get(ctx)
      if (span !== undefined) fail(span, ctx.error)
    },
    asyncStart(ctx: CheckoutTraceContext) {
      const span = spans.get(ctx)
      if (span === undefined) return
      if (ctx.waitTime !== undefined) span.setAttribute('forkd.checkout.wait_time_ms', ctx.waitTime)
      if (ctx.pid === undefined) return
      span.setAttributes({
        ...serverAttributes(ctx.endpoint!),
        'forkd.worker.pid': ctx.pid,
        'forkd.worker.id': ctx.workerId!,
        'forkd.checkout.id': ctx.checkoutId!,
      })
    },
    asyncEnd: finish,
    end() {},
  }
  if (options.checkoutSpans ?? true) checkoutChannel.subscribe(checkout)

  return () => {
    callChannel.unsubscribe(call)
    if (options.checkoutSpans ?? true) checkoutChannel.unsubscribe(checkout)
  }
}
