/**
 * What a forkd worker process costs to start, measured outside the server (research for issue 20):
 *
 *   imports  CPU and wall time of a fresh `node` that only imports one thing (ws, cbor-x, the
 *            protocol, @forkd/server's index, ...), next to one that imports nothing.
 *   entry    the worker entry (packages/server/dist/worker/entry.js) forked directly, as the server
 *            forks it: spawn → ready (wall) and the CPU it used by then, with the bench's echo worker
 *            module (which imports @forkd/server) and with a module that imports nothing.
 *   width    sustained starts with W processes starting at once (a new one as each is ready and
 *            retired): worker entries per second against `node -e 0` per second at the same width.
 *
 *   node bench/dist/tools/worker-startup.js [--only imports,entry,width] [--starts N] [--widths 1,2,4]
 *        [--exec-argv "--flag ..."] [--prof DIR]
 *
 * CPU figures come from /proc (bench/lib/cpu-time.ts): they hold on a loaded machine when wall
 * times do not. NODE_EXTRA_CA_CERTS is removed from the environment of everything started (Node 20
 * parses that file at every process start); the imports table shows what it costs when it is set. --prof runs a few entries under --cpu-prof into DIR (summarise with
 * profile-summary.js --by-file).
 */
import { fork, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { benchFile } from '../lib/context.js'
import { liveProcessCpuMs, reapedChildrenCpuMs } from '../lib/cpu-time.js'
import { median } from '../lib/stats.js'
import { parseToolArgs } from '../lib/tool-args.js'

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))
const entry = join(repoRoot, 'packages/server/dist/worker/entry.js')

const { values } = parseToolArgs({
  options: {
    only: { type: 'string', default: 'imports,entry,width' },
    starts: { type: 'string', default: '20' },
    widths: { type: 'string', default: `1,${cpus().length},${cpus().length * 2},8` },
    'exec-argv': { type: 'string', default: '' },
    prof: { type: 'string' },
  },
}, 'usage: node bench/dist/tools/worker-startup.js [--only imports,entry,width] [--starts N] [--widths 1,2,4] [--exec-argv "--flag ..."] [--prof DIR]')
const parts = new Set(values.only.split(','))
const starts = Number(values.starts)
const widths = [...new Set(values.widths.split(',').map(Number))]
const execArgv = values['exec-argv'].split(' ').filter(Boolean)
const extraCaCerts = process.env.NODE_EXTRA_CA_CERTS
delete process.env.NODE_EXTRA_CA_CERTS
const dir = mkdtempSync(join(tmpdir(), 'fkws-'))
const bareModule = join(dir, 'bare-worker.mjs')
writeFileSync(bareModule, 'export default { interface: { echo: (x) => x } }\n')
const modules = { 'echo worker (imports @forkd/server)': benchFile('peers/echo-worker.js'), 'bare module (imports nothing)': bareModule }

const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a')
const log = (line: string) => console.log(line)

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => resolve(code))
  })
}

