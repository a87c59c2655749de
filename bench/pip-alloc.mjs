import { fork } from 'node:child_process'
import { Session } from 'node:inspector/promises'
import { Client } from '@forkd/client'
const sock = `/tmp/mb/pipa-${process.pid}.sock`
const child = fork(new URL('./dist/peers/serve-child.js', import.meta.url), [JSON.stringify({ listen: sock, worker: new URL('./dist/peers/echo-worker.js', import.meta.url).pathname, spares: 1 })])
await new Promise((r) => child.on('message', (m) => m.type === 'ready' && r()))
const client = new Client({ connect: sock, minWorkers: 1, maxWorkers: 1 })
const c = await client.checkout()
const n = 10000
async function burst() { const a = new Array(n); for (let i = 0; i < n; i++) a[i] = c.echo('0123456789abcdef'); await Promise.all(a) }
for (let i = 0; i < 5; i++) await burst()
const s = new Session(); s.connect()
await s.post('HeapProfiler.enable')
await s.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
const bursts = 20
for (let i = 0; i < bursts; i++) await burst()
const { profile } = await s.post('HeapProfiler.stopSampling')
const self = new Map()
;(function walk(node) { const f = node.callFrame; const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${f.lineNumber + 1}`; self.set(key, (self.get(key) ?? 0) + node.selfSize); node.children.forEach(walk) })(profile.head)
const total = [...self.values()].reduce((a, b) => a + b, 0)
console.log('bytes per call', (total / bursts / n).toFixed(0))
for (const [k, v] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / bursts / n).toFixed(0).padStart(6), 'B/call', k)
c.release(); await client.close(); child.send({ type: 'stop' })
