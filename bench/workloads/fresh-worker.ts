/**
 * Workload 5: a fresh worker process per checkout (`maxCheckouts: 1`).
 *   a) checkout latency while spares last: a server with 8 spares; before each checkout the bench
 *      waits (asking the server over IPC) until all 8 are ready again, then `gap` ms more; p50/p90
 *      of checkout() and of checkout()+first call.
 *   b) the sustained rate: checkouts back to back until spares run out, measured after the first
 *      `spares` (which the spares serve); next to the rate of plain `node -e 0` process starts, one after another
 *      (interleaved round by round).
 * The client keeps no standby connection (minWorkers 0), so every checkout connects, gets a worker
 * handed over, upgrades to WebSocket and waits for its hello.
 */
import { spawn } from 'node:child_process'
import { Client } from '@forkd/client'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { startForkdServer } from '../lib/forkd.js'
import { track } from '../lib/processes.js'
import { interleave, median, medianRatio, percentile, sleep } from '../lib/stats.js'
import { anyEventTask, fmt } from '../report.js'

const payload = '0123456789abcdef'
const spares = 8

function nodeStart(cpus: string | undefined): Promise<void> {
  const [command, args] = cpus === undefined ? [process.execPath, ['-e', '0']] : ['taskset', ['-c', cpus, process.execPath, '-e', '0']]
  const child = spawn(command, args, { stdio: 'ignore' })
  track(child)
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`node -e 0 exited with ${code}`))))
  })
}

export async function freshWorker(ctx: BenchContext): Promise<WorkloadResult> {
  const samples = ctx.pick(40, 12)
  const gap = ctx.pick(50, 20)
  const backToBack = ctx.pick(200, 24)
  const nodeStarts = ctx.pick(40, 8)
  const rounds = ctx.rounds(3, 1)
  const cleanup = new Cleanup()
  try {
    const server = cleanup.add(await startForkdServer(ctx, { spares, name: 'fresh' }), (s) => s.stop())
    const client = cleanup.add(new Client({ connect: server.path, minWorkers: 0, maxWorkers: 1, maxCheckouts: 1 }), (c) => c.close())

    // a) latency while spares last
    const checkoutMs: number[] = []
    const firstCallMs: number[] = []
    const pids = new Set<number>()
    let refillMs = 0
    ctx.log(`fresh: ${samples} checkouts, each once all ${spares} spares are ready`)
    for (let i = 0; i < samples + 2; i++) {
      const waitStart = performance.now()
      await server.waitForSpares(spares)
      refillMs = Math.max(refillMs, performance.now() - waitStart)
      await sleep(gap)
      const start = performance.now()
      const c = await client.checkout()
      const got = performance.now()
      await c.echo(payload)
      const called = performance.now()
      pids.add(c.worker.pid)
      c.release()
      // the first two warm up the client's code paths
      if (i >= 2) {
        checkoutMs.push(got - start)
        firstCallMs.push(called - start)
      }
    }

    // b) sustained rate, interleaved with node -e 0
    const skip = spares
    const sustained = async () => {
      await server.waitForSpares(spares)
      let steadyStart = 0
      for (let i = 0; i < backToBack; i++) {
        if (i === skip) steadyStart = performance.now()
        const c = await client.checkout()
        await c.echo(payload)
        pids.add(c.worker.pid)
        c.release()
      }
      return (backToBack - skip) / ((performance.now() - steadyStart) / 1000)
    }
    const nodeRate = async () => {
      const start = performance.now()
      for (let i = 0; i < nodeStarts; i++) await nodeStart(ctx.options.peerCpus)
      return nodeStarts / ((performance.now() - start) / 1000)
    }
    const s = await interleave(rounds, { forkd: sustained, node: nodeRate }, (r) => ctx.log(`fresh: sustained round ${r}/${rounds}`))
    const p50 = percentile(checkoutMs, 50)
    const vsNode = medianRatio(s.forkd, s.node)
    const expectedWorkers = samples + 2 + rounds * backToBack
    return {
      name: 'fresh',
      title: '5 fresh worker per checkout',
      rows: [
        {
          metric: `checkout() latency with ${spares} spares ready, p50 / p90 (${samples} checkouts)`,
          forkd: `${fmt.ms(p50)} / ${fmt.ms(percentile(checkoutMs, 90))}`,
          reference: `${fmt.ms(anyEventTask.freshWorkerMs)} per fork`,
        },
        {
          metric: 'checkout() + first call, p50 / p90',
          forkd: `${fmt.ms(percentile(firstCallMs, 50))} / ${fmt.ms(percentile(firstCallMs, 90))}`,
        },
        {
          metric: `sustained fresh checkouts/s back to back (last ${backToBack - skip} of ${backToBack}); raw column: plain \`node -e 0\` starts/s, one after another`,
          forkd: fmt.rate(median(s.forkd)),
          raw: fmt.rate(median(s.node)),
        },
      ],
      checks: [roundsCheck('checkout p50 ≤ 3 ms while spares last', checkoutMs, { side: 'atMost', limit: 3 }, fmt.ms, { unit: 'samples' })],
      notes: [
        `latency samples: each checkout waited for all ${spares} spares to be ready (longest wait for a refill: ${fmt.ms(refillMs)}) plus ${gap} ms.`,
        `sustained fresh checkouts ÷ node -e 0 starts: ${fmt.ratio(vsNode)} (median of ${rounds} rounds); ${pids.size} distinct worker pids served ${expectedWorkers} checkouts` +
          (pids.size === expectedWorkers ? ' (one worker each, as maxCheckouts: 1 asks).' : ' (expected one worker each!).'),
      ],
      samples: { checkoutMs, firstCallMs, sustainedPerSecond: s.forkd, nodeStartsPerSecond: s.node },
    }
  } finally {
    await cleanup.run()
  }
}
