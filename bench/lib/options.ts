/** Command-line options of `npm run bench`, parsed and checked in one place. */
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'

export const workloadNames = ['held', 'cycle', 'pipelined', 'surge', 'priority', 'fresh', 'binary', 'memory', 'logs', 'transports', 'concurrency', 'observability'] as const
export type WorkloadName = (typeof workloadNames)[number]

export type Pinning = 'none' | 'same' | 'split'

export interface BenchOptions {
  quick: boolean
  /** Write docs/benchmarks.md. Default: a full run of every workload writes, anything else does not. */
  write: boolean
  pin: Pinning
  /** CPU list (taskset syntax) of the benchmark process itself (the client side). */
  clientCpus: string | undefined
  /** CPU list of every peer process: raw peer, forkd server and workers, workerpool workers, piscina threads. */
  peerCpus: string | undefined
  only: WorkloadName[]
  /** Rounds override; undefined means each workload's default for the mode. */
  rounds: number | undefined
  /** Also write the per-round samples as JSON here. */
  json: string | undefined
  /** Profile the client, the forkd server and its workers with --cpu-prof into this folder. */
  prof: string | undefined
  /** Skip the baselines (raw, workerpool, piscina), e.g. so a client profile shows forkd alone. */
  forkdOnly: boolean
  /** How many more times a workload runs while one of its checks is noisy (full: 3, quick: 0). */
  retries: number
  /** A noisy workload is repeated only while its attempts so far took less than this (seconds). */
  retryBudget: number
  /** Folder for the SVG charts; undefined: docs/benchmarks/ when writing docs/benchmarks.md, else none. */
  charts: string | undefined
  /** Leave NODE_EXTRA_CA_CERTS in the environment of every process started (removed by default). */
  keepCaCerts: boolean
  /** A git revision whose @forkd/client the observability workload times against the current one. */
  baseline: string | undefined
}

export const usage = `usage: npm run bench -- [options]

  --quick           a smoke check: smaller counts and fewer rounds (under a minute), indicative
                    verdicts, no repeats; does not write docs/benchmarks.md
  --write           write docs/benchmarks.md (and its charts) even with --quick or --only
  --pin same|split  pin the client and every peer process on the same core (0) or on different
                    cores (client 0, peers 1) with taskset; default: no pinning
  --only NAME[,..]  run these workloads only: ${workloadNames.join(', ')}
  --rounds N        interleaved rounds per workload (default: 7 full / 3 quick, fewer for long ones)
  --retries N       run a workload up to N more times while one of its checks is noisy, pooling
                    the rounds (default: 3; with --quick: 0)
  --retry-budget S  repeat a noisy workload only while its attempts took under S seconds (300)
  --charts DIR      write the SVG charts into DIR (default: docs/benchmarks/ when writing the docs)
  --keep-ca-certs   leave NODE_EXTRA_CA_CERTS set: by default the run removes it, since Node 20
                    parses that file at every process start (tens of ms of CPU)
  --baseline REF    the observability workload also times @forkd/client as of git revision REF
                    (built into the run's folder), e.g. the commit before a change to the client
  --json FILE       also write every per-round sample as JSON
  --prof DIR        run the client, the forkd server and its workers under --cpu-prof into DIR
                    (bench/dist/tools/profile-summary.js FILE lists the top self times)
  --forkd-only      skip the baselines (ratios show n/a); with --prof, the client profile is forkd's
  --help            this text`

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      pin: { type: 'string' },
      only: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      retries: { type: 'string' },
      'retry-budget': { type: 'string' },
      charts: { type: 'string' },
      json: { type: 'string' },
      prof: { type: 'string' },
      'forkd-only': { type: 'boolean', default: false },
      'keep-ca-certs': { type: 'boolean', default: false },
      baseline: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  })
  if (values.help) {
    console.log(usage)
    process.exit(0)
  }
  const pin = (values.pin ?? 'none') as Pinning
  if (!['none', 'same', 'split'].includes(pin)) throw new TypeError(`--pin must be same or split, got ${JSON.stringify(values.pin)}`)
  // cpus(), not availableParallelism(): the latter sees the affinity of the pinned re-exec (1 CPU).
  if (pin === 'split' && cpus().length < 2) throw new TypeError('--pin split needs at least 2 CPUs')
  const only: WorkloadName[] = []
  for (const name of (values.only ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean)) {
    if (!(workloadNames as readonly string[]).includes(name))
      throw new TypeError(`--only must name workloads among ${workloadNames.join(', ')}, got ${JSON.stringify(name)}`)
    only.push(name as WorkloadName)
  }
  let rounds: number | undefined
  if (values.rounds !== undefined) {
    rounds = Number(values.rounds)
    if (!Number.isInteger(rounds) || rounds < 1) throw new TypeError(`--rounds must be an integer ≥ 1, got ${JSON.stringify(values.rounds)}`)
  }
  let retries = values.quick ? 0 : 3
  if (values.retries !== undefined) {
    retries = Number(values.retries)
    if (!Number.isInteger(retries) || retries < 0) throw new TypeError(`--retries must be an integer ≥ 0, got ${JSON.stringify(values.retries)}`)
  }
  let retryBudget = 300
  if (values['retry-budget'] !== undefined) {
    retryBudget = Number(values['retry-budget'])
    if (!Number.isFinite(retryBudget) || retryBudget < 0) throw new TypeError(`--retry-budget must be a number of seconds ≥ 0, got ${JSON.stringify(values['retry-budget'])}`)
  }
  const runsEverything = only.length === 0
  return {
    quick: values.quick,
    write: values.write || (!values.quick && runsEverything && !values['forkd-only']),
    pin,
    clientCpus: pin === 'none' ? undefined : '0',
    peerCpus: pin === 'none' ? undefined : pin === 'same' ? '0' : '1',
    only: runsEverything ? [...workloadNames] : only,
    rounds,
    json: values.json,
    prof: values.prof,
    forkdOnly: values['forkd-only'],
    retries,
    retryBudget,
    charts: values.charts,
    keepCaCerts: values['keep-ca-certs'],
    baseline: values.baseline,
  }
}
