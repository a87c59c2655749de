/**
 * What one pipelined call costs in CPU, client and worker side: one forkd server, one client, one
 * checkout, bursts of 10 000 `echo` calls issued at once (workload 3's burst). Per burst it reads
 * the main thread's CPU time of this process and of the worker from /proc/PID/task/PID/schedstat
 * (Linux; nanoseconds), which a busy machine disturbs far less than wall time.
 *
 *   node bench/dist/tools/pipelined-cpu.js [--rounds N] [--repeat N] [ROOT ...]
 *
 * Each ROOT is a built checkout of the repository (default: this one); with several, their runs
 * alternate, `--repeat` times each. Prints, per run, the median calls/s and the median and 20th
 * percentile of the CPU ns per call of each side.
 */
import { fork } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseToolArgs } from '../lib/tool-args.js'

const { values, positionals } = parseToolArgs({
  options: { rounds: { type: 'string', default: '30' }, repeat: { type: 'string', default: '3' } },
  allowPositionals: true,
}, 'usage: node bench/dist/tools/pipelined-cpu.js [--rounds N] [--repeat N] [ROOT ...]')
const rounds = Number(values.rounds)
const repeat = Number(values.repeat)
const here = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const roots = positionals.length > 0 ? positionals.map((p) => resolve(p)) : [here]
const n = 10_000
const payload = '0123456789abcdef'

interface ClientLike {
  checkout(): Promise<{ echo(x: string): Promise<string>; release(): void; worker: { pid: number } }>
  close(): Promise<void>
}

/** CPU time of a process's main thread so far, ns. */
function mainThreadNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0])
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!
}

async function measure(root: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'fpc-'))
  const listen = join(dir, 's')
  const config = { listen, worker: join(root, 'bench/dist/peers/echo-worker.js'), spares: 1 }
  const server = fork(join(root, 'bench/dist/peers/serve-child.js'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  try {
    await new Promise<void>((ready, failed) => {
      server.on('message', (m: { type?: string }) => m.type === 'ready' && ready())
      server.on('exit', (code) => failed(new Error(`the forkd server of ${root} exited (${code}) before it was ready`)))
    })
    const { Client } = (await import(join(root, 'packages/client/dist/index.js'))) as { Client: new (options: object) => ClientLike }
    const client = new Client({ connect: listen, minWorkers: 1, maxWorkers: 1 })
    const c = await client.checkout()
    const burst = async () => {
      const all = new Array<Promise<string>>(n)
      for (let i = 0; i < n; i++) all[i] = c.echo(payload)
      await Promise.all(all)
    }
    for (let i = 0; i < 5; i++) await burst()
    const rates: number[] = []
    const clientNs: number[] = []
    const workerNs: number[] = []
    for (let r = 0; r < rounds; r++) {
      const c0 = mainThreadNs(process.pid)
      const w0 = mainThreadNs(c.worker.pid)
      const t0 = performance.now()
      await burst()
      rates.push(n / ((performance.now() - t0) / 1000))
      clientNs.push((mainThreadNs(process.pid) - c0) / n)
      workerNs.push((mainThreadNs(c.worker.pid) - w0) / n)
    }
    c.release()
    await client.close()
    const f = (x: number) => Math.round(x).toLocaleString('en-US')
    return `${f(quantile(rates, 0.5))} calls/s; CPU ns per call: client ${f(quantile(clientNs, 0.5))} (p20 ${f(quantile(clientNs, 0.2))}), worker ${f(quantile(workerNs, 0.5))} (p20 ${f(quantile(workerNs, 0.2))})`
  } finally {
    server.send({ type: 'stop' })
    await new Promise((done) => (server.exitCode !== null ? done(undefined) : server.once('exit', done)))
    rmSync(dir, { recursive: true, force: true })
  }
}

for (let i = 0; i < repeat; i++) for (const root of roots) console.log(`${root}: ${await measure(root)}`)
