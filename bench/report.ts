/**
 * Everything about presenting results: number formats, the results and targets tables, the machine
 * header, and docs/benchmarks.md. The same markdown is printed and written.
 */
import { cpus, totalmem } from 'node:os'
import { judgeCheck, type JudgedCheck } from './lib/checks.js'
import type { WorkloadResult } from './lib/context.js'

/** AnyEvent::Task, measured earlier on this machine (static figures, for reference only). */
export const anyEventTask = {
  heldCallMicros: 137,
  cycleMicros: 125,
  binaryMBps: 125,
  freshWorkerMs: 2.3,
  surgeCheckoutsPerSecond: 500,
} as const

export const fmt = {
  micros: (v: number) => (Number.isFinite(v) ? `${v < 100 ? v.toFixed(1) : v.toFixed(0)} µs` : 'n/a'),
  ms: (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : 'n/a'),
  rate: (v: number, unit = '/s') => (Number.isFinite(v) ? `${Math.round(v).toLocaleString('en-US')}${unit}` : 'n/a'),
  mbps: (v: number) => (Number.isFinite(v) ? `${v < 100 ? v.toFixed(1) : v.toFixed(0)} MB/s` : 'n/a'),
  mib: (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : 'n/a'),
  ratio: (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a'),
  seconds: (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} s` : 'n/a'),
}

export interface RunInfo {
  mode: 'full' | 'quick'
  /** Human-readable placement, checked from /proc/PID/status Cpus_allowed_list. */
  placement: string
  /** How the forkd server ran (Server.start in its own process). */
  server: string
  startedAt: Date
  seconds: number
  command: string
  /** os.loadavg()[0] at the start and at the end: other work on the machine skews absolute figures. */
  load: [start: number, end: number]
  /** Charts written for this report, as paths relative to it, with their alternative text. */
  charts: { path: string; alt: string }[]
  /** How many times a workload may run again while a check is noisy, and for how long (seconds). */
  retries: number
  retryBudget: number
  /** Environment variables the run removed before starting anything (they tax every process start). */
  removedEnv: string[]
}

export function machineLines(run: RunInfo): string[] {
  const cpuList = cpus()
  const model = cpuList[0]?.model.trim() ?? 'unknown'
  return [
    `- **Machine:** ${model}, ${cpuList.length} cores, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM, ${process.platform} ${process.arch}`,
    `- **Node:** ${process.version}`,
    `- **Date:** ${run.startedAt.toISOString()} (run took ${run.seconds.toFixed(0)} s, mode: ${run.mode})`,
    `- **Load average (1 min):** ${run.load[0].toFixed(2)} at start, ${run.load[1].toFixed(2)} at end (other processes on the machine skew absolute figures; the interleaved ratios less so)`,
    `- **Pinning:** ${run.placement}`,
    `- **NODE_ENV:** ${process.env.NODE_ENV ?? '(unset)'} for the server and its workers and the production client (the client's trackCheckoutSites default follows it: false in production, 'sampled' without); workload 2 also runs a client constructed without it and one with trackCheckoutSites: true`,
    ...(process.env.NODE_EXTRA_CA_CERTS !== undefined ? ['- **Environment:** NODE_EXTRA_CA_CERTS left set (--keep-ca-certs): every process start, forkd\'s workers and plain `node` alike, parses that certificate file'] : []),
    ...(run.removedEnv.length === 0 ? [] : [`- **Environment:** ${run.removedEnv.join(', ')} removed before anything started: Node 20 parses the certificate file at every process start (about 50 ms of CPU on this machine), a cost of the machine that every start would pay, forkd's workers and plain \`node\` alike`]),
    `- **forkd server:** ${run.server}`,
    `- **Command:** \`${run.command}\``,
  ]
}

const escape = (s: string) => s.replace(/\|/g, '\\|')

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ]
}

export function resultsTable(results: readonly WorkloadResult[]): string[] {
  const rows: string[][] = []
  results.forEach((r) => {
    for (const row of r.rows)
      rows.push([r.title, row.metric, row.forkd ?? '', row.raw ?? '', row.workerpool ?? '', row.piscina ?? '', row.reference ?? ''])
  })
  return table(['Workload', 'Metric', 'forkd', 'raw ws+CBOR', 'workerpool (process)', 'piscina (threads)', 'AnyEvent::Task (ref.)'], rows)
}

export function targetsTable(results: readonly WorkloadResult[], mode: RunInfo['mode']): string[] {
  const rows: string[][] = []
  for (const r of results)
    for (const check of r.checks.map(judgeCheck)) rows.push([r.title, check.target, check.measured, check.spread, verdictText(check, mode)])
  return table(['Workload', 'Target', 'Measured (median)', 'Spread: range of the median (values, confidence)', 'Result'], rows)
}

