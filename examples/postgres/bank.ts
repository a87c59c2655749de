/**
 * Money transfers between accounts, each one a transaction on its own checkout. Used by the
 * example (transfers.ts) and by the invariant test (test/postgres/postgres-transfers-invariant.test.ts).
 *
 * Tables live in their own schema, `forkd_bank`, which `createBank` drops and recreates.
 */
import { WorkerError, type Checkout, type Client } from '@forkd/client'
import type { default as postgresWorker, QueryResult } from './worker.js'

export type PostgresClient = Client<typeof postgresWorker>
export type PostgresCheckout = Checkout<typeof postgresWorker>

export interface Transfer {
  /** Unique per run; recorded in the ledger when the transfer commits. */
  id: number
  from: number
  to: number
  amount: number
}

export type TransferOutcome =
  | { kind: 'committed'; pid: number }
  /** The source account would have gone negative: rolled back by the caller's check. */
  | { kind: 'overdraft'; pid: number }
  /** PostgreSQL refused a statement (e.g. 23503, the target account does not exist): rolled back. */
  | { kind: 'sql-error'; pid: number; code: string; message: string }

export interface Audit {
  accounts: number
  total: number
  negative: number
  ledgerRows: number
  /** Accounts whose balance differs from opening balance + ledger credits − ledger debits. */
  mismatched: number[]
  /** Transfer ids found in the ledger. */
  ledgerIds: Set<number>
}

/** Creates `accounts` accounts (ids 1..n) holding `openingBalance` each, and an empty ledger. */
export async function createBank(client: PostgresClient, accounts: number, openingBalance: number): Promise<void> {
  const c = await client.checkout()
  try {
    await c.query('drop schema if exists forkd_bank cascade')
    await c.query('create schema forkd_bank')
    await c.query(`create table forkd_bank.accounts (
      id int primary key,
      opening bigint not null,
      balance bigint not null)`)
    // The foreign keys are what makes a transfer to a missing account fail with a SQL error.
    await c.query(`create table forkd_bank.ledger (
      transfer_id int primary key,
      from_id int not null references forkd_bank.accounts,
      to_id int not null references forkd_bank.accounts,
      amount bigint not null check (amount > 0))`)
    await c.query(
      'insert into forkd_bank.accounts (id, opening, balance) select g, $2, $2 from generate_series(1, $1::int) g',
      [accounts, openingBalance],
    )
  } finally {
    c.release()
  }
}

/**
 * Sends one transfer's statements on `c` at once, without waiting for each reply: BEGIN, debit and
 * credit, the ledger row, the source account's balance. forkd pipelines them, and the worker still
 * runs them one at a time, in this order, on this checkout's connection, hence in one transaction.
 * Returns their promises in call order, for `transferBalance`.
 */
export function sendTransfer(c: PostgresCheckout, t: Transfer): Promise<unknown>[] {
  // Lock both rows in id order so that concurrent opposite transfers cannot deadlock.
  const [first, second] = t.from < t.to ? [t.from, t.to] : [t.to, t.from]
  const update = 'update forkd_bank.accounts set balance = balance + $1 where id = $2'
  const delta = (id: number) => (id === t.from ? -t.amount : t.amount)
  return [
    c.begin(),
    c.query(update, [delta(first), first]),
    c.query(update, [delta(second), second]),
    // The transfer id is the ledger's primary key: the idempotency key that tells, after a COMMIT
    // whose outcome is in doubt, whether the transfer happened (isCommitted).
    c.query('insert into forkd_bank.ledger (transfer_id, from_id, to_id, amount) values ($1, $2, $3, $4)', [
      t.id, t.from, t.to, t.amount,
    ]),
    c.query('select balance from forkd_bank.accounts where id = $1', [t.from]),
  ]
}

/**
 * Waits for the calls of `sendTransfer` (and any calls the caller appended behind them) and returns
 * the source account's balance after the transfer. If one failed, the ones behind it never ran
 * (CancelledError), so the first rejection in call order is the real failure: that one is thrown.
 */
export async function transferBalance(calls: Promise<unknown>[]): Promise<number> {
  const steps = await Promise.allSettled(calls)
  for (const step of steps) if (step.status === 'rejected') throw step.reason
  const { rows } = (steps[4] as PromiseFulfilledResult<QueryResult>).value
  return Number(rows[0]?.balance)
}

