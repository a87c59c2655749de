/**
 * Endpoint discovery: the endpoints `connect` names right now. Fixed endpoints are known at once;
 * DNS names (`{ dns, port }`: A and AAAA records; `{ srv }`: SRV records, their targets resolved
 * through the same resolver) are resolved at start, every `resolveInterval` (80 to 100 % of it, at
 * random, so clients started together do not query together) and soon after a connection attempt
 * fails. The connection opener is told whenever the set changes.
 *
 * A resolution that fails, or that finds no record at all, changes nothing: the last good answer
 * stays (a DNS hiccup must not retire every worker), and the error is kept for `stats().names` and
 * as the cause of a checkout that times out while no endpoint is known. Until a name has answered
 * once it is retried with a backoff (100 ms doubling up to resolveInterval).
 */
import { isIP } from 'node:net'
import { Resolver } from 'node:dns/promises'
import { describeEndpoint, type Endpoint } from '@forkd/protocol'
import { backoffDelay } from '@forkd/protocol/internal'
import type { ConnectSource, DnsResolver } from './connect-targets.js'
import { ResolveError } from './errors.js'

/** One endpoint as discovery found it. */
export interface DiscoveredEndpoint {
  readonly endpoint: Endpoint
  /** `host:port` or the socket path: the endpoint's identity. */
  readonly name: string
  /** From SRV records: lower is preferred; 0 for every other form. */
  readonly priority: number
}

/** One DNS name in `connect`, as `stats().names` shows it. */
export interface NameStats {
  /** The name as given in `connect`. */
  name: string
  /** What is asked for it. */
  records: 'A/AAAA' | 'SRV'
  /** Endpoints in its current answer (the last good one). */
  endpoints: number
  /** Consecutive resolutions that gave no usable answer. */
  failures: number
  /** The error of the latest resolution, if any of its queries failed; a ResolveError. */
  lastError: Error | undefined
}

export interface DiscoveryOptions {
  sources: readonly ConnectSource[]
  /** The user's resolver; a system Resolver is made when a name needs one and none is given. */
  resolver: DnsResolver | undefined
  resolveInterval: number
  /** Called (never synchronously from the constructor) when the set of endpoints changes. */
  onChange: () => void
  random?: () => number
}

/** A failed connection attempt re-resolves at once, but not more often than this. */
const earlyResolveGap = 1_000
/** First retry of a name that has never answered. */
const firstRetry = 100

/** "The name exists but has no such records" or "no such name": an answer, not a failure. */
function isNoRecords(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ENODATA' || code === 'ENOTFOUND'
}

function describeCause(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null
  if (typeof e?.code === 'string') return e.code
  return typeof e?.message === 'string' ? e.message : String(error)
}

class WatchedName {
  readonly source: Extract<ConnectSource, { kind: 'dns' | 'srv' }>
  /** The last good answer. */
  endpoints: DiscoveredEndpoint[] = []
  answered = false
  failures = 0
  lastError: ResolveError | undefined
  lastErrorAt = 0
  readonly #discovery: EndpointDiscovery
  readonly #resolver: DnsResolver
  /** Last good addresses per query (`A host`, `AAAA host`), kept when that query fails. */
  readonly #lastGood = new Map<string, string[]>()
  #inFlight = false
  #startedAt = -Infinity
  #timer: NodeJS.Timeout | undefined

  constructor(source: Extract<ConnectSource, { kind: 'dns' | 'srv' }>, resolver: DnsResolver, discovery: EndpointDiscovery) {
    this.source = source
    this.#resolver = resolver
    this.#discovery = discovery
  }

  get records(): 'A/AAAA' | 'SRV' {
    return this.source.kind === 'srv' ? 'SRV' : 'A/AAAA'
  }

