/**
 * Everything about presenting results: number formats, the results and targets tables, the machine
 * header, and docs/benchmarks.md. The same markdown is printed and written.
 */
import { cpus, totalmem } from 'node:os'
import type { TargetCheck, WorkloadResult } from './lib/context.js'

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
    `- **NODE_ENV:** ${process.env.NODE_ENV ?? '(unset)'} (the client's trackCheckoutSites default follows it: off in production)`,
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

export function targetsTable(results: readonly WorkloadResult[]): string[] {
  const rows: string[][] = []
  for (const r of results)
    for (const check of r.checks) rows.push([r.title, check.target, check.measured, verdict(check)])
  return table(['Workload', 'Target', 'Measured', 'Result'], rows)
}

function verdict(check: TargetCheck): string {
  return check.pass === undefined ? 'n/a' : check.pass ? 'pass' : '**FAIL**'
}

export function renderMarkdown(results: readonly WorkloadResult[], run: RunInfo): string {
  const notes = results.flatMap((r) => r.notes.map((n) => `- **${r.title}:** ${n}`))
  const passed = results.flatMap((r) => r.checks).filter((c) => c.pass === true).length
  const total = results.flatMap((r) => r.checks).filter((c) => c.pass !== undefined).length
  return [
    '# forkd benchmarks',
    '',
    'Produced by `npm run bench` (bench/run.ts, GitHub issue 7). Baselines run in the same process tree,',
    'interleaved with forkd round by round (A B A B …); every ratio is the median of the per-round ratios,',
    'and every figure in the results table is the median over rounds.',
    '',
    ...machineLines(run),
    '',
    '## Results',
    '',
    ...resultsTable(results),
    '',
    `## Targets (${passed}/${total} pass)`,
    '',
    ...targetsTable(results),
    '',
    '## Notes',
    '',
    '- What each optimisation bought, measured with this harness, is in [performance.md](performance.md).',
    ...notes,
    '',
    '## How to run',
    '',
    '```sh',
    'npm run bench                         # everything; writes this file',
    'npm run bench -- --quick              # under a minute, prints only (add --write to write)',
    'npm run bench -- --pin split          # client on CPU 0, every peer process on CPU 1 (same: all on 0)',
    'npm run bench -- --only surge         # one workload: held, cycle, pipelined, surge, fresh, binary, memory, logs, transports',
    'npm run bench -- --only cycle --forkd-only --prof /tmp/prof   # --cpu-prof of client, server, workers',
    'node bench/dist/tools/profile-summary.js /tmp/prof/CPU.…cpuprofile   # top self times, file:line',
    '```',
    '',
  ].join('\n')
}
