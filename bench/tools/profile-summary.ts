/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --prof DIR`): the functions with the most
 * self time, as file:line, and the share of the profile they take.
 *
 *   node bench/dist/tools/profile-summary.js FILE.cpuprofile [TOP=25] [FILTER]
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

const [file, topArg, filter] = process.argv.slice(2)
if (file === undefined) {
  console.error('usage: profile-summary.js FILE.cpuprofile [TOP] [URL-FILTER]')
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const selfMicros = new Map<string, number>()
let total = 0
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!)
  const dt = profile.timeDeltas[i] ?? 0
  if (node === undefined) continue
  total += dt
  const { functionName, url, lineNumber } = node.callFrame
  const where = url ? `${url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/')}:${lineNumber + 1}` : ''
  const key = `${functionName || '(anonymous)'} ${where}`.trim()
  selfMicros.set(key, (selfMicros.get(key) ?? 0) + dt)
}
const rows = [...selfMicros].filter(([k]) => filter === undefined || k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`)
for (const [key, us] of rows) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${key}`)
