/**
 * Workload 5: a fresh worker process per checkout (`maxCheckouts: 1`).
 *   a) checkout latency while spares last: a server with 8 spares; before each checkout the bench
 *      waits (asking the server over IPC) until all 8 are ready and no other worker is alive, then
 *      `gap` ms more; p50/p90 of checkout() and of checkout()+first call. While it waits, it reads
 *      the CPU time each new spare used from its spawn to ready. Two clients, one after the other:
 *      - minWorkers 0: no standby connection, so every checkout connects, gets a spare handed
 *        over, upgrades to WebSocket and waits for its hello;
 *      - minWorkers 1: as each checkout's worker retires, the pool connects the next fresh one,
 *        so a checkout finds it connected (the configuration docs/worker-lifetime.md advises for a
 *        fresh worker per job at low latency). It also waits for that connection before each one.
 *   b) the sustained rate: checkouts back to back until spares run out, measured after the first
 *      `spares` (which the spares serve); next to the rate of plain `node -e 0` process starts, one
 *      after another and as many side by side as there are cores (interleaved round by round), and
 *      the CPU time one `node -e 0` costs. The client of minWorkers 0.
 */
import { spawn } from 'node:child_process'
import { cpus } from 'node:os'
import { Client } from '@forkd/client'
import { freshChart } from '../lib/charts.js'
import { roundsCheck } from '../lib/checks.js'
import { Cleanup } from '../lib/cleanup.js'
import type { BenchContext, WorkloadResult } from '../lib/context.js'
import { liveProcessCpuMs, reapedChildrenCpuMs } from '../lib/cpu-time.js'
import { startForkdServer } from '../lib/forkd.js'
import { cpuCount, track } from '../lib/processes.js'
import { interleave, median, medianRatio, percentile, ratios, sleep } from '../lib/stats.js'
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

/** Starts `total` plain node processes, `width` at a time (a new one as soon as one exits). */
async function nodeStarts(total: number, width: number, cpus: string | undefined): Promise<{ perSecond: number; cpuMs: number }> {
  const cpuBefore = reapedChildrenCpuMs()
  const start = performance.now()
  let next = 0
  const lane = async () => {
    while (next < total) {
      next++
      await nodeStart(cpus)
    }
  }
  await Promise.all(Array.from({ length: width }, lane))
  const seconds = (performance.now() - start) / 1000
  return { perSecond: total / seconds, cpuMs: (reapedChildrenCpuMs() - cpuBefore) / total }
}

