/**
 * `@forkd/client/prometheus`: a client's pool as Prometheus metrics, through prom-client, in the
 * shape of OpenTelemetry's database connection pool metrics (`db.client.connection.*`), which
 * dashboards already know: connections by state (idle, used), the pool's bounds, waiting checkouts,
 * timeouts, and wait and use time histograms, in seconds, with Prometheus' conventions (base units,
 * `_total` counters). With `prefix: 'db_'` the names are those of the OpenTelemetry conventions.
 *
 * Values are read from `client.stats()` at each scrape; nothing is recorded on the client's hot
 * path beyond its own histograms. No value of prom-client is imported: the metrics are objects the
 * given registry calls at scrape time, so any copy of prom-client 14 or 15 works.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client'
 * import { collectDefaultForkdMetrics } from '@forkd/client/prometheus'
 *
 * const register = new Registry()
 * const stop = collectDefaultForkdMetrics(client, { register })
 * // ... serve `await register.metrics()` on GET /metrics; stop() removes the client again
 * ```
 * @packageDocumentation
 */
import type { Registry, RegistryContentType } from 'prom-client'
import { clientTimings, isClient } from './client.js'
import type { NormalizedClientOptions } from './options.js'
import type { PoolStats } from './pool.js'
import { bucketBounds, type ClientTimings, type Timing } from './timing.js'

/** Options of `collectDefaultForkdMetrics`. */
export interface ForkdMetricsOptions {
  /** The prom-client registry to register the metrics on (a Prometheus or an OpenMetrics one). */
  register: Registry<RegistryContentType>
  /** Prepended to every metric name. Default `'forkd_'`; `'db_'` gives OpenTelemetry's names. */
  prefix?: string
}

type MetricType = 'gauge' | 'counter' | 'histogram'
type Labels = Record<string, string | number>
interface Value { value: number; labels: Labels; metricName?: string }

/** What the collector uses of a client: any `Client`, whatever its worker type. */
export interface CollectedClient {
  stats(): PoolStats
  readonly options: Readonly<NormalizedClientOptions>
}

/** A client as one collection sees it. */
interface Source {
  client: CollectedClient
  /** The `pool_name` label: the client's name. */
  pool: string
}

/** What one metric reads from one client's stats. */
type Read = (source: Source, stats: PoolStats, timings: ClientTimings | undefined, name: string) => Value[]

/** The metrics of one prefix on one registry, and the clients they report. */
interface Collection {
  sources: Source[]
  names: string[]
}

const collections = new WeakMap<object, Map<string, Collection>>()
const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

function histogram(pick: (t: ClientTimings) => Timing): Read {
  return (source, _stats, timings, name) => {
    if (timings === undefined) return []
    const b = pick(timings).buckets()
    const labels = { pool_name: source.pool }
    const values: Value[] = bucketBounds.map((le, i) => ({ value: b.cumulative[i]!, labels: { ...labels, le }, metricName: `${name}_bucket` }))
    values.push({ value: b.count, labels: { ...labels, le: '+Inf' }, metricName: `${name}_bucket` })
    values.push({ value: b.sum, labels, metricName: `${name}_sum` })
    values.push({ value: b.count, labels, metricName: `${name}_count` })
    return values
  }
}

const perPool = (read: (stats: PoolStats, source: Source) => number): Read => (source, stats) => [{ value: read(stats, source), labels: { pool_name: source.pool } }]

/** Every metric: its name after the prefix, type, help and how it reads a client. */
const definitions: readonly { suffix: string; type: MetricType; help: string; read: Read }[] = [
  {
    suffix: 'client_connection_count', type: 'gauge',
    help: 'Worker connections of a forkd client, by endpoint and state: idle, or used (checked out, or running checkoutDone)',
    read: (source, stats) => stats.endpoints.flatMap((row) => [
      { value: row.connections.idle, labels: { pool_name: source.pool, endpoint: row.endpoint, state: 'idle' } },
      { value: row.connections.busy + row.connections.releasing, labels: { pool_name: source.pool, endpoint: row.endpoint, state: 'used' } },
    ]),
  },
  { suffix: 'client_connection_idle_min', type: 'gauge', help: 'Workers the client keeps connected (minWorkers)', read: perPool((_s, src) => src.client.options.minWorkers) },
  { suffix: 'client_connection_max', type: 'gauge', help: 'Most workers the client connects at once (maxWorkers)', read: perPool((_s, src) => src.client.options.maxWorkers) },
  { suffix: 'client_connection_pending_requests', type: 'gauge', help: 'Checkouts waiting for a worker', read: perPool((s) => s.pending) },
  { suffix: 'client_connection_timeouts_total', type: 'counter', help: 'Checkouts that timed out waiting for a worker', read: perPool((s) => s.timeouts) },
  { suffix: 'client_connection_wait_time_seconds', type: 'histogram', help: 'Time from checkout() to the grant of a worker', read: histogram((t) => t.wait) },
  { suffix: 'client_connection_use_time_seconds', type: 'histogram', help: 'Time from the grant of a worker to its return to the pool', read: histogram((t) => t.hold) },
  { suffix: 'client_call_duration_seconds', type: 'histogram', help: 'Time of one call on a worker, from its turn to its outcome', read: histogram((t) => t.run) },
  { suffix: 'client_checkouts_total', type: 'counter', help: 'Checkouts granted', read: perPool((s) => s.checkouts) },
  {
    suffix: 'client_connection_removed_total', type: 'counter', help: 'Worker connections the client ended, by reason',
    read: (source, stats) => Object.entries(stats.retired).map(([reason, value]) => ({ value, labels: { pool_name: source.pool, reason } })),
  },
  {
    suffix: 'client_endpoint_connect_failures', type: 'gauge', help: 'Consecutive failed connection attempts to an endpoint (0 once one succeeds)',
    read: (source, stats) => stats.endpoints.map((row) => ({ value: row.failures, labels: { pool_name: source.pool, endpoint: row.endpoint } })),
  },
]