/**
 * One transfer: BEGIN, debit, credit, ledger entry, balance check, then COMMIT, or ROLLBACK on an
 * overdraft or a SQL error. Every statement runs on the same checkout, hence the same worker and
 * the same database connection, hence the same transaction.
 */
export async function transfer(client: PostgresClient, t: Transfer): Promise<TransferOutcome> {
  const c = await client.checkout()
  const pid = c.worker.pid
  try {
    if (await transferBalance(sendTransfer(c, t)) < 0) {
      await c.rollback()
      return { kind: 'overdraft', pid }
    }
    await c.commit()
    return { kind: 'committed', pid }
  } catch (error) {
    if (!(error instanceof WorkerError)) throw error
    // Not fatal: the checkout still holds the same worker and connection, in a failed transaction.
    // Roll it back here; on release the client destroys this worker anyway (reforkAfterError).
    await c.rollback()
    return { kind: 'sql-error', pid, code: String(error.remote.code), message: error.remote.message }
  } finally {
    c.release()
  }
}

/**
 * Whether transfer `t` committed: its ledger row, written in the transfer's own transaction, exists.
 * This settles a COMMIT whose outcome is in doubt (it was sent, then the worker died, the call timed
 * out or the checkout was aborted): see docs/postgres.md. Exact even while PostgreSQL is still
 * finishing that transaction: it holds the row locks of both accounts until it commits or rolls
 * back, so this waits for them before it looks.
 */
export async function isCommitted(client: PostgresClient, t: Transfer): Promise<boolean> {
  return client.run(async (c) => {
    await c.begin()
    await c.query('select 1 from forkd_bank.accounts where id = any($1::int[]) for share', [[t.from, t.to]])
    // Read committed: this statement sees what committed while the one above waited.
    const { rows } = await c.query('select 1 from forkd_bank.ledger where transfer_id = $1', [t.id])
    await c.commit()
    return rows.length === 1
  })
}

/** Runs `transfers` with `concurrency` concurrent callers, each taking the next transfer in turn. */
export async function runTransfers(client: PostgresClient, transfers: Transfer[], concurrency: number): Promise<TransferOutcome[]> {
  const outcomes: TransferOutcome[] = new Array(transfers.length)
  let next = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < transfers.length) {
        const i = next++
        outcomes[i] = await transfer(client, transfers[i]!)
      }
    }),
  )
  return outcomes
}

/** Reads balances and the ledger in one snapshot and checks them against each other. */
export async function audit(client: PostgresClient): Promise<Audit> {
  const c = await client.checkout()
  try {
    await c.query('begin isolation level repeatable read')
    const accounts = (await c.query('select id, opening, balance from forkd_bank.accounts order by id')).rows
    const ledger = (await c.query('select transfer_id, from_id, to_id, amount from forkd_bank.ledger')).rows
    await c.commit()
    const expected = new Map<number, number>()
    for (const a of accounts) expected.set(Number(a.id), Number(a.opening))
    for (const l of ledger) {
      expected.set(Number(l.from_id), expected.get(Number(l.from_id))! - Number(l.amount))
      expected.set(Number(l.to_id), expected.get(Number(l.to_id))! + Number(l.amount))
    }
    return {
      accounts: accounts.length,
      total: accounts.reduce((sum, a) => sum + Number(a.balance), 0),
      negative: accounts.filter((a) => Number(a.balance) < 0).length,
      ledgerRows: ledger.length,
      mismatched: accounts.filter((a) => Number(a.balance) !== expected.get(Number(a.id))).map((a) => Number(a.id)),
      ledgerIds: new Set(ledger.map((l) => Number(l.transfer_id))),
    }
  } finally {
    c.release()
  }
}

/** A small seeded generator (mulberry32), so that a run can be repeated from its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Random transfers between accounts 1..accounts, amounts 1..maxAmount. A share `missingRate` goes
 * to an account that does not exist, to fail on purpose with a SQL error (foreign key, 23503).
 */
export function randomTransfers(options: { count: number; accounts: number; maxAmount: number; missingRate: number; seed: number }): Transfer[] {
  const rand = random(options.seed)
  const pick = () => 1 + Math.floor(rand() * options.accounts)
  return Array.from({ length: options.count }, (_, i) => {
    const from = pick()
    let to = pick()
    while (to === from) to = pick()
    if (rand() < options.missingRate) to = options.accounts + 1 + Math.floor(rand() * 1000)
    return { id: i + 1, from, to, amount: 1 + Math.floor(rand() * options.maxAmount) }
  })
}