/** A quick run's verdicts are only indicative: it runs too few rounds to tell noise from a miss. */
function verdictText(check: JudgedCheck, mode: RunInfo['mode']): string {
  if (check.verdict === 'n/a') return 'n/a'
  const side = check.medianPasses ? 'median passes' : 'median misses'
  if (mode === 'quick') return check.verdict === 'noisy' ? `noisy (${side})` : `indicative ${check.verdict === 'pass' ? 'pass' : 'miss'}`
  return check.verdict === 'pass' ? 'pass' : check.verdict === 'fail' ? '**FAIL**' : `noisy (${side})`
}

function targetsHeading(checks: readonly JudgedCheck[], mode: RunInfo['mode']): string {
  const count = (v: JudgedCheck['verdict']) => checks.filter((c) => c.verdict === v).length
  const judged = checks.length - count('n/a')
  if (mode === 'quick') return `## Targets (indicative only: a smoke check judges nothing; ${count('pass')} of ${judged} would pass)`
  const noisy = count('noisy')
  return `## Targets (${count('pass')} of ${judged} pass, ${count('fail')} fail${noisy > 0 ? `, ${noisy} noisy` : ''})`
}

const smokeWarning = [
  '> **Smoke check (`--quick`).** Small counts and few rounds, to see in a minute that every workload',
  '> runs: these figures are not a measurement of forkd, and the verdicts below are indicative only.',
  '> `npm run bench` (the full run) measures, judges every target and writes docs/benchmarks.md.',
]

export function renderMarkdown(results: readonly WorkloadResult[], run: RunInfo): string {
  const notes = results.flatMap((r) => r.notes.map((n) => `- **${r.title}:** ${n}`))
  const judged = results.flatMap((r) => r.checks.map(judgeCheck))
  return [
    '# forkd benchmarks',
    '',
    ...(run.mode === 'quick' ? [...smokeWarning, ''] : []),
    'Produced by `npm run bench` (bench/run.ts, GitHub issues 7 and 20). Baselines run in the same process',
    'tree, interleaved with forkd round by round (A B A B …); every ratio is the median of the per-round',
    'ratios, and every figure in the results table is the median over rounds.',
    '',
    ...machineLines(run),
    '',
    '## Results',
    '',
    ...resultsTable(results),
    '',
    targetsHeading(judged, run.mode),
    '',
    ...verdictRules(run),
    '',
    ...targetsTable(results, run.mode),
    '',
    ...chartSection(run),
    '## Notes',
    '',
    '- What each optimisation bought, measured with this harness, is in [performance.md](performance.md).',
    ...notes,
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench                         # everything; writes this file and the charts in benchmarks/',
    'npm run bench -- --quick              # a smoke check in under a minute, prints only (add --write to write)',
    'npm run bench -- --pin split          # client on CPU 0, every peer process on CPU 1 (same: all on 0)',
    'npm run bench -- --only surge         # one workload: held, cycle, pipelined, surge, priority, fresh, binary, memory, logs, transports, concurrency, observability',
    'npm run bench -- --only fresh --charts /tmp/charts   # also render that workload\'s charts (SVG) there',
    'npm run bench -- --retries 0          # never run a workload again, even when a check is noisy',
    'npm run bench -- --only fresh --keep-ca-certs   # as the machine\'s environment has it (see Environment above)',
    'npm run bench -- --only cycle --forkd-only --prof /tmp/prof   # --cpu-prof of client, server, workers',
    'node bench/dist/tools/profile-summary.js /tmp/prof/CPU.…cpuprofile   # top self times, file:line (--by-file: per script)',
    'npm run bench -- --json /tmp/run.json  # every per-round value, and the chart specifications',
    'node bench/dist/tools/render-charts.js /tmp/run.json docs/benchmarks   # draw the charts of a saved run again',
    'node bench/dist/tools/worker-startup.js   # what a worker start costs: imports, spawn → ready, W starts at once',
    '```',
    '',
  ].join('\n')
}

function verdictRules(run: RunInfo): string[] {
  const after = run.mode === 'quick'
    ? 'and says which side its median is on. A smoke check repeats nothing: its verdicts are indicative only.'
    : run.retries === 0
      ? 'and says which side its median is on (this run repeats nothing: --retries 0).'
      : `and the runner repeats the workload (up to ${run.retries} more times, while its attempts took less than ${run.retryBudget} s); every figure of a repeated workload pools all its attempts, and a check still noisy after that says which side its median is on.`
  return [
    'A measured figure is the median of its per-round values (or of single samples, for latencies). Its spread is the',
    'range that holds the true median with about 95% confidence, read off the sorted values by order statistics (with',
    'up to 8 values, the lowest to the highest; the confidence column says how sure that range really is). A check',
    '**passes** or **fails** only when the whole spread lies on one side of the target. When the spread is wider than',
    `the margin between the median and the target, the check is **noisy**, ${after}`,
  ]
}

function chartSection(run: RunInfo): string[] {
  if (run.charts.length === 0) return []
  return ['## Charts', '', 'Drawn from this run\'s own figures (vega-lite, rendered to SVG by bench/lib/render-svg.ts).', '', ...run.charts.flatMap((c) => [`![${c.alt}](${c.path})`, ''])]
}