/** One metric as prom-client's registry uses it: it calls `get()` at each scrape. */
function makeMetric(collection: Collection, name: string, type: MetricType, help: string, read: Read) {
  const metric = {
    // An OpenMetrics registry renames counters (drops `_total`, adds it back to each sample): read it at each scrape.
    name,
    help,
    type,
    aggregator: 'sum' as const,
    get: async () => {
      const values: Value[] = []
      for (const source of collection.sources) values.push(...read(source, source.client.stats(), clientTimings(source.client), name))
      return { name: metric.name, help, type, aggregator: metric.aggregator, values }
    },
    // Registry#resetMetrics() resets every metric; these have nothing of their own to reset.
    reset: () => {},
  }
  return metric
}

/**
 * Registers the metrics of `client` on `options.register` and returns a function that removes the
 * client again (and the metrics, with the last client). Several clients may share a registry: each
 * needs its own `name` (the `pool_name` label). Metrics, labels and units: docs/observability.md.
 *
 * Throws TypeError for a registry without `registerMetric`, a prefix that is not a Prometheus name,
 * or a second client with the same name on the same registry and prefix.
 */
export function collectDefaultForkdMetrics(client: CollectedClient, options: ForkdMetricsOptions): () => void {
  if (!isClient(client))
    throw new TypeError(`collectDefaultForkdMetrics: the first argument must be a Client of this copy of @forkd/client, got ${client === null ? 'null' : typeof client === 'object' ? (client as object).constructor?.name ?? 'an object' : typeof client}`)
  if (typeof options !== 'object' || options === null) throw new TypeError(`collectDefaultForkdMetrics: options must be an object with "register", got ${String(options)}`)
  const register = options.register as unknown as { registerMetric?: unknown; removeSingleMetric?: unknown } | undefined
  if (typeof register !== 'object' || register === null || typeof register.registerMetric !== 'function' || typeof register.removeSingleMetric !== 'function')
    throw new TypeError('collectDefaultForkdMetrics: option "register" must be a prom-client Registry (with registerMetric and removeSingleMetric)')
  const prefix = options.prefix ?? 'forkd_'
  if (typeof prefix !== 'string' || (prefix !== '' && !metricName.test(prefix)))
    throw new TypeError(`collectDefaultForkdMetrics: option "prefix" must be a Prometheus metric name prefix (letters, digits, _ and :, not starting with a digit), got ${JSON.stringify(prefix)}`)
  const source: Source = { client, pool: client.options.name }

  let byPrefix = collections.get(register)
  if (byPrefix === undefined) collections.set(register, (byPrefix = new Map()))
  let collection = byPrefix.get(prefix)
  const registry = options.register as unknown as { registerMetric(metric: unknown): void; removeSingleMetric(name: string): void }
  if (collection === undefined) {
    const created: Collection = { sources: [], names: [] }
    try {
      for (const d of definitions) {
        const name = prefix + d.suffix
        registry.registerMetric(makeMetric(created, name, d.type, d.help, d.read))
        created.names.push(name)
      }
    } catch (error) {
      // A name already taken on this registry: leave it as it was.
      for (const name of created.names) registry.removeSingleMetric(name)
      throw error
    }
    byPrefix.set(prefix, (collection = created))
  }
  if (collection.sources.some((s) => s.client === source.client)) return () => {}
  if (collection.sources.some((s) => s.pool === source.pool))
    throw new TypeError(`collectDefaultForkdMetrics: a client named ${JSON.stringify(source.pool)} is already collected on this registry with prefix ${JSON.stringify(prefix)}; give each client its own name`)
  collection.sources.push(source)

  const owner = collection
  return () => {
    const i = owner.sources.indexOf(source)
    if (i === -1) return
    owner.sources.splice(i, 1)
    if (owner.sources.length > 0) return
    for (const name of owner.names) registry.removeSingleMetric(name)
    byPrefix.delete(prefix)
  }
}
