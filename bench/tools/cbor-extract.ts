/**
 * What cbor-extract (cbor-x's optional native string extractor) buys on forkd's own messages.
 *
 *   node bench/dist/tools/cbor-extract.js            # both runs, side by side
 *
 * Runs the same decode loop twice in child processes: once with cbor-extract resolvable (cbor-x
 * loads it when it can), once with its resolution made to fail by a preload, which is what a
 * tree without the package looks like to cbor-x. Each run decodes with forkd's `Codec` (the
 * @forkd/protocol build, which uses cbor-x's no-eval bundle) and, for comparison, with cbor-x's
 * default Node entry, the one that can use the extractor.
 */
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Codec, MessageType } from '@forkd/protocol'

interface Row {
  message: string
  decoder: string
  opsPerSecond: number
}

/** Typical messages: a call with small arguments, its reply, a structured reply, a 1 MiB echo. */
function messages(codec: Codec): { name: string; frame: Buffer }[] {
  const mib = Buffer.alloc(1024 * 1024, 7)
  const stored = 'a3f1c2d4e5b6a7980a1b2c3d4e5f6071$' + 'ff00ee11dd22cc33bb44aa5599668877ff00ee11dd22cc33bb44aa5599668877'
  return [
    { name: 'call hash("secret password")', frame: codec.encode([MessageType.Call, 7, 0, 'hash', ['secret password'], 0]) },
    { name: 'ok (97-char string)', frame: codec.encode([MessageType.Ok, 7, stored]) },
    { name: 'ok { id, name, email, roles }', frame: codec.encode([MessageType.Ok, 8, { id: 42, name: 'Ada Lovelace', email: 'ada@example.org', roles: ['admin', 'user'] }]) },
    { name: 'call echo(1 MiB Buffer)', frame: codec.encode([MessageType.Call, 9, 0, 'echo', [mib], 0]) },
    { name: 'ok (1 MiB Buffer)', frame: codec.encode([MessageType.Ok, 9, mib]) },
  ]
}

/** Decodes per second of CPU time (user + system), which a loaded machine distorts less than wall time. */
function rate(decode: (frame: Buffer) => unknown, frame: Buffer): number {
  for (let i = 0; i < 5_000; i++) decode(frame) // warm-up: let the JIT settle
  let n = 0
  const cpu = () => {
    const { user, system } = process.cpuUsage()
    return user + system
  }
  const start = cpu()
  while (cpu() - start < 200_000) {
    for (let i = 0; i < 2_000; i++) decode(frame)
    n += 2_000
  }
  return n / ((cpu() - start) / 1e6)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function measure(): Promise<void> {
  const codec = new Codec()
  const cbor = await import('cbor-x')
  const options = { useRecords: false, mapsAsObjects: true, useTag259ForMaps: true, tagUint8Array: false, copyBuffers: false }
  const plain = new cbor.Decoder(options)
  const rows: Row[] = []
  for (const { name, frame } of messages(codec)) {
    rows.push({ message: name, decoder: 'forkd Codec', opsPerSecond: rate((f) => codec.decodeFrame(f), frame) })
    rows.push({ message: name, decoder: 'cbor-x default entry', opsPerSecond: rate((f) => plain.decodeMultiple(f), frame) })
  }
  const noEval = await import('cbor-x/index-no-eval')
  process.stdout.write(JSON.stringify({ native: cbor.isNativeAccelerationEnabled, noEvalNative: noEval.isNativeAccelerationEnabled, rows }))
}

function main(): void {
  const self = fileURLToPath(import.meta.url)
  const dir = mkdtempSync(join(tmpdir(), 'fd-cbor-'))
  // A preload that makes `require('cbor-extract')` fail as if the package were not installed.
  const hide = join(dir, 'hide-cbor-extract.cjs')
  writeFileSync(hide, `const M = require('node:module'); const r = M._resolveFilename;
M._resolveFilename = function (request, ...rest) {
  if (request === 'cbor-extract') { const e = new Error("Cannot find module 'cbor-extract'"); e.code = 'MODULE_NOT_FOUND'; throw e }
  return r.call(this, request, ...rest)
}\n`)
  try {
    const installed = (() => {
      try {
        createRequire(import.meta.url)('cbor-extract')
        return true
      } catch {
        return false
      }
    })()
    const run = (preload: string[]) =>
      JSON.parse(execFileSync(process.execPath, [...preload, self, '--child'], { encoding: 'utf8' })) as { native: boolean; noEvalNative: boolean; rows: Row[] }
    // Rounds alternate between the two set-ups so that load on the machine hits both alike.
    const rounds = 5
    const withRuns: { native: boolean; noEvalNative: boolean; rows: Row[] }[] = []
    const withoutRuns: { native: boolean; noEvalNative: boolean; rows: Row[] }[] = []
    for (let r = 0; r < rounds; r++) {
      withRuns.push(run([]))
      withoutRuns.push(run(['--require', hide]))
    }
    process.stdout.write(`cbor-extract loadable here: ${installed}; native acceleration in cbor-x's default entry: ${withRuns[0]!.native} with, ${withoutRuns[0]!.native} without; ` +
      `in the no-eval bundle forkd's Codec uses: ${withRuns[0]!.noEvalNative} with, ${withoutRuns[0]!.noEvalNative} without\n`)
    process.stdout.write(`medians of ${rounds} alternating rounds, decodes per CPU second\n\n`)
    process.stdout.write('| message | decoder | with cbor-extract | without | with ÷ without |\n|---|---|---|---|---|\n')
    const fmt = (n: number) => (n >= 10_000 ? `${Math.round(n / 1000)} k` : n.toFixed(0))
    for (let i = 0; i < withRuns[0]!.rows.length; i++) {
      const row = withRuns[0]!.rows[i]!
      const a = median(withRuns.map((run) => run.rows[i]!.opsPerSecond))
      const b = median(withoutRuns.map((run) => run.rows[i]!.opsPerSecond))
      process.stdout.write(`| ${row.message} | ${row.decoder} | ${fmt(a)} | ${fmt(b)} | ${(a / b).toFixed(2)} |\n`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv.includes('--child')) await measure()
else main()