  /** Resolves now unless a query is in flight or one started less than `gap` ms ago. */
  resolveNow(gap = 0): void {
    if (this.#inFlight || this.#discovery.closed || performance.now() - this.#startedAt < gap) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    void this.#resolve()
  }

  keepProcessAlive(alive: boolean): void {
    if (alive) this.#timer?.ref()
    else this.#timer?.unref()
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #resolve(): Promise<void> {
    this.#inFlight = true
    this.#startedAt = performance.now()
    let found: DiscoveredEndpoint[] | undefined
    let error: ResolveError | undefined
    try {
      const result = this.source.kind === 'dns' ? await this.#lookupDns() : await this.#lookupSrv()
      found = result[0]
      error = result[1]
    } catch (thrown) {
      // A user's resolver that throws synchronously or returns nonsense.
      error = thrown instanceof ResolveError ? thrown : this.#error(this.source.name, this.records, thrown)
    }
    this.#inFlight = false
    if (this.#discovery.closed) return
    if (error !== undefined) {
      this.lastError = error
      this.lastErrorAt = performance.now()
    } else {
      this.lastError = undefined
    }
    if (found !== undefined && found.length > 0) {
      this.failures = 0
      this.answered = true
      this.endpoints = found
      this.#discovery.answerChanged()
    } else {
      this.failures++
    }
    this.#schedule()
  }

  #schedule(): void {
    const interval = this.#discovery.resolveInterval
    const random = this.#discovery.random
    const delay = this.answered
      ? interval * (0.8 + 0.2 * random())
      : backoffDelay(this.failures, { min: Math.min(firstRetry, interval), max: interval }, random)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#resolve()
    }, delay)
    if (!this.#discovery.keepingAlive) this.#timer.unref()
  }

