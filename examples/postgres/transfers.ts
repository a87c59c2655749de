/**
 * Money transfers through forkd workers holding PostgreSQL connections: many concurrent callers,
 * each transfer a transaction pinned to one checkout. Some fail on purpose (overdrafts are rolled
 * back by the balance check, transfers to missing accounts fail with a SQL error); at the end the
 * total balance must be exactly what it was and the ledger must explain every balance.
 *
 *   npx tsc -b
 *   PGHOST=/var/run/postgresql PGUSER=postgres PGDATABASE=postgres \
 *     node examples/dist/postgres/transfers.js [transfers=2000] [concurrency=50] [workers=8] [seed]
 *
 * It creates (and drops first) the schema `forkd_bank` in that database.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@forkd/client'
import { Server } from '@forkd/server'
import { audit, createBank, randomTransfers, runTransfers } from './bank.js'
import type postgresWorker from './worker.js'

const count = Number(process.argv[2] ?? 2000)
const concurrency = Number(process.argv[3] ?? 50)
const workers = Number(process.argv[4] ?? 8)
const seed = Number(process.argv[5] ?? Date.now() % 2 ** 31)
const accounts = 20
const openingBalance = 1000

const dir = mkdtempSync(join(tmpdir(), 'forkd-pg-'))
const socket = join(dir, 'pg.sock')
// Workers inherit this process's environment, PGHOST and friends included.
const server = await Server.start({ listen: socket, worker: fileURLToPath(new URL('./worker.js', import.meta.url)), name: 'pg' })
const client = new Client<typeof postgresWorker>({ connect: socket, name: 'pg', maxWorkers: workers })

try {
  await createBank(client, accounts, openingBalance)
  const before = await audit(client)
  const transfers = randomTransfers({ count, accounts, maxAmount: 300, missingRate: 0.01, seed })
  const started = performance.now()
  const outcomes = await runTransfers(client, transfers, concurrency)
  const seconds = (performance.now() - started) / 1000
  const after = await audit(client)

  const committed = outcomes.filter((o) => o.kind === 'committed')
  const overdrafts = outcomes.filter((o) => o.kind === 'overdraft').length
  const sqlErrors = new Map<string, number>()
  for (const o of outcomes) if (o.kind === 'sql-error') sqlErrors.set(o.code, (sqlErrors.get(o.code) ?? 0) + 1)
  const pids = new Set(outcomes.map((o) => o.pid))
  const ledgerMatches = committed.length === after.ledgerRows &&
    transfers.every((t, i) => (outcomes[i]!.kind === 'committed') === after.ledgerIds.has(t.id))

  console.log(`${count} transfers (seed ${seed}) from ${concurrency} concurrent callers on at most ${workers} workers ` +
    `in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(0)}/s), ${pids.size} worker processes used`)
  console.log(`  committed ${committed.length}, rolled back for overdraft ${overdrafts}, ` +
    `rolled back after a SQL error ${[...sqlErrors].map(([code, n]) => `${n} (SQLSTATE ${code})`).join(', ') || 0}`)
  console.log(`  total balance before ${before.total}, after ${after.total}; negative balances ${after.negative}; ` +
    `ledger ${after.ledgerRows} rows, ${ledgerMatches && after.mismatched.length === 0 ? 'matches every balance' : 'DOES NOT MATCH'}`)
  if (before.total !== after.total || after.negative !== 0 || after.mismatched.length !== 0 || !ledgerMatches) process.exitCode = 1
} finally {
  await client.close()
  await server.close()
  rmSync(dir, { recursive: true, force: true })
}
