/**
 * The main job: start a forkd server with the password worker, then hash and verify many passwords
 * concurrently from a client, and print what happened.
 *
 *   npm run example               # 100 passwords, 4 workers
 *   npm run example -- 1000 8     # 1000 passwords, 8 workers
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@forkd/client'
import { Server } from '@forkd/server'
import type passwordWorker from './worker.js'

const count = Number(process.argv[2] ?? 100)
const workers = Number(process.argv[3] ?? 4)

const dir = mkdtempSync(join(tmpdir(), 'forkd-example-'))
const socket = join(dir, 'passwords.sock')
const server = await Server.start({
  listen: socket,
  worker: fileURLToPath(new URL('./worker.js', import.meta.url)),
  name: 'passwords',
  spares: 2,
})
// Every checkout is queued at once, so the wait for a worker is long by design: give it time.
const client = new Client<typeof passwordWorker>({ connect: socket, name: 'passwords', minWorkers: 2, maxWorkers: workers, timeout: 300_000 })

try {
  const started = performance.now()
  const pids = new Set<number>()
  const results = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const password = `correct horse battery staple #${i}`
      const c = await client.checkout()
      try {
        pids.add(c.worker.pid)
        const stored = await c.hash(password)
        const good = await c.verify(password, stored)
        const bad = await c.verify(password + '!', stored)
        return good && !bad
      } finally {
        c.release()
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const ok = results.filter(Boolean).length
  console.log(`hashed and verified ${count} passwords in ${seconds.toFixed(2)} s ` +
    `(${(count / seconds).toFixed(0)}/s) on ${pids.size} worker processes (pids ${[...pids].join(', ')})`)
  console.log(`${ok} of ${count} verified correctly, wrong passwords rejected`)
  console.log('pool:', client.stats())
  if (ok !== count) process.exitCode = 1
} finally {
  await client.close()
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}
