/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --prof DIR`): the functions with the most
 * self time, as file:line, and their share of the samples. Several files are added up (e.g. every
 * short-lived worker of the fresh-worker workload).
 *
 *   node bench/dist/tools/profile-summary.js [--top N] [--filter TEXT] [--no-idle] [--by-file] FILE.cpuprofile...
 *
 * --by-file adds self time up per script (module) instead of per function: where start-up goes.
 */
import { readFileSync } from 'node:fs'
import { parseToolArgs } from '../lib/tool-args.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const usage = 'usage: profile-summary.js [--top N] [--filter TEXT] [--no-idle] [--by-file] FILE.cpuprofile...'
const { values, positionals } = parseToolArgs({
  options: { top: { type: 'string', default: '25' }, filter: { type: 'string' }, 'no-idle': { type: 'boolean', default: false }, 'by-file': { type: 'boolean', default: false } },
  allowPositionals: true,
}, usage)
if (positionals.length === 0) {
  console.error(usage)
  process.exit(2)
}

const selfMicros = new Map<string, number>()
let total = 0
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (values['no-idle'] && functionName === '(idle)') continue
    const dt = profile.timeDeltas[i] ?? 0
    total += dt
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/')
    const key = values['by-file']
      ? file || `(${functionName || 'anonymous'})`
      : `${functionName || '(anonymous)'} ${url ? `${file}:${lineNumber + 1}` : ''}`.trim()
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + dt)
  }
}
const filter = values.filter
const rows = [...selfMicros].filter(([k]) => filter === undefined || k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))
console.log(`${positionals.length} profile(s): ${(total / 1000).toFixed(0)} ms sampled${values['no-idle'] ? ' (idle excluded)' : ''}`)
for (const [key, us] of rows) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`)
