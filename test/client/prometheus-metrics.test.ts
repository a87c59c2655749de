/**
 * `@forkd/client/prometheus`: the output of prom-client's own registry parses as Prometheus text
 * (an independent parser) and its values match `client.stats()` at the same moment; several
 * clients share a registry by name; the prefix renames; OpenMetrics counters keep one `_total`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry, type OpenMetricsContentType } from 'prom-client'
import { TimeoutError, type Checkout, type PoolStats, type TimingStats } from '@forkd/client'
import { collectDefaultForkdMetrics } from '@forkd/client/prometheus'
import { startEnv, waitFor, warm, type TestEnv } from '../support/harness.js'
import { family, histogramOf, parsePrometheus, sampleValue, type ParsedFamily } from '../support/prometheus-text.js'

/** The histogram of `name` for pool `pool` matches `timing` (count) and its buckets are cumulative. */
function expectHistogram(text: string, families: ParsedFamily[], name: string, pool: string, timing: TimingStats): void {
  expect(family(families, name).type).toBe('HISTOGRAM')
  const h = histogramOf(text, name, { pool_name: pool })
  expect(h.count).toBe(timing.count)
  expect(h.buckets.length).toBeGreaterThan(10)
  expect(h.buckets.at(-1)).toEqual([Infinity, timing.count])
  for (let i = 1; i < h.buckets.length; i++) expect(h.buckets[i]![1]).toBeGreaterThanOrEqual(h.buckets[i - 1]![1])
  // The sum is in seconds: between count × min and count × max of the ms histogram.
  expect(h.sum).toBeGreaterThanOrEqual((timing.count * timing.min) / 1000 * 0.99)
  expect(h.sum).toBeLessThanOrEqual((timing.count * timing.max) / 1000 * 1.01)
  // The largest sample lies in the first bucket that holds them all.
  const first = h.buckets.find(([, n]) => n === timing.count)![0]
  expect(timing.max / 1000).toBeLessThanOrEqual(first * 1.001)
}

/** Every gauge and counter of pool `pool` matches `stats`. */
function expectMatches(text: string, stats: PoolStats, pool: string, endpoint: string, bounds: { min: number; max: number }): void {
  const families = parsePrometheus(text)
  const row = stats.endpoints.find((e) => e.endpoint === endpoint)!
  const labels = { pool_name: pool, endpoint }
  expect(sampleValue(families, 'forkd_client_connection_count', { ...labels, state: 'idle' })).toBe(row.connections.idle)
  expect(sampleValue(families, 'forkd_client_connection_count', { ...labels, state: 'used' })).toBe(row.connections.busy + row.connections.releasing)
  expect(sampleValue(families, 'forkd_client_connection_idle_min', { pool_name: pool })).toBe(bounds.min)
  expect(sampleValue(families, 'forkd_client_connection_max', { pool_name: pool })).toBe(bounds.max)
  expect(sampleValue(families, 'forkd_client_connection_pending_requests', { pool_name: pool })).toBe(stats.pending)
  expect(sampleValue(families, 'forkd_client_connection_timeouts_total', { pool_name: pool })).toBe(stats.timeouts)
  expect(sampleValue(families, 'forkd_client_checkouts_total', { pool_name: pool })).toBe(stats.checkouts)
  expect(sampleValue(families, 'forkd_client_endpoint_connect_failures', labels)).toBe(row.failures)
  for (const [reason, count] of Object.entries(stats.retired))
    expect(sampleValue(families, 'forkd_client_connection_removed_total', { pool_name: pool, reason })).toBe(count)
  expectHistogram(text, families, 'forkd_client_connection_wait_time_seconds', pool, stats.waitTime!)
  expectHistogram(text, families, 'forkd_client_connection_use_time_seconds', pool, stats.holdTime!)
  expectHistogram(text, families, 'forkd_client_call_duration_seconds', pool, stats.runTime!)
}

