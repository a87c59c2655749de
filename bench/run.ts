/**
 * forkd benchmark harness (GitHub issue 7): forkd against the raw ws+CBOR transport, workerpool in
 * process mode and piscina, interleaved round by round. Prints a table; a full run of every
 * workload also writes docs/benchmarks.md. `--help` lists the options.
 *
 * With --pin (or --prof) the harness re-executes itself under `taskset -c CPU` (and --cpu-prof), so
 * every thread of the client side starts with the placement; peers are started under taskset too.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AttemptPool } from './lib/attempts.js'
import { judgeCheck } from './lib/checks.js'
import type { BenchContext, WorkloadResult } from './lib/context.js'
import { serverKinds } from './lib/forkd.js'
import { parseOptions, usage, type BenchOptions, type WorkloadName } from './lib/options.js'
import { notePlacement, observedPlacement, stopAll } from './lib/processes.js'
import { writeCharts } from './lib/render-svg.js'
import { renderMarkdown, type RunInfo } from './report.js'
import { binaryEcho } from './workloads/binary-echo.js'
import { checkoutCycle } from './workloads/checkout-cycle.js'
import { freshWorker } from './workloads/fresh-worker.js'
import { heldCalls } from './workloads/held-calls.js'
import { logs } from './workloads/logs.js'
import { memory } from './workloads/memory.js'
import { observability } from './workloads/observability.js'
import { pipelined } from './workloads/pipelined.js'
import { prioritySurge } from './workloads/priority-surge.js'
import { surgeWorkload } from './workloads/surge.js'
import { transportsWorkload } from './workloads/transports.js'
import { concurrencyWorkload } from './workloads/concurrency.js'

const workloads: Record<WorkloadName, (ctx: BenchContext) => Promise<WorkloadResult>> = {
  held: heldCalls,
  cycle: checkoutCycle,
  pipelined,
  surge: surgeWorkload,
  priority: prioritySurge,
  fresh: freshWorker,
  binary: binaryEcho,
  memory,
  logs,
  transports: transportsWorkload,
  concurrency: concurrencyWorkload,
  observability,
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const docsDir = join(repoRoot, 'docs')
const reexecMarker = 'FORKD_BENCH_REEXEC'

/** Runs this script again under taskset and/or --cpu-prof; resolves with its exit code. */
function reexec(options: BenchOptions): Promise<number> {
  const nodeArgs = [
    ...process.execArgv,
    ...(options.prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.prof}`]),
    fileURLToPath(import.meta.url),
    ...process.argv.slice(2),
  ]
  const [command, args] = options.clientCpus === undefined
    ? [process.execPath, nodeArgs]
    : ['taskset', ['-c', options.clientCpus, process.execPath, ...nodeArgs]]
  const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, [reexecMarker]: '1' } })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig))
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1))))
}

function placementLine(options: BenchOptions): string {
  const seen = [...observedPlacement].map(([role, lists]) => `${role} ${[...lists].join('/')}`).join(', ')
  const what = options.pin === 'none'
    ? 'none: the scheduler places every process'
    : `${options.pin}: client (this process) on CPU ${options.clientCpus}, every peer (raw peer, forkd server and workers, workerpool workers, piscina threads) on CPU ${options.peerCpus}, with taskset`
  return `${what}. Cpus_allowed_list seen: ${seen}`
}

/**
 * Runs a workload, and again while one of its checks is noisy: up to --retries more times, and only
 * while its attempts so far took less than --retry-budget seconds. Each attempt pools its values with
 * those of the attempts before (ctx.attempts), so the last result covers every round of every attempt.
 */
async function runJudged(ctx: BenchContext, name: WorkloadName): Promise<WorkloadResult> {
  const attempts = new AttemptPool()
  const local: BenchContext = { ...ctx, attempts }
  const started = performance.now()
  const history: string[] = []
  for (;;) {
    const result = await workloads[name](local)
    const noisy = result.checks.filter((c) => judgeCheck(c).verdict === 'noisy').map((c) => `“${c.target}”`)
    const seconds = (performance.now() - started) / 1000
    const outOfTime = seconds >= ctx.options.retryBudget
    if (noisy.length === 0 || attempts.attempt > ctx.options.retries || outOfTime) {
      if (attempts.attempt > 1)
        result.notes.push(`ran ${attempts.attempt} times, every figure pooled over all of them (${history.join('; ')}).`)
      if (noisy.length > 0 && outOfTime && attempts.attempt <= ctx.options.retries)
        result.notes.push(`${attempts.attempt > 1 ? 'not repeated again' : 'not repeated'} while noisy: its attempts took ${seconds.toFixed(0)} s, the --retry-budget is ${ctx.options.retryBudget} s.`)
      return result
    }
    history.push(`noisy after attempt ${attempts.attempt}: ${noisy.join(', ')}`)
    ctx.log(`${name}: noisy (${noisy.join(', ')}): attempt ${attempts.attempt + 1} of at most ${ctx.options.retries + 1}`)
    attempts.next()
  }
}

async function main(): Promise<number> {
  let options: BenchOptions
  try {
    options = parseOptions(process.argv.slice(2))
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`)
    return 2
  }
  if (options.prof !== undefined) {
    options.prof = resolve(options.prof)
    mkdirSync(options.prof, { recursive: true })
  }
  if ((options.clientCpus !== undefined || options.prof !== undefined) && process.env[reexecMarker] === undefined) return reexec(options)

  // Benchmarks measure a production deployment: without this the client records a stack trace per
  // checkout to name leaked checkouts (trackCheckoutSites), which development wants and costs 5-10 µs.
  process.env.NODE_ENV ??= 'production'
  // Node 20 reads and parses this file at every process start (about 50 ms of CPU on the project
  // machine, more than a bare `node -e 0`): a property of the machine, not of forkd, and it would
  // hide the cost of a worker start behind a fixed one that every start pays.
  const removedEnv = options.keepCaCerts ? [] : ['NODE_EXTRA_CA_CERTS'].filter((name) => process.env[name] !== undefined)
  for (const name of removedEnv) delete process.env[name]
  const startedAt = new Date()
  const loadAtStart = loadavg()[0]!
  const dir = mkdtempSync(join(tmpdir(), 'fkb-'))
  let socketCount = 0
  const ctx: BenchContext = {
    options,
    dir,
    rounds: (full, quick) => options.rounds ?? (options.quick ? quick : full),
    pick: (full, quick) => (options.quick ? quick : full),
    log: (message) => process.stderr.write(`[bench] ${message}\n`),
    socket: (name) => join(dir, `${name}${++socketCount}.sock`),
    attempts: new AttemptPool(),
  }
  let interrupted = false
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return
    interrupted = true
    ctx.log(`${sig}: stopping every process started and removing ${dir}`)
    void stopAll().finally(() => {
      rmSync(dir, { recursive: true, force: true })
      process.exit(130)
    })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  notePlacement('client', 'self')

  const results: WorkloadResult[] = []
  let failures = 0
  try {
    for (const name of options.only) {
      ctx.log(`${name}: starting`)
      const t0 = performance.now()
      const load0 = loadavg()[0]!
      try {
        const result = await runJudged(ctx, name)
        result.notes.push(`load average (1 min) ${load0.toFixed(1)} at the start of this workload, ${loadavg()[0]!.toFixed(1)} at its end.`)
        results.push(result)
      } catch (error) {
        failures++
        ctx.log(`${name}: FAILED: ${(error as Error)?.stack ?? String(error)}`)
        results.push({
          name, title: name, rows: [], samples: {}, notes: [`failed: ${(error as Error)?.message ?? String(error)}`],
          checks: [{ kind: 'exact', target: 'workload ran', measured: 'failed (see notes)', pass: false }],
        })
      }
      ctx.log(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    }
  } finally {
    await stopAll()
    rmSync(dir, { recursive: true, force: true })
  }

  const chartDir = options.charts !== undefined ? resolve(options.charts) : options.write ? join(docsDir, 'benchmarks') : undefined
  const charts: RunInfo['charts'] = []
  if (chartDir !== undefined) {
    const all = results.flatMap((r) => r.charts ?? [])
    try {
      await writeCharts(all, chartDir)
      // paths as docs/benchmarks.md (or the printed report, if the charts went elsewhere) sees them
      for (const chart of all) charts.push({ path: options.write ? relative(docsDir, join(chartDir, chart.file)) : join(chartDir, chart.file), alt: chart.alt })
      ctx.log(`wrote ${all.length} charts into ${chartDir}`)
    } catch (error) {
      failures++
      ctx.log(`charts: FAILED: ${(error as Error)?.stack ?? String(error)}`)
    }
  }

  const kinds = [...serverKinds]
  const run: RunInfo = {
    mode: options.quick ? 'quick' : 'full',
    placement: placementLine(options),
    server: kinds.length === 0 ? 'not started' : `${kinds.join(', ')} from @forkd/server, in its own process (bench/peers/serve-child.ts), workers from bench/peers/echo-worker.ts`,
    startedAt,
    seconds: (Date.now() - startedAt.getTime()) / 1000,
    load: [loadAtStart, loadavg()[0]!],
    command: `npm run bench --${process.argv.slice(2).map((a) => ` ${a}`).join('')}`,
    charts,
    retries: options.retries,
    retryBudget: options.retryBudget,
    removedEnv,
  }
  const markdown = renderMarkdown(results, run)
  process.stdout.write(`\n${markdown}`)
  if (options.write) {
    writeFileSync(join(docsDir, 'benchmarks.md'), markdown)
    ctx.log('wrote docs/benchmarks.md')
  }
  if (options.json !== undefined) {
    writeFileSync(options.json, JSON.stringify({ run, results }, null, 2))
    ctx.log(`wrote ${options.json}`)
  }
  return failures > 0 ? 1 : 0
}

process.exitCode = await main()
// Pools and sockets are closed; anything still holding the loop is not ours to wait for.
process.exit(process.exitCode)
