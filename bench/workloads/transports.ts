/**
 * Workload 9: the same two hot paths over each transport, in one run: a held call (µs per awaited
 * call) and a checkout cycle (checkout → one call → release on a warm pool), over a Unix socket
 * and over TCP on loopback; and the cost of a new worker connection (ms from checkout() to the
 * checkout on a fresh connection: connect, the server's hand-off to a ready spare, the TLS
 * handshake in the worker, the upgrade with its token check, the hello). Transports are
 * interleaved round by round, so their ratio survives the machine's drift.
 *
 * A transport is an entry of `transports`: how its server listens (plus any Server.start options)
 * and what its client adds: Unix socket, plain TCP, TLS, TLS with a token.
 */
import { Client, type ClientOptions } from '@forkd/client'
import { Cleanup } from '../lib/cleanup.js'
import { checkoutCallRelease } from '../lib/contenders.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { benchFile } from '../lib/context.js'
import { startForkdServer, type ForkdServer, type ForkdServerOptions } from '../lib/forkd.js'
import { interleave, median, medianRatio, microsPerOp, warmUp, type Measure } from '../lib/stats.js'
import { fmt } from '../report.js'

const payload = '0123456789abcdef'
/** Spares per server; the hot paths hold two more workers. */
const spares = 2

/**
 * The test suite's test-only certificates (test/fixtures/tls, valid for 100 years): a benchmark
 * measures the cost of TLS, not of a particular CA.
 */
const tlsFile = (name: string) => benchFile(`../../test/fixtures/tls/${name}`)
const serverTls = { key: tlsFile('server-key.pem'), cert: tlsFile('server-cert.pem') }
const clientTls = { ca: tlsFile('ca-cert.pem') }
const benchToken = 'bench-token-0123456789abcdef'

interface Transport {
  /** Short name, used in sample keys. */
  name: string
  /** How the report names it. */
  label: string
  /** Where and how its server listens. */
  server: Pick<ForkdServerOptions, 'listen' | 'server'>
  /** What its clients add to `connect` (TLS options, a token). */
  client: Partial<ClientOptions>
}

const transports: readonly Transport[] = [
  { name: 'unix', label: 'Unix socket', server: {}, client: {} },
  // Plain TCP is the insecure choice a server must be told to take (issue 14); on loopback only.
  { name: 'tcp', label: 'TCP on 127.0.0.1, no TLS', server: { listen: { host: '127.0.0.1', port: 0 }, server: { insecure: true } }, client: {} },
  // A token is checked once per connection, at the upgrade: the held call and the cycle on a warm
  // pool should not see it; TLS costs on every frame.
  { name: 'tls', label: 'TLS on 127.0.0.1', server: { listen: { host: '127.0.0.1', port: 0 }, server: { tls: serverTls, insecure: true } }, client: { tls: clientTls } },
  { name: 'tls-token', label: 'TLS on 127.0.0.1 with a token', server: { listen: { host: '127.0.0.1', port: 0 }, server: { tls: serverTls, auth: { tokens: [benchToken] } } },
    client: { tls: clientTls, auth: { token: benchToken } } },
]

/**
 * Median ms of `samples` checkouts, each on a new connection (the client keeps none: minWorkers 0,
 * maxCheckouts 1). Before each, and before returning, the server has every spare ready and the
 * previous connection's worker gone, so neither a spare's start nor an exit runs beside the clock
 * (nor beside the next contender's).
 */
async function newConnectionMs(server: ForkdServer, client: Client, samples: number): Promise<number> {
  const settled = () => server.waitForStatus(`${spares} spares ready and only the hot paths' 2 workers active`, (st) => st.spares >= spares && st.starting === 0 && st.active === 2)
  const ms: number[] = []
  for (let i = 0; i < samples; i++) {
    await settled()
    const start = performance.now()
    const c = await client.checkout()
    ms.push(performance.now() - start)
    c.release()
  }
  await settled()
  return median(ms)
}

export async function transportsWorkload(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(10_000, 2_000)
  const rounds = ctx.rounds(7, 3)
  const connections = ctx.pick(5, 2)
  const cleanup = new Cleanup()
  try {
    const contenders: Record<string, Measure> = {}
    for (const t of transports) {
      const server = cleanup.add(await startForkdServer(ctx, { spares, name: t.name, ...t.server }), (s) => s.stop())
      // Two workers: one held for the calls, one cycled.
      const client = cleanup.add(new Client({ ...t.client, connect: server.path, minWorkers: 2, maxWorkers: 2 }), (c) => c.close())
      const warm = [await client.checkout(), await client.checkout()]
      await Promise.all(warm.map((c) => c.echo('warm-up')))
      warm[1]!.release()
      const held = cleanup.add(warm[0]!, (c) => c.release())
      const cycle = checkoutCallRelease(client, payload)
      contenders[`${t.name}-held`] = () => microsPerOp(n, () => held.echo(payload))
      contenders[`${t.name}-cycle`] = () => microsPerOp(n, cycle)
      const fresh = cleanup.add(new Client({ ...t.client, connect: server.path, minWorkers: 0, maxWorkers: 1, maxCheckouts: 1 }), (c) => c.close())
      contenders[`${t.name}-connect`] = () => newConnectionMs(server, fresh, connections)
    }
    await warmUp(contenders)
    const s = await interleave(rounds, contenders, (r) => ctx.log(`transports: round ${r}/${rounds} (${n} each)`))
    const base = transports[0]!
    const rows = transports.flatMap((t) => [
      { metric: `held call, µs per awaited call: ${t.label}`, forkd: fmt.micros(median(s[`${t.name}-held`]!)) },
      { metric: `checkout+call+release, µs per iteration: ${t.label}`, forkd: fmt.micros(median(s[`${t.name}-cycle`]!)) },
      { metric: `new worker connection (connect, hand-off, upgrade, hello), ms: ${t.label}`, forkd: fmt.ms(median(s[`${t.name}-connect`]!)) },
    ])
    const notes = transports.slice(1).map((t) =>
      `${t.label} ÷ ${base.label}: held call ${fmt.ratio(medianRatio(s[`${t.name}-held`]!, s[`${base.name}-held`]!))}, ` +
      `cycle ${fmt.ratio(medianRatio(s[`${t.name}-cycle`]!, s[`${base.name}-cycle`]!))}, ` +
      `new connection ${fmt.ratio(medianRatio(s[`${t.name}-connect`]!, s[`${base.name}-connect`]!))} (median of ${rounds} per-round ratios).`)
    notes.push(`${n.toLocaleString('en-US')} operations per round and transport, 16-byte string; one server per transport, in its own process; over TCP the client masks its frames (RFC 6455) and keeps TCP keepalive on; over a Unix socket it does not mask. TLS: each worker terminates it (TLS 1.3, a P-256 certificate); the token is checked once per connection. New connection: the median of ${connections} checkouts per round and transport, each on a fresh connection to a spare that was ready (TLS: a full handshake, no session resumption), timed from checkout() to the checkout.`)
    return { name: 'transports', title: '9 transports', rows, checks: [], notes, samples: {
      n, connections,
      microsPerOp: Object.fromEntries(Object.entries(s).filter(([k]) => !k.endsWith('-connect'))),
      newConnectionMs: Object.fromEntries(Object.entries(s).filter(([k]) => k.endsWith('-connect'))),
    } }
  } finally {
    await cleanup.run()
  }
}
