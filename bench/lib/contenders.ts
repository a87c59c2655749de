/**
 * The four echo contenders most workloads compare, started together and stopped together:
 * forkd (a client holding one checkout, or the client alone), the raw transport, workerpool in
 * process mode and piscina, each with the given number of workers.
 */
import { Client } from '@forkd/client'
import { startPiscina, type PiscinaBaseline } from '../baselines/piscina.js'
import { startRaw, type RawBaseline } from '../baselines/raw.js'
import { startWorkerpool, type WorkerpoolBaseline } from '../baselines/workerpool.js'
import { Cleanup } from './cleanup.js'
import type { BenchContext } from './context.js'
import { startForkdServer, type ForkdServer } from './forkd.js'
import { notePlacement } from './processes.js'

export interface Contenders {
  server: ForkdServer
  client: Client
  raw: RawBaseline | undefined
  workerpool: WorkerpoolBaseline | undefined
  piscina: PiscinaBaseline | undefined
}

export interface ContenderOptions {
  /** forkd client and baselines get this many workers. */
  workers: number
  raw?: boolean
  workerpool?: boolean
  piscina?: boolean
  spares?: number
}

/** One checkout → one echo → release, the cycle the checkout-cycle workloads time. */
export function checkoutCallRelease(client: Client, payload: string): () => Promise<void> {
  return async () => {
    const c = await client.checkout()
    try {
      await c.echo(payload)
    } finally {
      c.release()
    }
  }
}

/** Starts the contenders and registers their shutdown with `cleanup`. */
export async function startContenders(ctx: BenchContext, cleanup: Cleanup, options: ContenderOptions): Promise<Contenders> {
  const server = cleanup.add(await startForkdServer(ctx, { spares: options.spares ?? 2, name: 'f' }), (s) => s.stop())
  const client = cleanup.add(new Client({ connect: server.path, minWorkers: options.workers, maxWorkers: options.workers }), (c) => c.close())
  // Every worker connected before anything is timed.
  const warm = await Promise.all(Array.from({ length: options.workers }, () => client.checkout()))
  await Promise.all(warm.map((c) => c.echo('warm-up')))
  notePlacement('forkd server', server.pid)
  notePlacement('forkd worker', warm[0]!.worker.pid)
  for (const c of warm) c.release()
  // --forkd-only: no baselines, so a profile shows forkd alone.
  const baselines = !ctx.options.forkdOnly
  const raw = options.raw && baselines ? cleanup.add(await startRaw(ctx), (r) => r.stop()) : undefined
  if (raw !== undefined) notePlacement('raw peer', raw.peer.pid!)
  const workerpool = options.workerpool && baselines ? cleanup.add(await startWorkerpool(ctx, options.workers), (w) => w.stop()) : undefined
  if (workerpool?.pids()[0] !== undefined) notePlacement('workerpool worker', workerpool.pids()[0]!)
  const piscina = options.piscina && baselines ? cleanup.add(await startPiscina(ctx, options.workers), (p) => p.stop()) : undefined
  return { server, client, raw, workerpool, piscina }
}
