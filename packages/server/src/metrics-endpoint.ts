/**
 * `GET /metrics` over plain HTTP on a loopback address (the `metrics` option; metrics-options.ts
 * refuses any other). Answered by the server process itself from `status()`, so it answers while
 * every worker is busy. Anything but `GET /metrics` (or `HEAD`) gets a 404 or 405.
 */
import { createServer, type Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The content type of Prometheus' text format. */
export const metricsContentType = 'text/plain; version=0.0.4; charset=utf-8'

/** Where `GET /metrics` listens. */
export interface MetricsAddress {
  /** The loopback host. */
  host: string
  /** The TCP port bound (a free one when 0 was asked for). */
  port: number
}

export interface MetricsEndpoint {
  /** The address actually bound (the port, when 0 was asked for). */
  address: MetricsAddress
  close(): Promise<void>
}

/** Listens on `host:port`; `render` makes the body of each answer. Rejects when it cannot bind. */
export function startMetricsEndpoint(host: string, port: number, render: () => string): Promise<MetricsEndpoint> {
  const http: HttpServer = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('forkd: only /metrics is served here\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('forkd: /metrics answers GET\n')
      return
    }
    let body: string
    try {
      body = render()
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`forkd: cannot render the metrics: ${(error as Error).message}\n`)
      return
    }
    res.writeHead(200, { 'content-type': metricsContentType, 'content-length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
  })
  // Scrapers keep connections alive; close() must not wait for them.
  http.keepAliveTimeout = 5_000
  return new Promise((resolve, reject) => {
    http.once('error', reject)
    http.listen(port, host, () => {
      http.off('error', reject)
      const bound = http.address() as AddressInfo
      resolve({
        address: { host, port: bound.port },
        close: () => new Promise<void>((done) => {
          http.close(() => done())
          http.closeAllConnections()
        }),
      })
    })
  })
}
