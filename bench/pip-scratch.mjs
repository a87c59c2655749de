import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Client } from '@forkd/client'
const sock = `/tmp/mb/pip-${process.pid}.sock`
const child = fork(new URL('./dist/peers/serve-child.js', import.meta.url), [JSON.stringify({ listen: sock, worker: new URL('./dist/peers/echo-worker.js', import.meta.url).pathname, spares: 1 })])
await new Promise((r) => child.on('message', (m) => m.type === 'ready' && r()))
const client = new Client({ connect: sock, minWorkers: 1, maxWorkers: 1 })
const c = await client.checkout()
const n = 10000
const ns = (pid) => Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0])
async function burst() { const t = performance.now(); const a = new Array(n); for (let i = 0; i < n; i++) a[i] = c.echo('0123456789abcdef'); await Promise.all(a); return n / ((performance.now() - t) / 1000) }
for (let i = 0; i < 5; i++) await burst()
const gap = Number(process.argv[2] ?? 0)
const rs = []
for (let r = 0; r < 20; r++) { if (gap) await new Promise((res) => setTimeout(res, gap)); const c0 = ns(process.pid), w0 = ns(c.worker.pid); const rate = await burst(); rs.push([rate, (ns(process.pid) - c0) / n, (ns(c.worker.pid) - w0) / n]) }
rs.sort((a, b) => a[0] - b[0])
const m = rs[10]
console.log(`gap ${gap}: median ${Math.round(m[0])}/s client ${Math.round(m[1])} ns worker ${Math.round(m[2])} ns; min ${Math.round(rs[0][0])} max ${Math.round(rs[19][0])}`)
c.release(); await client.close(); child.send({ type: 'stop' })
