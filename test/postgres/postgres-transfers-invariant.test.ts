import { describe, expect, it } from 'vitest'
import { usePostgresEnv, type PgCluster, type PostgresWorker } from '../support/postgres.js'
import { type TestEnv } from '../support/harness.js'
import { audit, createBank, randomTransfers, runTransfers, type PostgresClient } from '../../examples/postgres/bank.js'

describe('PostgreSQL: concurrent transfers, each a transaction on its own checkout', () => {
  let cluster: PgCluster
  let env: TestEnv
  usePostgresEnv(null, { spares: 4 }, (c, e) => {
    cluster = c
    env = e
  })

  it('keeps the total balance exactly invariant, and every transfer either fully happened or not at all', async () => {
    const accounts = 20
    const opening = 1_000
    const seed = Date.now() % 2 ** 31
    const client: PostgresClient = env.client<PostgresWorker>({ name: 'bank', maxWorkers: 8, minWorkers: 8 })
    await createBank(client, accounts, opening)
    // Amounts up to 300 against balances around 1 000 overdraw now and then; 0.5 % go to a missing account
    // (each of those reforks a worker, a process start: kept rare so the run stays fast).
    const transfers = randomTransfers({ count: 2_000, accounts, maxAmount: 300, missingRate: 0.005, seed })
    const outcomes = await runTransfers(client, transfers, 50)
    for (const o of outcomes) env.pids.add(o.pid)

    const result = await audit(client)
    const committed = outcomes.filter((o) => o.kind === 'committed').length
    const overdrafts = outcomes.filter((o) => o.kind === 'overdraft').length
    const sqlErrors = outcomes.filter((o) => o.kind === 'sql-error')
    const context = `seed ${seed}: ${committed} committed, ${overdrafts} overdrafts, ${sqlErrors.length} SQL errors`

    expect(outcomes.length, context).toBe(2_000)
    expect(result.total, context).toBe(accounts * opening)
    expect(result.negative, context).toBe(0)
    expect(result.mismatched, context).toEqual([])
    // The ledger row is written in the same transaction: present exactly for the committed transfers.
    expect(result.ledgerRows, context).toBe(committed)
    const wrong = transfers.filter((t, i) => (outcomes[i]!.kind === 'committed') !== result.ledgerIds.has(t.id))
    expect(wrong, context).toEqual([])

    // Each failure path was exercised, and failed the way it should have.
    expect(committed, context).toBeGreaterThan(1_000)
    expect(overdrafts, context).toBeGreaterThan(0)
    expect(sqlErrors.length, context).toBeGreaterThan(0)
    expect(new Set(sqlErrors.map((o) => o.kind === 'sql-error' && o.code)), context).toEqual(new Set(['23503']))
    const missing = transfers.filter((t) => t.to > accounts).length
    expect(sqlErrors.length, context).toBe(missing)
    // A worker that saw a SQL error was reforked, so more processes than maxWorkers served the run.
    expect(env.pids.size, context).toBeGreaterThan(8)
  })
})
