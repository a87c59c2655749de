/**
 * A PostgreSQL worker: each worker process holds one database connection, so a checkout (an
 * exclusive lease of one worker) is also an exclusive lease of one connection, and a transaction
 * begun on a checkout stays with it until that checkout commits, rolls back or is released.
 *
 * Connection settings come from the environment as `pg` reads them: PGHOST (a host name or a Unix
 * socket folder), PGPORT, PGUSER, PGDATABASE, PGPASSWORD.
 *
 * What protects the next user of a worker:
 * - `checkoutDone` rolls back any transaction the last checkout left open (or left failed);
 * - a call that threw makes the client destroy this worker on release (reforkAfterError);
 * - a timeout or abort kills this process; PostgreSQL sees the connection drop and rolls back.
 */
import pg from 'pg'
import { defineWorker, log } from '@forkd/server'

/** What `query` returns: plain data only, so it crosses the wire as is. */
export interface QueryResult {
  rows: Record<string, unknown>[]
  rowCount: number | null
}

let connection: pg.Client | undefined

function db(): pg.Client {
  if (connection === undefined) throw new Error('no database connection (setup did not finish)')
  return connection
}

/** 'I' idle, 'T' in a transaction, 'E' in a failed transaction (from the server's ReadyForQuery). */
const transactionStatus = () => db().getTransactionStatus()

export default defineWorker({
  async setup() {
    const client = new pg.Client({ application_name: `forkd-worker pid ${process.pid}` })
    // A lost database connection makes this worker useless to every later checkout. Exiting turns
    // it into a dead worker that the client replaces, instead of a live one whose calls all fail.
    client.on('error', (error) => {
      process.stderr.write(`forkd postgres worker ${process.pid}: database connection lost: ${error.message}\n`)
      process.exit(1)
    })
    await client.connect()
    connection = client
  },

  interface: {
    /** Runs one statement; `params` fill `$1`, `$2`... */
    async query(sql: string, params: unknown[] = []): Promise<QueryResult> {
      const result = await db().query(sql, params)
      return { rows: result.rows, rowCount: result.rowCount }
    },
    async begin(): Promise<void> {
      await db().query('BEGIN')
    },
    async commit(): Promise<void> {
      await db().query('COMMIT')
    },
    async rollback(): Promise<void> {
      await db().query('ROLLBACK')
    },
    /** True inside a transaction, including one that failed and waits for ROLLBACK. */
    inTransaction(): boolean {
      return transactionStatus() !== 'I'
    },
  },

  async checkoutDone() {
    // The status comes from the server itself, so a transaction opened with query('BEGIN') or left
    // failed by an error ('E') is caught as well as one opened with begin().
    if (transactionStatus() === 'I') return
    log.warn('checkout released inside a transaction: rolling it back', { status: transactionStatus() })
    await db().query('ROLLBACK')
  },
})