describe('collectDefaultForkdMetrics', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it("exposes the pool in prom-client's output, parseable, with the values of stats()", async () => {
    const client = env.client({ name: 'app', minWorkers: 2, maxWorkers: 3, timeout: 10_000 })
    await warm(client, 2)
    const register = new Registry()
    const stop = collectDefaultForkdMetrics(client, { register })
    for (let i = 0; i < 5; i++) await client.run(async (c) => (env.pids.add(c.worker.pid), c.echo(i)))

    // Every worker checked out, one checkout timed out waiting, one still waiting at the scrape.
    const held: Checkout<unknown>[] = []
    for (let i = 0; i < 3; i++) held.push(await client.checkout())
    for (const c of held) env.pids.add(c.worker.pid)
    expect(await client.checkout({ timeout: 50 }).catch((e: unknown) => e)).toBeInstanceOf(TimeoutError)
    const waiting = client.checkout()
    waiting.catch(() => {})
    await Promise.all(held.map((c) => c.echo('busy')))

    const busyText = await register.metrics()
    const busyStats = client.stats()
    expect(busyStats.pending).toBe(1)
    expect(busyStats.timeouts).toBe(1)
    expect(sampleValue(parsePrometheus(busyText), 'forkd_client_connection_count', { pool_name: 'app', state: 'used' })).toBe(3)
    expectMatches(busyText, busyStats, 'app', env.path, { min: 2, max: 3 })

    for (const c of held) c.release()
    ;(await waiting).release()
    await waitFor(() => client.stats().idle === 3, 'every worker back in the pool')
    const quietText = await register.metrics()
    const quiet = parsePrometheus(quietText)
    const quietStats = client.stats()
    expect(sampleValue(quiet, 'forkd_client_connection_count', { pool_name: 'app', state: 'idle' })).toBe(3)
    expectMatches(quietText, quietStats, 'app', env.path, { min: 2, max: 3 })

    // Prometheus' conventions: counters and only counters end in _total; durations are in seconds.
    for (const f of quiet) {
      expect(f.name.startsWith('forkd_client_')).toBe(true)
      expect(f.name.endsWith('_total')).toBe(f.type === 'COUNTER')
      if (f.type === 'HISTOGRAM') expect(f.name).toMatch(/_seconds$/)
      expect(f.help.length).toBeGreaterThan(0)
    }
    stop()
    expect(await register.metrics()).toBe('\n')
  })

  it('reports several clients on one registry by name, refuses a second client of the same name, and removes each', async () => {
    const a = env.client({ name: 'a', minWorkers: 1, maxWorkers: 1 })
    const b = env.client({ name: 'b', minWorkers: 1, maxWorkers: 2 })
    const twin = env.client({ name: 'a', minWorkers: 0, autostart: false })
    await Promise.all([warm(a), warm(b)])
    const register = new Registry()
    const stopA = collectDefaultForkdMetrics(a, { register })
    const stopB = collectDefaultForkdMetrics(b, { register })
    expect(() => collectDefaultForkdMetrics(twin, { register })).toThrow(TypeError)
    expect(() => collectDefaultForkdMetrics(twin, { register })).toThrow('a client named "a" is already collected on this registry')
    const both = parsePrometheus(await register.metrics())
    expect(sampleValue(both, 'forkd_client_connection_max', { pool_name: 'a' })).toBe(1)
    expect(sampleValue(both, 'forkd_client_connection_max', { pool_name: 'b' })).toBe(2)
    stopA()
    const left = parsePrometheus(await register.metrics())
    expect(family(left, 'forkd_client_connection_max').metrics.map((m) => m.labels?.pool_name)).toEqual(['b'])
    stopB()
    expect(register.getMetricsAsArray()).toEqual([])
  })

  it("names the metrics with the prefix ('db_' gives OpenTelemetry's names) and leaves the histograms empty with recordTiming: false", async () => {
    const client = env.client({ name: 'untimed', minWorkers: 1, maxWorkers: 1, recordTiming: false })
    await warm(client)
    await client.run((c) => c.echo(1))
    await waitFor(() => client.stats().idle === 1, 'the worker back in the pool')
    const register = new Registry()
    collectDefaultForkdMetrics(client, { register, prefix: 'db_' })
    const families = parsePrometheus(await register.metrics())
    expect(sampleValue(families, 'db_client_connection_count', { pool_name: 'untimed', state: 'idle' })).toBe(1)
    expect(sampleValue(families, 'db_client_checkouts_total', { pool_name: 'untimed' })).toBe(1)
    expect(family(families, 'db_client_connection_wait_time_seconds').metrics).toEqual([])
    expect(families.some((f) => f.name.startsWith('forkd_'))).toBe(false)
  })

  it('keeps one _total on counters in an OpenMetrics registry', async () => {
    const client = env.client({ name: 'om', minWorkers: 1, maxWorkers: 1 })
    await warm(client)
    // prom-client's declarations have no constructor argument; setContentType is the typed way.
    const register = new Registry<OpenMetricsContentType>()
    register.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    collectDefaultForkdMetrics(client, { register })
    for (let scrape = 0; scrape < 2; scrape++) {
      const text = await register.metrics()
      expect(text).toContain('# TYPE forkd_client_connection_timeouts counter\n')
      expect(text).toContain('forkd_client_connection_timeouts_total{pool_name="om"} 0\n')
      expect(text).not.toContain('_total_total')
      expect(text.endsWith('# EOF\n')).toBe(true)
    }
  })

  it('refuses what is not a client, a registry or a prefix, with TypeError', () => {
    const client = env.client({ minWorkers: 0, autostart: false })
    const register = new Registry()
    expect(() => collectDefaultForkdMetrics({ stats: () => ({}) } as never, { register })).toThrow('must be a Client of this copy of @forkd/client')
    expect(() => collectDefaultForkdMetrics(client, { register: {} as never })).toThrow('option "register" must be a prom-client Registry')
    expect(() => collectDefaultForkdMetrics(client, { register, prefix: '9x' })).toThrow('option "prefix" must be a Prometheus metric name prefix')
    expect(register.getMetricsAsArray()).toEqual([])
  })
})
