/**
 * forkd calls as OpenTelemetry spans, printed to the console.
 *
 *   npm run build && node examples/dist/opentelemetry/main.js
 *
 * An application would register its own tracer provider and exporter (OTLP, Jaeger...) instead of
 * the console one; `instrumentForkd()` is the same.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { context, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { Client, TimeoutError, WorkerError } from '@forkd/client'
import { Server } from '@forkd/server'
import { instrumentForkd } from './forkd-tracing.js'
import type exampleWorker from './worker.js'

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] })
trace.setGlobalTracerProvider(provider)
const stop = instrumentForkd()

const dir = mkdtempSync(join(tmpdir(), 'forkd-otel-'))
const socket = join(dir, 'otel.sock')
const server = await Server.start({ listen: socket, worker: fileURLToPath(new URL('./worker.js', import.meta.url)), spares: 1 })
const client = new Client<typeof exampleWorker>({ connect: socket, name: 'example', minWorkers: 1, timeout: 500 })

try {
  // The request this process is serving: forkd's spans become its children.
  await trace.getTracer('example').startActiveSpan('GET /digest', async (request) => {
    const digest = await client.run((c) => c.hash('hello'))
    console.log(`digest: ${digest}`)
    await client.run((c) => c.fail('a failure in the worker')).catch((e: unknown) => console.log(`expected: ${(e as WorkerError).message}`))
    await client.run((c) => c.sleep(5_000)).catch((e: unknown) => console.log(`expected: ${(e as TimeoutError).message}`))
    request.end()
  })
} finally {
  stop()
  await client.close()
  await server.close()
  await provider.shutdown()
  rmSync(dir, { recursive: true, force: true })
}