/** `node ARGS` started `n` times one after another: wall and CPU ms per start (cutime of this process). */
async function nodeRuns(args: string[], n: number, env: NodeJS.ProcessEnv = process.env): Promise<{ wall: number; cpu: number }> {
  const cpuBefore = reapedChildrenCpuMs()
  const walls: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const code = await exitOf(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], cwd: repoRoot, env }))
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`)
    walls.push(performance.now() - t0)
  }
  return { wall: median(walls), cpu: (reapedChildrenCpuMs() - cpuBefore) / n }
}

/** ESM source that loads `ids` with require() (createRequire), as a worker could instead of `import`. */
function requireFromRepo(...ids: string[]): string {
  const base = JSON.stringify(pathToFileURL(join(repoRoot, 'package.json')).href)
  return `import { createRequire } from 'node:module'; const require = createRequire(${base}); ${ids.map((id) => `require('${id}');`).join(' ')}`
}

async function imports(): Promise<void> {
  const serverDist = (file: string) => pathToFileURL(join(repoRoot, 'packages/server/dist', file)).href
  const builtins = ['http', 'https', 'net', 'tls', 'crypto', 'zlib', 'stream', 'url', 'querystring'].map((m) => `import 'node:${m}';`).join(' ')
  // [label, source, extra node flags]
  const cases: [string, string, string[]?][] = [
    ['(nothing: ESM entry)', ''],
    ['node:http', "import 'node:http'"],
    ['node:http, node:net, node:worker_threads', "import 'node:http'; import 'node:net'; import 'node:worker_threads'"],
    ['ws', "import 'ws'"],
    ['cbor-x (index-no-eval)', "import 'cbor-x/index-no-eval'"],
    ['ws via require() (CommonJS: no export lexing)', requireFromRepo('ws')],
    ['cbor-x via require()', requireFromRepo('cbor-x/index-no-eval')],
    ['ws + cbor-x via require()', requireFromRepo('ws', 'cbor-x/index-no-eval')],
    ['the builtins ws loads (http, https, net, tls, crypto, zlib, stream, url, querystring)', builtins],
    // any V8 flag (this one too) makes V8 refuse the compiled code Node ships for its own modules
    ['the same builtins with a V8 flag (--max-old-space-size=4096)', builtins, ['--max-old-space-size=4096']],
    ['@forkd/protocol', "import '@forkd/protocol'"],
    ['ws + @forkd/protocol', "import 'ws'; import '@forkd/protocol'"],
    ["the worker entry's imports (session, prewarm, define-worker, ws, http)", ['worker/session.js', 'worker/prewarm.js', 'define-worker.js', 'worker/orphan-watchdog.js'].map((f) => `import '${serverDist(f)}';`).join(' ') + " import 'ws'; import 'node:http'"],
    ['@forkd/server (the index a worker module imports)', "import '@forkd/server'"],
    ['entry imports + @forkd/server', ['worker/session.js', 'worker/prewarm.js', 'define-worker.js', 'worker/orphan-watchdog.js'].map((f) => `import '${serverDist(f)}';`).join(' ') + " import 'ws'; import 'node:http'; import '@forkd/server'"],
  ]
  log(`\n## imports: a fresh node that imports one thing and exits (${starts} starts each, one after another)\n`)
  const plain = await nodeRuns([...execArgv, '-e', '0'], starts)
  log(`| what | wall p50 | CPU per start | CPU over the ESM entry |\n|---|---:|---:|---:|`)
  log(`| node -e 0 (CommonJS entry) | ${ms(plain.wall)} | ${ms(plain.cpu)} | |`)
  if (extraCaCerts !== undefined) {
    const withCa = await nodeRuns([...execArgv, '-e', '0'], starts, { ...process.env, NODE_EXTRA_CA_CERTS: extraCaCerts })
    log(`| node -e 0 with NODE_EXTRA_CA_CERTS=${extraCaCerts} (as this machine's environment has it) | ${ms(withCa.wall)} | ${ms(withCa.cpu)} | |`)
  }
  let base = NaN
  for (const [label, source, flags = []] of cases) {
    const r = await nodeRuns([...execArgv, ...flags, '--input-type=module', '-e', source], starts)
    if (source === '') base = r.cpu
    log(`| ${label} | ${ms(r.wall)} | ${ms(r.cpu)} | ${source === '' ? '' : `+${ms(r.cpu - base)}`} |`)
  }
}

interface StartedWorker {
  child: ReturnType<typeof fork>
  readyMs: number
  cpuAtReady: number
}

