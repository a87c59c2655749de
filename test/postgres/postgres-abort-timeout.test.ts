import { describe, expect, it } from 'vitest'
import { AbortedError, TimeoutError } from '@forkd/client'
import { usePostgresEnv, type PgCluster, type PostgresWorker } from '../support/postgres.js'
import { waitFor, waitForExit, type TestEnv } from '../support/harness.js'

describe('PostgreSQL: an aborted or timed-out checkout kills its worker, and PostgreSQL rolls back', () => {
  let cluster: PgCluster
  let env: TestEnv
  usePostgresEnv('create table items (id int primary key)', {}, (c, e) => {
    cluster = c
    env = e
  })

  /** Waits until PostgreSQL reports the transaction aborted and its backend gone. */
  async function expectRolledBack(xid: string, backend: number): Promise<void> {
    await waitFor(async () => {
      const { rows } = await cluster.query(
        'select pg_xact_status($1::xid8) as status, (select count(*)::int from pg_stat_activity where pid = $2) as backends',
        [xid, backend],
      )
      return rows[0]!.status === 'aborted' && rows[0]!.backends === 0
    }, `transaction ${xid} to be rolled back and backend ${backend} to exit`)
  }

  /** Opens a transaction holding rows 1..3; returns its xid and backend pid. */
  async function openTransaction(c: { begin(): Promise<void>; query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }) {
    await c.begin()
    await c.query('insert into items select generate_series(1, 3)')
    const { rows } = await c.query('select pg_current_xact_id()::text as xid, pg_backend_pid() as backend')
    return { xid: rows[0]!.xid as string, backend: rows[0]!.backend as number }
  }

  async function expectNoRowsFromFreshCheckout(client: { checkout(): Promise<{ worker: { pid: number }; release(): void; query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }> }) {
    const fresh = await client.checkout()
    env.pids.add(fresh.worker.pid)
    expect((await fresh.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
    // The dead transaction held row locks on ids 1..3: inserting them now must not wait for it.
    await fresh.query('insert into items select generate_series(1, 3)')
    await fresh.query('delete from items')
    fresh.release()
  }

  it('abort() while a query runs: the call rejects with AbortedError, the worker exits, nothing leaks', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 2, minWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const { xid, backend } = await openTransaction(c)
    const running = c.query('select pg_sleep(30)')
    setTimeout(() => c.abort('transfer cancelled'), 100)
    const error = await running.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortedError)
    expect((error as AbortedError).message).toBe('transfer cancelled')
    await expect(c.rollback()).rejects.toBe(error)
    await waitForExit([pid])
    await expectRolledBack(xid, backend)
    c.release()
    await expectNoRowsFromFreshCheckout(client)
  })

  it('abort() while idle inside a transaction: the worker exits and PostgreSQL rolls back at once', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 2, minWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const { xid, backend } = await openTransaction(c)
    c.abort('changed my mind')
    await expect(c.inTransaction()).rejects.toBeInstanceOf(AbortedError)
    await waitForExit([pid])
    await expectRolledBack(xid, backend)
    c.release()
    await expectNoRowsFromFreshCheckout(client)
  })

  it('a call slower than the checkout timeout: TimeoutError, the worker exits, PostgreSQL rolls back', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 2, minWorkers: 1 })
    const c = await client.checkout({ timeout: 1_000 })
    const pid = c.worker.pid
    env.pids.add(pid)
    const { xid, backend } = await openTransaction(c)
    const started = Date.now()
    const error = await c.query('select pg_sleep(30)').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TimeoutError)
    expect((error as TimeoutError).code).toBe('FORKD_ERR_TIMEOUT')
    expect(Date.now() - started).toBeLessThan(5_000)
    await expect(c.commit()).rejects.toBe(error)
    await waitForExit([pid])
    // Without client_connection_check_interval the backend would sleep on for 30 s holding its locks.
    await expectRolledBack(xid, backend)
    c.release()
    await expectNoRowsFromFreshCheckout(client)
  })
})