  #error(name: string, records: string, cause: unknown): ResolveError {
    const why = cause === undefined ? `no ${records} records` : describeCause(cause)
    return new ResolveError(`cannot resolve ${name} (${records}): ${why}`, name, cause === undefined ? undefined : { cause })
  }

  /**
   * The addresses of `host`: A and AAAA asked together. A type whose query failed contributes its
   * last good addresses; the result is undefined when neither type gave any.
   */
  async #addressesOf(host: string): Promise<[string[] | undefined, ResolveError | undefined]> {
    const results = await Promise.allSettled([this.#resolver.resolve4(host), this.#resolver.resolve6(host)])
    const found: string[] = []
    let fresh = false
    let failure: unknown
    results.forEach((result, i) => {
      const key = `${i === 0 ? 'A' : 'AAAA'} ${host}`
      if (result.status === 'fulfilled') {
        const list = checkAddresses(result.value, i === 0 ? 4 : 6, host)
        this.#lastGood.set(key, list)
        found.push(...list)
        fresh ||= list.length > 0
      } else if (isNoRecords(result.reason)) {
        this.#lastGood.set(key, [])
      } else {
        failure ??= result.reason
        found.push(...(this.#lastGood.get(key) ?? []))
      }
    })
    const error = failure === undefined && fresh ? undefined : this.#error(host, 'A/AAAA', failure)
    return [fresh ? found : undefined, error]
  }

  async #lookupDns(): Promise<[DiscoveredEndpoint[] | undefined, ResolveError | undefined]> {
    const source = this.source as Extract<ConnectSource, { kind: 'dns' }>
    const [addresses, error] = await this.#addressesOf(source.name)
    return [addresses?.map((host) => discovered({ host, port: source.port }, 0)), error]
  }

  async #lookupSrv(): Promise<[DiscoveredEndpoint[] | undefined, ResolveError | undefined]> {
    const name = this.source.name
    let records
    try {
      records = checkSrvRecords(await this.#resolver.resolveSrv(name), name)
    } catch (error) {
      if (error instanceof ResolveError) throw error
      throw this.#error(name, 'SRV', isNoRecords(error) ? undefined : error)
    }
    // RFC 2782: a target of "." says the service is not available at this name.
    records = records.filter((r) => r.name !== '' && r.name !== '.')
    const targets = [...new Set(records.map((r) => r.name))]
    const addresses = new Map<string, string[]>()
    let error: ResolveError | undefined
    await Promise.all(targets.map(async (target) => {
      if (isIP(target) !== 0) return void addresses.set(target, [target])
      const [found, failure] = await this.#addressesOf(target)
      error ??= failure
      if (found !== undefined) addresses.set(target, found)
    }))
    const endpoints = records.flatMap((r) => (addresses.get(r.name) ?? []).map((host) => discovered({ host, port: r.port }, r.priority)))
    if (endpoints.length === 0) return [undefined, error ?? this.#error(name, 'SRV', undefined)]
    return [endpoints, error]
  }
}

function discovered(endpoint: Endpoint, priority: number): DiscoveredEndpoint {
  return { endpoint, name: describeEndpoint(endpoint), priority }
}

function checkAddresses(list: unknown, family: 4 | 6, host: string): string[] {
  if (!Array.isArray(list) || !list.every((a) => typeof a === 'string' && isIP(a) === family))
    throw new ResolveError(`cannot resolve ${host}: the resolver's resolve${family} gave something other than a list of IPv${family} addresses`, host)
  return list as string[]
}

function checkSrvRecords(list: unknown, name: string): { name: string; port: number; priority: number }[] {
  const ok = Array.isArray(list) && list.every((r) => typeof r === 'object' && r !== null && typeof r.name === 'string' &&
    Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535 && (r.priority === undefined || Number.isInteger(r.priority)))
  if (!ok) throw new ResolveError(`cannot resolve ${name}: the resolver's resolveSrv gave something other than a list of SRV records`, name)
  return (list as { name: string; port: number; priority?: number }[]).map((r) => ({ name: r.name, port: r.port, priority: r.priority ?? 0 }))
}

export class EndpointDiscovery {
  readonly resolveInterval: number
  readonly random: () => number
  readonly #onChange: () => void
  readonly #fixed: DiscoveredEndpoint[] = []
  readonly #names: WatchedName[] = []
  readonly #ownResolver: Resolver | undefined
  #current: readonly DiscoveredEndpoint[] = []
  #currentKey = ''
  #keepAlive = false
  #closed = false

  constructor(options: DiscoveryOptions) {
    this.resolveInterval = options.resolveInterval
    this.random = options.random ?? Math.random
    this.#onChange = options.onChange
    let resolver = options.resolver
    for (const source of options.sources) {
      if (source.kind === 'endpoint') {
        this.#fixed.push(discovered(source.endpoint, 0))
        continue
      }
      if (resolver === undefined) resolver = this.#ownResolver = new Resolver()
      this.#names.push(new WatchedName(source, resolver, this))
    }
    this.#update()
    for (const name of this.#names) name.resolveNow()
  }

  get closed(): boolean {
    return this.#closed
  }

  get keepingAlive(): boolean {
    return this.#keepAlive
  }

  /** Whether endpoints can come and go (some entry of `connect` is a DNS name). */
  get dynamic(): boolean {
    return this.#names.length > 0
  }

  /** The endpoints named right now, each once (the lowest SRV priority wins). */
  get endpoints(): readonly DiscoveredEndpoint[] {
    return this.#current
  }

  /** The most recent resolution error of any name, while that name's latest resolution failed. */
  get lastError(): ResolveError | undefined {
    let latest: WatchedName | undefined
    for (const n of this.#names) if (n.lastError !== undefined && (latest === undefined || n.lastErrorAt > latest.lastErrorAt)) latest = n
    return latest?.lastError
  }

  /** A connection attempt failed: the answer may be stale, ask again (rate-limited). */
  resolveSoon(): void {
    for (const name of this.#names) name.resolveNow(Math.min(earlyResolveGap, this.resolveInterval))
  }

  /** Whether pending re-resolutions keep the process alive: yes while checkouts wait. */
  keepProcessAlive(alive: boolean): void {
    if (alive === this.#keepAlive) return
    this.#keepAlive = alive
    for (const name of this.#names) name.keepProcessAlive(alive)
  }

  stats(): NameStats[] {
    return this.#names.map((n) => ({
      name: n.source.name, records: n.records, endpoints: n.endpoints.length, failures: n.failures, lastError: n.lastError,
    }))
  }

  close(): void {
    this.#closed = true
    for (const name of this.#names) name.close()
    this.#ownResolver?.cancel()
  }

  /** A name's answer was replaced (called by WatchedName). */
  answerChanged(): void {
    if (this.#update()) this.#onChange()
  }

  /** Recomputes the union; true when it changed. */
  #update(): boolean {
    const byName = new Map<string, DiscoveredEndpoint>()
    for (const e of [...this.#fixed, ...this.#names.flatMap((n) => n.endpoints)]) {
      const seen = byName.get(e.name)
      if (seen === undefined || e.priority < seen.priority) byName.set(e.name, seen === undefined ? e : { ...seen, priority: e.priority })
    }
    const current = [...byName.values()]
    const key = current.map((e) => `${e.name}@${e.priority}`).sort().join(' ')
    if (key === this.#currentKey) return false
    this.#current = current
    this.#currentKey = key
    return true
  }
}
