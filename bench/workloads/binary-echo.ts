/**
 * Workload 6: echo of a 1 MiB Buffer in a held checkout, each awaited before the next; MB/s each
 * way (1 MB = 10^6 bytes; n MiB go out and n MiB come back). Against the raw ws+CBOR transport;
 * workerpool (JSON over IPC) and piscina (structured clone) for reference.
 */
import { randomBytes } from 'node:crypto'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { interleave, median, ratios, warmUp } from '../lib/stats.js'
import { anyEventTask, fmt } from '../report.js'

const size = 1024 * 1024
const payload = randomBytes(size)

/** Length of what came back: a Buffer/Uint8Array, or workerpool's JSON form of a Buffer. */
function lengthOf(value: unknown): number {
  if (value instanceof Uint8Array) return value.length
  const data = (value as { data?: unknown[] } | null)?.data
  return Array.isArray(data) ? data.length : -1
}

async function megabytesPerSecond(n: number, echo: (x: Buffer) => Promise<unknown>): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const back = await echo(payload)
    if (lengthOf(back) !== size) throw new Error(`1 MiB echo came back with ${lengthOf(back)} bytes`)
  }
  return (n * size) / 1e6 / ((performance.now() - start) / 1000)
}

export async function binaryEcho(ctx: BenchContext): Promise<WorkloadResult> {
  const n = ctx.pick(100, 30)
  const nPool = ctx.pick(10, 3)
  const rounds = ctx.rounds(5, 3)
  const cleanup = new Cleanup()
  try {
    const { client, raw, workerpool, piscina } = await startContenders(ctx, cleanup, { workers: 1, raw: true, workerpool: true, piscina: true })
    const c = cleanup.add(await client.checkout(), (c) => c.release())
    const contenders = {
      forkd: () => megabytesPerSecond(n, (x) => c.echo(x)),
      raw: raw && (() => megabytesPerSecond(n, (x) => raw.client.echo(x))),
      workerpool: workerpool && (() => megabytesPerSecond(nPool, (x) => workerpool.echo(x))),
      piscina: piscina && (() => megabytesPerSecond(n, (x) => piscina.echo(x))),
    }
    await warmUp(contenders)
    const s = ctx.attempts.pool('rounds', await interleave(rounds, contenders, (r) => ctx.log(`binary: round ${r}/${rounds}`)))
    return {
      name: 'binary',
      title: '6 1 MiB binary echo',
      rows: [{
        metric: `MB/s each way, 1 MiB Buffer echo awaited one by one (${n}; workerpool ${nPool})`,
        forkd: fmt.mbps(median(s.forkd)),
        raw: fmt.mbps(median(s.raw)),
        workerpool: fmt.mbps(median(s.workerpool)),
        piscina: fmt.mbps(median(s.piscina)),
        reference: fmt.mbps(anyEventTask.binaryMBps),
      }],
      checks: [roundsCheck('MB/s ≥ 0.8× raw', ratios(s.forkd, s.raw), { side: 'atLeast', limit: 0.8 }, fmt.ratio, { suffix: ' raw' })],
      notes: ['workerpool in process mode sends a Buffer as JSON (`{type, data: [...]}`) over IPC; it is shown for what a user gets by default.'],
      samples: { n, nPool, megabytesPerSecond: s },
    }
  } finally {
    await cleanup.run()
  }
}
