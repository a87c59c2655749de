/**
 * The `metrics` option: where the Prometheus endpoint listens. Loopback only: the endpoint has no
 * authentication, so an address another host can reach is refused (put an authenticating proxy in
 * front of it to scrape from elsewhere).
 */
import { isIP } from 'node:net'
import type { OptionChecks } from '@forkd/protocol/internal'

/** Where `GET /metrics` is served: a loopback host (default 127.0.0.1) and a TCP port (0: any free one). */
export interface MetricsOptions {
  /** A loopback address: `127.0.0.1` (the default), any `127.x.y.z`, `::1` or `localhost`. */
  host?: string
  /** The TCP port; 0 picks a free one (read it from `server.metricsAddress`). */
  port: number
}

/** Whether `host` names this machine's loopback interface only. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  return isIP(host) === 4 && host.startsWith('127.')
}

/** Validates `metrics` (undefined: no endpoint) and fills in the host. */
export function normalizeMetricsOptions(value: unknown, fail: OptionChecks['fail']): { host: string; port: number } | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) fail('metrics', '{ host?, port }', value)
  const { host = '127.0.0.1', port, ...rest } = value as MetricsOptions
  const extra = Object.keys(rest)[0]
  if (extra !== undefined) fail(`metrics.${extra}`, 'absent (metrics takes host and port)', extra)
  if (typeof host !== 'string' || !isLoopbackHost(host))
    fail('metrics.host', 'a loopback address (127.0.0.1, 127.x.y.z, ::1 or localhost): /metrics has no authentication', host)
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('metrics.port', 'an integer from 0 to 65535', port)
  return { host, port }
}
