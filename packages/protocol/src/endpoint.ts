/**
 * Where a forkd server listens and a client connects: one parser for both, so every form the CLI
 * accepts (`/run/app.sock`, `host:port`, `[::1]:7000`) means the same thing in `Server.start`,
 * `new Client`, `forkd serve --listen` and `forkd status`.
 */
import { WORKER_PATH } from './constants.js'

/** A TCP address. */
export interface TcpEndpoint {
  /** A host name or an IP address. */
  host: string
  /** A TCP port, 0 to 65535. */
  port: number
}

/** A Unix socket path (absolute), or a TCP host and port. */
export type Endpoint = string | TcpEndpoint

/** What users may write for an endpoint: a path, `'host:port'`, `'[v6]:port'`, or `{ host, port }`. */
export type EndpointInput = string | TcpEndpoint

/** Why an endpoint was refused, as the tail of an option error ("must be ..."). */
export class EndpointSyntaxError extends TypeError {
  /** What the endpoint must be, e.g. `an absolute socket path, "host:port" or { host, port }`. */
  readonly expected: string
  constructor(expected: string, given: unknown) {
    super(`must be ${expected}, got ${typeof given === 'string' ? JSON.stringify(given) : safeJson(given)}`)
    this.expected = expected
  }
}

const expectation = 'an absolute socket path, "host:port" or { host, port }'
const hostPort = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^:/[\]\s]+)):(\d{1,5})$/

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return Object.prototype.toString.call(v)
  }
}

function checkPort(port: unknown, allowZero: boolean, given: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535)
    throw new EndpointSyntaxError(`${expectation} with a port from ${allowZero ? 0 : 1} to 65535`, given)
  return port
}

/**
 * Parses an endpoint. A string with a `/` is a socket path and must be absolute; `host:port` and
 * `[ipv6]:port` are TCP. Throws EndpointSyntaxError (a TypeError) saying what is expected.
 * `allowPortZero`: a server may listen on port 0 (any free port); a client cannot connect to it.
 */
export function parseEndpoint(input: unknown, options: { allowPortZero?: boolean } = {}): Endpoint {
  const allowZero = options.allowPortZero ?? false
  if (typeof input === 'string') {
    if (input.includes('/')) {
      if (!input.startsWith('/')) throw new EndpointSyntaxError(`${expectation} (a relative socket path is ambiguous: resolve it first)`, input)
      return input
    }
    const m = hostPort.exec(input)
    if (m === null) throw new EndpointSyntaxError(expectation, input)
    return { host: m[1] ?? m[2]!, port: checkPort(Number(m[3]), allowZero, input) }
  }
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    const { host, port } = input as Partial<TcpEndpoint>
    if (typeof host !== 'string' || host.length === 0) throw new EndpointSyntaxError(expectation, input)
    return { host, port: checkPort(port, allowZero, input) }
  }
  throw new EndpointSyntaxError(expectation, input)
}

/** `/run/app.sock`, `127.0.0.1:7000`, `[::1]:7000`: how endpoints are named in messages and stats. */
export function describeEndpoint(endpoint: Endpoint): string {
  if (typeof endpoint === 'string') return endpoint
  return endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`
}

/** The WebSocket URL of `path` (default: a worker connection) on `endpoint`; `secure` for TLS. */
export function endpointUrl(endpoint: Endpoint, path: string = WORKER_PATH, secure = false): string {
  if (typeof endpoint === 'string') return `ws+unix://${endpoint}:${path}`
  return `${secure ? 'wss' : 'ws'}://${describeEndpoint(endpoint)}${path}`
}
