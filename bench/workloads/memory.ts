/**
 * Workload 7: resident memory (VmRSS from /proc/PID/status) of the forkd server process, of one
 * idle worker (connected, its checkout released), and of one spare, next to a bare node child that
 * has imported ws and cbor-x and is idle (and, for scale, a plain idle node and an idle workerpool
 * process worker). Each figure is the median of a few samples taken after the processes settle.
 */
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import { benchFile, type BenchContext, type WorkloadResult } from '../lib/context.js'
import { startContenders } from '../lib/contenders.js'
import { spawnNode, stopPeer, vmRss, waitForMessage } from '../lib/processes.js'
import { median, ratios, sleep } from '../lib/stats.js'
import { fmt } from '../report.js'

async function idleChild(ctx: BenchContext, cleanup: Cleanup, args: string[]): Promise<number> {
  const child = spawnNode(benchFile('peers/idle-child.js'), args, { cpus: ctx.options.peerCpus })
  cleanup.add(child, (c) => stopPeer(c))
  await waitForMessage(child, 'ready')
  return child.pid!
}

export async function memory(ctx: BenchContext): Promise<WorkloadResult> {
  const sampleCount = ctx.pick(5, 3)
  const cleanup = new Cleanup()
  try {
    const spares = 2
    const { server, client, workerpool } = await startContenders(ctx, cleanup, { workers: 1, spares, workerpool: true })
    const c = await client.checkout()
    await c.echo('0123456789abcdef')
    const workerPid = c.worker.pid
    c.release()
    const bare = await idleChild(ctx, cleanup, [])
    const plain = await idleChild(ctx, cleanup, ['--no-imports'])
    await server.waitForSpares(spares)
    await sleep(ctx.pick(1000, 500))
    const sparePid = server.workerPids().find((pid) => pid !== workerPid)
    const wpPid = workerpool?.pids()[0]
    const series = { server: [] as number[], worker: [] as number[], spare: [] as number[], bare: [] as number[], plain: [] as number[], workerpool: [] as number[] }
    ctx.log(`memory: ${sampleCount} samples`)
    for (let i = 0; i < sampleCount; i++) {
      series.server.push(vmRss(server.pid))
      series.worker.push(vmRss(workerPid))
      series.spare.push(sparePid === undefined ? NaN : vmRss(sparePid))
      series.bare.push(vmRss(bare))
      series.plain.push(vmRss(plain))
      series.workerpool.push(wpPid === undefined ? NaN : vmRss(wpPid))
      await sleep(300)
    }
    const pooled = ctx.attempts.pool('rss', series)
    const m = Object.fromEntries(Object.entries(pooled).map(([k, v]) => [k, median(v)])) as Record<keyof typeof series, number>
    return {
      name: 'memory',
      title: '7 memory (RSS)',
      rows: [
        { metric: 'server process (2 spares, 1 connected worker); raw column: idle node that imported ws + cbor-x', forkd: fmt.mib(m.server), raw: fmt.mib(m.bare) },
        { metric: 'one idle worker (connected, checkout released); workerpool: one idle process worker', forkd: fmt.mib(m.worker), raw: fmt.mib(m.bare), workerpool: fmt.mib(m.workerpool) },
        { metric: 'one spare worker (module loaded, not connected); raw column: plain idle `node`', forkd: fmt.mib(m.spare), raw: fmt.mib(m.plain) },
      ],
      checks: [roundsCheck('idle worker RSS ≤ 1.2× bare node+ws+cbor-x', ratios(pooled.worker, pooled.bare), { side: 'atMost', limit: 1.2 }, fmt.ratio, { unit: 'samples' })],
      notes: [`idle worker ${fmt.mib(m.worker)} against bare node+ws+cbor-x ${fmt.mib(m.bare)}; server ÷ bare: ${fmt.ratio(m.server / m.bare)}; spare ÷ bare: ${fmt.ratio(m.spare / m.bare)}.`],
      samples: pooled,
    }
  } finally {
    await cleanup.run()
  }
}
