import { describe, expect, it } from 'vitest'
import { WorkerError } from '@forkd/client'
import { usePostgresEnv, type PgCluster, type PostgresWorker } from '../support/postgres.js'
import { serverLog, waitFor, type TestEnv } from '../support/harness.js'

describe('PostgreSQL: checkoutDone rolls back what a released checkout left open', () => {
  let cluster: PgCluster
  let env: TestEnv
  usePostgresEnv('create table items (id int primary key)', {}, (c, e) => {
    cluster = c
    env = e
  })

  const backendOf = async (c: { query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }) =>
    (await c.query('select pg_backend_pid() as pid')).rows[0]!.pid

  it('the next checkout of the same worker is outside any transaction and the rows are gone', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 1, minWorkers: 1 })
    const first = await client.checkout()
    const pid = first.worker.pid
    env.pids.add(pid)
    const backend = await backendOf(first)
    await first.begin()
    await first.query('insert into items select generate_series(1, 5)')
    expect(await first.inTransaction()).toBe(true)
    first.release()

    const next = await client.checkout()
    // The same worker and the same database connection, not a fresh one: checkoutDone cleaned it.
    expect(next.worker.pid).toBe(pid)
    expect(await backendOf(next)).toBe(backend)
    expect(await next.inTransaction()).toBe(false)
    expect((await next.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
    next.release()
    await waitFor(() => serverLog.some((r) => r.message.includes('checkout released inside a transaction')), 'the rollback warning')
  })

  it('also catches a transaction opened with a raw BEGIN through query()', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 1, minWorkers: 1 })
    const first = await client.checkout()
    env.pids.add(first.worker.pid)
    await first.query('BEGIN')
    await first.query('insert into items values (100)')
    first.release()

    const next = await client.checkout()
    expect(next.worker.pid).toBe(first.worker.pid)
    expect(await next.inTransaction()).toBe(false)
    expect((await next.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
    next.release()
  })

  it('with reforkAfterError off, a transaction left failed by a SQL error is rolled back before the worker is reused', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 1, minWorkers: 1, reforkAfterError: false })
    const first = await client.checkout()
    env.pids.add(first.worker.pid)
    await first.begin()
    await first.query('insert into items values (1)')
    const error = await first.query('insert into items values (1)').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerError)
    expect((error as WorkerError).remote.code).toBe('23505')
    first.release()

    const next = await client.checkout()
    expect(next.worker.pid).toBe(first.worker.pid)
    expect(await next.inTransaction()).toBe(false)
    expect((await next.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
    await next.query('insert into items values (1)')
    expect((await next.query('select count(*)::int as n from items')).rows[0]!.n).toBe(1)
    next.release()
    await cluster.query('delete from items')
  })
})
