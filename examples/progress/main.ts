/**
 * Progress from a worker to a terminal progress bar.
 *
 *   npm run build && node examples/dist/progress/main.js
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@forkd/client'
import { Server } from '@forkd/server'
import type progressWorker from './worker.js'

function bar(done: number, total: number, width = 40): string {
  const filled = Math.round((done / total) * width)
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round((done / total) * 100)).padStart(3)}%`
}

const dir = mkdtempSync(join(tmpdir(), 'forkd-progress-'))
const socket = join(dir, 'progress.sock')
const server = await Server.start({ listen: socket, worker: fileURLToPath(new URL('./worker.js', import.meta.url)), spares: 1 })
const client = new Client<typeof progressWorker>({ connect: socket, minWorkers: 1 })

try {
  const c = await client.checkout({
    log: (record) => {
      if (record.level !== 'done') process.stdout.write(`\n  worker ${record.pid} ${record.level}: ${record.message} ${JSON.stringify(record.fields)}`)
    },
  })
  try {
    const digest = await c
      .with({
        onEvent: (name, data) => {
          const { done, total } = data as { done: number; total: number }
          if (name === 'progress') process.stdout.write(`\r${bar(done, total)}`)
        },
      })
      .digest(400, 1 << 20)
    process.stdout.write(`\nsha256 of 400 MiB: ${digest}\n`)
  } finally {
    c.release()
  }
} finally {
  await client.close()
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}
