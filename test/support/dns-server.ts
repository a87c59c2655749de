/**
 * A real DNS server for the multi-host tests: dns2 (from npm) answering on UDP on a loopback
 * address and a free port, from records the test sets and changes while the client runs. A, AAAA
 * and SRV; TTL 0; a name it has no records for gets NXDOMAIN. It counts the queries it answers,
 * so a test can wait for "the client has asked again" instead of sleeping.
 */
import { Resolver } from 'node:dns/promises'
import dns2 from 'dns2'

const { Packet } = dns2

export interface SrvRecord {
  /** Target host (a name the same server answers, or an address). */
  target: string
  port: number
  priority?: number
  weight?: number
}

export class TestDnsServer {
  readonly host: string
  readonly port: number
  /** A records by name (lower case, no trailing dot). */
  readonly a = new Map<string, string[]>()
  /** SRV records by name. */
  readonly srv = new Map<string, SrvRecord[]>()
  /** Every query answered: `A name`, `AAAA name`, `SRV name`. */
  readonly queries: string[] = []
  readonly #server: ReturnType<typeof dns2.createServer>

  private constructor(server: ReturnType<typeof dns2.createServer>, host: string, port: number) {
    this.#server = server
    this.host = host
    this.port = port
  }

  /** Starts on `host` and `port` (0: a free port). */
  static async start(host = '127.0.0.1', port = 0): Promise<TestDnsServer> {
    let self: TestDnsServer | undefined
    const server = dns2.createServer({
      udp: true,
      handle: (request, send) => send(self!.answer(request as never) as never),
    })
    // Its 'error' events would be unhandled otherwise; a test fails on the answers, not here.
    server.on('requestError', () => {})
    server.on('error', () => {})
    const addresses = await server.listen({ udp: { port, address: host } })
    self = new TestDnsServer(server, host, (addresses as { udp: { port: number } }).udp.port)
    return self
  }

  /** A resolver that asks this server only, and gives up quickly. */
  resolver(): Resolver {
    const resolver = new Resolver({ timeout: 500, tries: 2 })
    resolver.setServers([`${this.host}:${this.port}`])
    return resolver
  }

  /** How many queries `query` (`A name`) were answered. */
  count(query: string): number {
    return this.queries.filter((q) => q === query).length
  }

  close(): Promise<void> {
    return this.#server.close() as Promise<void>
  }

  answer(request: { questions: { name: string; type: number }[] }): unknown {
    const response = Packet.createResponseFromRequest(request as never) as { header: { rcode: number; aa: number }; answers: unknown[] }
    response.header.aa = 1
    for (const q of request.questions) {
      const name = q.name.toLowerCase().replace(/\.$/, '')
      const known = this.a.has(name) || this.srv.has(name)
      if (q.type === Packet.TYPE.A) {
        this.queries.push(`A ${name}`)
        for (const address of this.a.get(name) ?? []) response.answers.push({ name: q.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 0, address })
      } else if (q.type === Packet.TYPE.AAAA) {
        this.queries.push(`AAAA ${name}`)
      } else if (q.type === Packet.TYPE.SRV) {
        this.queries.push(`SRV ${name}`)
        for (const r of this.srv.get(name) ?? [])
          response.answers.push({ name: q.name, type: Packet.TYPE.SRV, class: Packet.CLASS.IN, ttl: 0, priority: r.priority ?? 0, weight: r.weight ?? 1, port: r.port, target: r.target })
      }
      if (!known) response.header.rcode = Packet.RCODE.NXDOMAIN
    }
    return response
  }
}