export async function freshWorker(ctx: BenchContext): Promise<WorkloadResult> {
  const samples = ctx.pick(40, 12)
  const gap = ctx.pick(50, 20)
  const backToBack = ctx.pick(200, 24)
  const starts = ctx.pick(40, 8)
  const rounds = ctx.rounds(3, 1)
  // the CPUs the peers may use: node starts side by side get one each
  const cores = ctx.options.peerCpus === undefined ? cpus().length : cpuCount(ctx.options.peerCpus)
  const cleanup = new Cleanup()
  try {
    const server = cleanup.add(await startForkdServer(ctx, { spares, name: 'fresh' }), (s) => s.stop())
    const client = cleanup.add(new Client({ connect: server.path, minWorkers: 0, maxWorkers: 1, maxCheckouts: 1 }), (c) => c.close())

    // a) latency while spares last, and the CPU time of each spare's start
    const workerStartCpuMs: number[] = []
    const measured = new Set<number>()
    const pids = new Set<number>()
    let refillMs = 0
    /** `samples` checkouts from `pool`, each once all spares are ready and `standby` workers are connected. */
    const latencies = async (pool: Client, standby: 0 | 1) => {
      const checkoutMs: number[] = []
      const firstCallMs: number[] = []
      for (let i = 0; i < samples + 2; i++) {
        const waitStart = performance.now()
        // only spares (and the standby connection) alive: every other child of the server has finished starting
        await server.waitForStatus(`${spares} spares and ${standby} connected`, (s) => s.spares >= spares && s.active === standby && s.starting === 0)
        if (standby > 0) await pool.ready()
        refillMs = Math.max(refillMs, performance.now() - waitStart)
        for (const pid of server.workerPids()) {
          if (measured.has(pid)) continue
          measured.add(pid)
          const ms = liveProcessCpuMs(pid)
          if (Number.isFinite(ms)) workerStartCpuMs.push(ms)
        }
        await sleep(gap)
        const start = performance.now()
        const c = await pool.checkout()
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
      return { checkoutMs, firstCallMs }
    }
    ctx.log(`fresh: ${samples} checkouts, each once all ${spares} spares are ready (minWorkers 0)`)
    const onDemand = await latencies(client, 0)
    ctx.log(`fresh: ${samples} checkouts, each once all ${spares} spares are ready and the next worker is connected (minWorkers 1)`)
    const standbyClient = cleanup.add(new Client({ connect: server.path, minWorkers: 1, maxWorkers: 1, maxCheckouts: 1 }), (c) => c.close())
    const standby = await latencies(standbyClient, 1)
    await standbyClient.close()
    // its last standby connection's worker served no checkout, and goes with the client
    await server.waitForStatus(`${spares} spares and nothing else`, (s) => s.spares >= spares && s.active === 0 && s.starting === 0)

    // b) sustained rate, interleaved with node -e 0 one after another and side by side
    const skip = spares
    const serverChildrenCpu: number[] = []
    const sustained = async () => {
      await server.waitForSpares(spares)
      const before = await server.status()
      const cpuBefore = reapedChildrenCpuMs(server.pid)
      let steadyStart = 0
      for (let i = 0; i < backToBack; i++) {
        if (i === skip) steadyStart = performance.now()
        const c = await client.checkout()
        await c.echo(payload)
        pids.add(c.worker.pid)
        c.release()
      }
      const rate = (backToBack - skip) / ((performance.now() - steadyStart) / 1000)
      const after = await server.status()
      if (after.exited > before.exited) serverChildrenCpu.push((reapedChildrenCpuMs(server.pid) - cpuBefore) / (after.exited - before.exited))
      return rate
    }
    const nodeCpuMs: number[] = []
    const nodeParallelCpuMs: number[] = []
    const sequential = async () => {
      const r = await nodeStarts(starts, 1, ctx.options.peerCpus)
      nodeCpuMs.push(r.cpuMs)
      return r.perSecond
    }
    const sideBySide = async () => {
      const r = await nodeStarts(starts, cores, ctx.options.peerCpus)
      nodeParallelCpuMs.push(r.cpuMs)
      return r.perSecond
    }
    const s = ctx.attempts.pool('rounds', await interleave(rounds, { forkd: sustained, node: sequential, nodeParallel: sideBySide }, (r) => ctx.log(`fresh: sustained round ${r}/${rounds}`)))
    const lat = ctx.attempts.pool('latency', {
      checkoutMs: onDemand.checkoutMs, firstCallMs: onDemand.firstCallMs,
      standbyCheckoutMs: standby.checkoutMs, standbyFirstCallMs: standby.firstCallMs, workerStartCpuMs,
    })
    const cpu = ctx.attempts.pool('cpu', { nodeCpuMs, nodeParallelCpuMs, serverChildrenCpu })
    const p50 = percentile(lat.checkoutMs, 50)
    const expectedWorkers = 2 * (samples + 2) + rounds * backToBack
    const workerCpu = median(lat.workerStartCpuMs)
    const nodeCpu = median(cpu.nodeCpuMs)
    const parallelLabel = `node -e 0, ${cores} side by side`
    return {
      name: 'fresh',
      title: '5 fresh worker per checkout',
      rows: [
        {
          metric: `checkout() latency with ${spares} spares ready, minWorkers 1 (the next fresh worker connected ahead), p50 / p90 (${lat.standbyCheckoutMs.length} checkouts)`,
          forkd: `${fmt.ms(percentile(lat.standbyCheckoutMs, 50))} / ${fmt.ms(percentile(lat.standbyCheckoutMs, 90))}`,
          reference: `${fmt.ms(anyEventTask.freshWorkerMs)} per fork`,
        },
        {
          metric: 'checkout() + first call, minWorkers 1, p50 / p90',
          forkd: `${fmt.ms(percentile(lat.standbyFirstCallMs, 50))} / ${fmt.ms(percentile(lat.standbyFirstCallMs, 90))}`,
        },
        {
          metric: `checkout() latency with ${spares} spares ready, minWorkers 0 (each checkout connects), p50 / p90 (${lat.checkoutMs.length} checkouts)`,
          forkd: `${fmt.ms(p50)} / ${fmt.ms(percentile(lat.checkoutMs, 90))}`,
          reference: `${fmt.ms(anyEventTask.freshWorkerMs)} per fork`,
        },
        {
          metric: 'checkout() + first call, minWorkers 0, p50 / p90',
          forkd: `${fmt.ms(percentile(lat.firstCallMs, 50))} / ${fmt.ms(percentile(lat.firstCallMs, 90))}`,
        },
        {
          metric: `sustained fresh checkouts/s back to back (last ${backToBack - skip} of ${backToBack}); raw column: plain \`node -e 0\` starts/s, one after another`,
          forkd: fmt.rate(median(s.forkd)),
          raw: fmt.rate(median(s.node)),
        },
        {
          metric: `plain \`node -e 0\` starts/s, ${cores} side by side (as many as there are cores), ${starts} starts`,
          raw: fmt.rate(median(s.nodeParallel)),
        },
        {
          metric: 'CPU time (user + sys) of one start: forkd worker spawn → ready; raw column: `node -e 0` spawn → exit',
          forkd: fmt.ms(workerCpu),
          raw: fmt.ms(nodeCpu),
        },
      ],
      checks: [
        roundsCheck('checkout p50 ≤ 3 ms while spares last (minWorkers 1)', lat.standbyCheckoutMs, { side: 'atMost', limit: 3 }, fmt.ms, { unit: 'samples' }),
        roundsCheck(
          `sustained fresh checkouts/s ≥ 0.8× ${parallelLabel} starts/s`,
          ratios(s.forkd, s.nodeParallel),
          { side: 'atLeast', limit: 0.8 },
          fmt.ratio,
          { suffix: ' node starts' },
        ),
      ],
      notes: [
        `latency samples: each checkout waited for all ${spares} spares to be ready and every other worker to be gone (with minWorkers 1: but the connected next one; longest wait: ${fmt.ms(refillMs)}) plus ${gap} ms. With minWorkers 0 a checkout's latency is a new worker connection's (connect, hand-off to a spare over IPC, WebSocket upgrade, hello); with minWorkers 1 the pool made that connection as the previous checkout's worker retired.`,
        `a worker start costs ${fmt.ms(workerCpu)} CPU (median of ${lat.workerStartCpuMs.length} spares, spawn → ready, every thread, from /proc/PID/task/*/schedstat) next to \`node -e 0\`'s ${fmt.ms(nodeCpu)} (spawn → exit, ${fmt.ms(median(cpu.nodeParallelCpuMs))} when ${cores} start side by side; cutime + cstime of this process over each batch of ${starts}); a fresh worker's whole life (start, one checkout, exit) costs ${fmt.ms(median(cpu.serverChildrenCpu))} (the server's reaped children).`,
        `sustained fresh checkouts ÷ ${parallelLabel} starts: ${fmt.ratio(medianRatio(s.forkd, s.nodeParallel))}, ÷ one after another: ${fmt.ratio(medianRatio(s.forkd, s.node))} (median of ${s.forkd.length} rounds); in the last attempt ${pids.size} distinct worker pids served ${expectedWorkers} checkouts` +
          (pids.size === expectedWorkers ? ' (one worker each, as maxCheckouts: 1 asks).' : ' (expected one worker each!).'),
      ],
      charts: [freshChart({
        rates: { 'forkd: fresh checkouts, sustained': s.forkd, 'node -e 0, one after another': s.node, [parallelLabel]: s.nodeParallel },
        target: { of: parallelLabel, fraction: 0.8 },
        cpuMs: { 'forkd worker start (spawn → ready)': lat.workerStartCpuMs, 'node -e 0 (spawn → exit)': cpu.nodeCpuMs, [`${parallelLabel} (spawn → exit)`]: cpu.nodeParallelCpuMs },
      })],
      samples: {
        ...lat, ...cpu, sustainedPerSecond: s.forkd, nodeStartsPerSecond: s.node, nodeParallelStartsPerSecond: s.nodeParallel,
      },
    }
  } finally {
    await cleanup.run()
  }
}
