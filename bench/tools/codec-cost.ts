/**
 * What forkd's codec costs per frame on top of cbor-x (cbor-scan.ts: the pre-decode scan for
 * depth, message count and 8-byte integers; the post-encode fix-ups for integers, bigints and lone
 * surrogates), for typical messages: ns per encode and per decode, interleaved rounds, CPU time of
 * this process (less disturbed by other processes on a busy machine than wall time).
 *
 *   node bench/dist/tools/codec-cost.js [--rounds N] [--before PATH/TO/protocol/dist/index.js]
 *
 * With --before, an older build of @forkd/protocol is measured in the same rounds.
 */
import { Decoder, Encoder } from 'cbor-x/index-no-eval'
import { Codec } from '@forkd/protocol'
import { parseToolArgs } from '../lib/tool-args.js'

const { values } = parseToolArgs({ options: { rounds: { type: 'string', default: '15' }, before: { type: 'string' } } }, 'usage: node bench/dist/tools/codec-cost.js [--rounds N] [--before PATH/TO/protocol/dist/index.js]')
const rounds = Number(values.rounds)

const cborOptions = { useRecords: false, mapsAsObjects: true, useTag259ForMaps: true, tagUint8Array: false, copyBuffers: false } as const
const rawEncoder = new Encoder(cborOptions)
const rawDecoder = new Decoder(cborOptions)

interface CodecLike {
  encode(message: unknown): Buffer
  decodeFrame(frame: Buffer): unknown[]
}
const contenders: Record<string, CodecLike> = {
  'cbor-x alone': { encode: (m) => rawEncoder.encode(m), decodeFrame: (f) => rawDecoder.decodeMultiple(f) as unknown[] },
  codec: new Codec(),
}
if (values.before !== undefined) {
  const before = (await import(values.before)) as { Codec: new () => CodecLike }
  contenders['codec before'] = new before.Codec()
}

const messages: Record<string, unknown> = {
  'call, one string': [1, 7, 0, 'hash', ['correct horse battery staple'], 0],
  'ok, 90-char string': [2, 7, '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG2gnkqA/KNqY'],
  'log (time in ms)': [6, 7, 'info', 1_763_900_000_123, 'user logged in', { user: 42 }],
  'ok, 1 MiB bytes': [2, 7, Buffer.alloc(1024 * 1024, 0xab)],
  'ok, 1000 rows': [2, 7, Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `row ${i}`, score: i / 7, tags: ['a', 'b'], ok: true }))],
}

/** CPU ns per call of `fn`, over about `ms` milliseconds. */
function cpuNs(fn: () => void, ms: number): number {
  let n = 0
  const start = process.cpuUsage()
  let used = 0
  do {
    // process.cpuUsage() itself costs about a microsecond: call it rarely
    for (let i = 0; i < 256; i++) fn()
    n += 256
    const d = process.cpuUsage(start)
    used = d.user + d.system
  } while (used < ms * 1000)
  return (used * 1000) / n
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const min = (xs: number[]) => Math.min(...xs)
const fmt = (ns: number) => (ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`)

console.log(`rounds: ${rounds}; figures: median of the rounds (minimum)\n`)
console.log(`| message | bytes | ${Object.keys(contenders).map((c) => `${c}: encode | ${c}: decode`).join(' | ')} |`)
console.log(`|---|---:|${Object.keys(contenders).map(() => '---:|---:').join('|')}|`)
for (const [name, message] of Object.entries(messages)) {
  const results = Object.fromEntries(Object.keys(contenders).map((c) => [c, { encode: [] as number[], decode: [] as number[] }]))
  const frames = Object.fromEntries(Object.entries(contenders).map(([c, codec]) => [c, codec.encode(message)]))
  for (const [c, codec] of Object.entries(contenders)) {
    cpuNs(() => codec.encode(message), 50)
    cpuNs(() => codec.decodeFrame(frames[c]!), 50)
  }
  for (let r = 0; r < rounds; r++) {
    for (const [c, codec] of Object.entries(contenders)) {
      results[c]!.encode.push(cpuNs(() => codec.encode(message), 20))
      results[c]!.decode.push(cpuNs(() => codec.decodeFrame(frames[c]!), 20))
    }
  }
  const cells = Object.keys(contenders).map((c) => `${fmt(median(results[c]!.encode))} (${fmt(min(results[c]!.encode))}) | ${fmt(median(results[c]!.decode))} (${fmt(min(results[c]!.decode))})`)
  console.log(`| ${name} | ${frames.codec!.length} | ${cells.join(' | ')} |`)
}

// The alternative for lone surrogates that was not taken: String.prototype.isWellFormed on every
// string before encoding (a walk over the value, then a check per string).
const isWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed
if (isWellFormed !== undefined) {
  const walk = (v: unknown): boolean => {
    if (typeof v === 'string') return isWellFormed.call(v)
    if (Array.isArray(v)) return v.every(walk)
    if (typeof v === 'object' && v !== null && !Buffer.isBuffer(v)) return Object.entries(v).every(([k, x]) => isWellFormed.call(k) && walk(x))
    return true
  }
  console.log('\n| message | walk + isWellFormed per string |\n|---|---:|')
  for (const [name, message] of Object.entries(messages)) {
    const samples = Array.from({ length: rounds }, () => cpuNs(() => walk(message), 20))
    console.log(`| ${name} | ${fmt(median(samples))} (${fmt(min(samples))}) |`)
  }
}
