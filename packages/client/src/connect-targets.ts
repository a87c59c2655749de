/**
 * What `connect` may name: one endpoint, a list, a DNS name whose A/AAAA records are the servers, or
 * an SRV name whose records give host and port. Parsed once, in the options, into sources that
 * endpoint discovery (endpoint-discovery.ts) watches.
 */
import { isIP } from 'node:net'
import { EndpointSyntaxError, parseEndpoint, type Endpoint, type EndpointInput } from '@forkd/protocol'
import { describeValue } from '@forkd/protocol/internal'

/** Every server behind a DNS name: one endpoint per A and AAAA record, all on `port`. */
export interface DnsTarget {
  /** The name to resolve, e.g. a Kubernetes headless Service `forkd.app.svc.cluster.local`. */
  dns: string
  /** The TCP port every resolved address is served on. */
  port: number
}

/** Every server an SRV name lists, e.g. `_forkd._tcp.forkd.app.svc.cluster.local`. */
export interface SrvTarget {
  /** The SRV name; each record gives a host (resolved again) and a port. */
  srv: string
}

/** One place to find forkd servers. */
export type ConnectTarget = EndpointInput | DnsTarget | SrvTarget

/**
 * The DNS look-ups the client makes: `dns.promises.Resolver` has them (point one at a chosen server
 * with `setServers`), and so may any object with the same methods.
 */
export interface DnsResolver {
  /** The IPv4 addresses of `hostname`. */
  resolve4(hostname: string): Promise<string[]>
  /** The IPv6 addresses of `hostname`. */
  resolve6(hostname: string): Promise<string[]>
  /** The SRV records of `hostname`. */
  resolveSrv(hostname: string): Promise<SrvRecord[]>
}

/** One SRV record, as `dns.promises.Resolver#resolveSrv` gives it. */
export interface SrvRecord {
  /** The target host name. */
  name: string
  /** The target port. */
  port: number
  /** Lower is preferred (RFC 2782). */
  priority: number
  /** Relative share among records of the same priority. */
  weight: number
}

/** A parsed `connect` entry. */
export type ConnectSource =
  | { readonly kind: 'endpoint'; readonly endpoint: Endpoint }
  | { readonly kind: 'dns'; readonly name: string; readonly port: number }
  | { readonly kind: 'srv'; readonly name: string }

type Fail = (option: string, expected: string, given: unknown) => never

const forms = 'a list of endpoints, { dns, port } or { srv }'
/** A DNS name: dot-separated labels of letters, digits, `-` and `_` (SRV names start with `_`). */
const dnsName = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function checkKeys(option: string, given: Record<string, unknown>, allowed: readonly string[], expected: string, fail: Fail): void {
  for (const key of Object.keys(given)) if (!allowed.includes(key)) fail(option, expected, given)
}

function parseOne(option: string, input: unknown, fail: Fail): ConnectSource {
  if (isObject(input) && 'dns' in input) {
    const expected = '{ dns: NAME, port: 1..65535 } with NAME a DNS name (for an address, use { host, port })'
    checkKeys(option, input, ['dns', 'port'], expected, fail)
    const { dns, port } = input
    if (typeof dns !== 'string' || !dnsName.test(dns) || isIP(dns) !== 0) fail(option, expected, input)
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) fail(option, expected, input)
    return { kind: 'dns', name: dns, port }
  }
  if (isObject(input) && 'srv' in input) {
    const expected = '{ srv: NAME } with NAME a DNS name, e.g. "_forkd._tcp.example.internal"'
    checkKeys(option, input, ['srv'], expected, fail)
    if (typeof input.srv !== 'string' || !dnsName.test(input.srv) || isIP(input.srv) !== 0) fail(option, expected, input)
    return { kind: 'srv', name: input.srv }
  }
  try {
    return { kind: 'endpoint', endpoint: parseEndpoint(input) }
  } catch (error) {
    if (!(error instanceof EndpointSyntaxError)) throw error
    throw new TypeError(`forkd Client: option "${option}" ${error.message}${option === 'connect' ? ` (or ${forms})` : ''}`)
  }
}

function keyOf(source: ConnectSource): string {
  if (source.kind === 'dns') return `dns ${source.name.toLowerCase()}:${source.port}`
  if (source.kind === 'srv') return `srv ${source.name.toLowerCase()}`
  const e = source.endpoint
  return typeof e === 'string' ? `path ${e}` : `tcp ${e.host.toLowerCase()}:${e.port}`
}

/** Parses `connect`; throws a TypeError naming the option (`connect`, `connect[2]`) and what it must be. */
export function parseConnect(input: unknown, fail: Fail): ConnectSource[] {
  if (!Array.isArray(input)) return [parseOne('connect', input, fail)]
  if (input.length === 0) fail('connect', `a non-empty list (${forms})`, input)
  const sources: ConnectSource[] = []
  const seen = new Set<string>()
  input.forEach((entry, i) => {
    if (Array.isArray(entry)) fail(`connect[${i}]`, 'an endpoint, { dns, port } or { srv }, not a list', entry)
    const source = parseOne(`connect[${i}]`, entry, fail)
    // The same server named twice is one endpoint, not twice the share of connections.
    const key = keyOf(source)
    if (!seen.has(key)) sources.push(source)
    seen.add(key)
  })
  return sources
}

/** The resolver methods the sources need, checked once so a bad resolver fails at construction. */
export function checkResolver(resolver: unknown, sources: readonly ConnectSource[], fail: Fail): void {
  const needed = new Set<keyof DnsResolver>()
  for (const s of sources) {
    if (s.kind === 'endpoint') continue
    needed.add('resolve4').add('resolve6')
    if (s.kind === 'srv') needed.add('resolveSrv')
  }
  const expected = `a dns.promises.Resolver or an object with ${needed.size > 0 ? [...needed].join(', ') : 'resolve4, resolve6 and resolveSrv'} methods`
  if (!isObject(resolver)) fail('resolver', expected, resolver)
  for (const method of needed) if (typeof resolver[method] !== 'function') fail('resolver', `${expected} (${method} is ${describeValue(resolver[method])})`, resolver)
}