let nextId = 0
/** Forks the worker entry as the server does; resolves when it reports ready. */
function startEntry(module: string, extraArgv: string[] = []): Promise<StartedWorker> {
  const boot = {
    module: pathToFileURL(module).href, name: 'startup', id: ++nextId, serverPid: process.pid,
    maxPayload: 64 * 1024 * 1024, handshakeTimeout: 10_000, hungWorkerTimeout: null,
  }
  const t0 = performance.now()
  const child = fork(entry, [JSON.stringify(boot)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json', execArgv: [...execArgv, ...extraArgv] })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker entry exited with ${code} before ready`)))
    child.on('message', (message: { type?: string; message?: string }) => {
      if (message.type === 'ready') {
        child.removeAllListeners('exit')
        resolve({ child, readyMs: performance.now() - t0, cpuAtReady: liveProcessCpuMs(child.pid!) })
      } else if (message.type === 'load-failed') reject(new Error(`worker module failed to load: ${message.message}`))
    })
  })
}

async function retire(worker: StartedWorker): Promise<void> {
  const exited = exitOf(worker.child)
  worker.child.send({ type: 'retire', reason: 'startup bench' })
  await exited
}

async function entryStarts(): Promise<void> {
  log(`\n## entry: the worker entry forked directly, spawn → ready, one at a time (${starts} starts each)\n`)
  log(`| worker module | wall p50 | CPU at ready p50 | CPU spawn → ready → retired (cutime) |\n|---|---:|---:|---:|`)
  const plain = await nodeRuns([...execArgv, '-e', '0'], starts)
  log(`| (node -e 0, spawn → exit) | ${ms(plain.wall)} | | ${ms(plain.cpu)} |`)
  for (const [label, module] of Object.entries(modules)) {
    const walls: number[] = []
    const cpuAtReady: number[] = []
    const before = reapedChildrenCpuMs()
    for (let i = 0; i < starts; i++) {
      const w = await startEntry(module)
      walls.push(w.readyMs)
      cpuAtReady.push(w.cpuAtReady)
      await retire(w)
    }
    log(`| ${label} | ${ms(median(walls))} | ${ms(median(cpuAtReady))} | ${ms((reapedChildrenCpuMs() - before) / starts)} |`)
  }
}

/** Keeps `width` starts in flight until `total` have finished; returns finished per second. */
async function sustained(total: number, width: number, one: () => Promise<void>): Promise<number> {
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < total) {
      next++
      await one()
    }
  }))
  return total / ((performance.now() - t0) / 1000)
}

async function widthScan(): Promise<void> {
  const total = Math.max(starts, 2 * Math.max(...widths))
  log(`\n## width: sustained starts with W at once (${total} each; ${cpus().length} cores)\n`)
  log(`| W | node -e 0 starts/s | worker entry ready/s (echo worker) | ratio | CPU per worker start (cutime) |\n|---:|---:|---:|---:|---:|`)
  for (const width of widths) {
    const node = await sustained(total, width, async () => {
      const code = await exitOf(spawn(process.execPath, [...execArgv, '-e', '0'], { stdio: 'ignore' }))
      if (code !== 0) throw new Error(`node -e 0 exited with ${code}`)
    })
    const before = reapedChildrenCpuMs()
    const workers = await sustained(total, width, async () => retire(await startEntry(modules['echo worker (imports @forkd/server)'])))
    const cpu = (reapedChildrenCpuMs() - before) / total
    log(`| ${width} | ${node.toFixed(1)} | ${workers.toFixed(1)} | ${(workers / node).toFixed(2)}× | ${ms(cpu)} |`)
  }
}

async function profile(out: string): Promise<void> {
  mkdirSync(out, { recursive: true })
  for (let i = 0; i < 3; i++) await retire(await startEntry(modules['echo worker (imports @forkd/server)'], ['--cpu-prof', `--cpu-prof-dir=${out}`]))
  log(`\nwrote 3 start-up profiles into ${out} (node bench/dist/tools/profile-summary.js --by-file ${out}/*.cpuprofile)`)
}

try {
  log(`# forkd worker start-up (${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}${execArgv.length ? `, node ${execArgv.join(' ')}` : ''})`)
  if (parts.has('imports')) await imports()
  if (parts.has('entry')) await entryStarts()
  if (parts.has('width')) await widthScan()
  if (values.prof !== undefined) await profile(resolve(values.prof))
  log(`\nload average at the end: ${loadavg()[0]!.toFixed(1)}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
