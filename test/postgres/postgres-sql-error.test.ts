import { describe, expect, it } from 'vitest'
import { CancelledError, WorkerError } from '@forkd/client'
import { usePostgresEnv, type PgCluster, type PostgresWorker } from '../support/postgres.js'
import { waitForExit, type TestEnv } from '../support/harness.js'

describe('PostgreSQL: a SQL error inside a transaction', () => {
  let cluster: PgCluster
  let env: TestEnv
  usePostgresEnv('create table items (id int constraint items_pkey primary key)', {}, (c, e) => {
    cluster = c
    env = e
  })

  it("rejects with WorkerError carrying PostgreSQL's message, SQLSTATE and details; the checkout can still roll back; the worker is reforked on release", async () => {
    const client = env.client<PostgresWorker>({ name: 'pg', maxWorkers: 1, minWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const backend = (await c.query('select pg_backend_pid() as pid')).rows[0]!.pid
    await c.begin()
    await c.query('insert into items values (1)')

    const error = await c.query('insert into items values (1)').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerError)
    const { remote, call, code } = error as WorkerError
    expect(code).toBe('FORKD_ERR_WORKER')
    expect(call).toBe('pg -> query')
    expect(remote.name).toBe('error') // what pg names its DatabaseError instances
    expect(remote.message).toBe('duplicate key value violates unique constraint "items_pkey"')
    expect(remote.code).toBe('23505')
    expect(remote.data).toMatchObject({ constraint: 'items_pkey', table: 'items', detail: 'Key (id)=(1) already exists.', severity: 'ERROR' })

    // The transaction is now failed ('E'): PostgreSQL refuses everything but ROLLBACK, on the same connection.
    const refused = await c.query('select 1').catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(WorkerError)
    expect((refused as WorkerError).remote.code).toBe('25P02')
    expect(await c.inTransaction()).toBe(true)
    await c.rollback()
    expect(await c.inTransaction()).toBe(false)
    expect(c.worker.pid).toBe(pid)
    expect((await c.query('select pg_backend_pid() as pid')).rows[0]!.pid).toBe(backend)
    c.release()

    const next = await client.checkout()
    env.pids.add(next.worker.pid)
    expect(next.worker.pid).not.toBe(pid)
    expect((await next.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
    next.release()
    await waitForExit([pid])
  })

  it('drops the calls queued behind the failing one (division by zero, 22012): they never reach PostgreSQL', async () => {
    const client = env.client<PostgresWorker>({ name: 'pg', maxWorkers: 1, minWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    // Pipelined: sent together, before the error is known.
    const failing = c.query('select 1 / 0 as x')
    const queued = c.query('insert into items values (42)')
    const error = await failing.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerError)
    expect((error as WorkerError).remote).toMatchObject({ code: '22012', message: 'division by zero' })
    await expect(queued).rejects.toBeInstanceOf(CancelledError)
    // Outside a transaction the connection is fine: the same checkout keeps working on the same worker.
    expect(await c.inTransaction()).toBe(false)
    expect((await c.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
    expect(c.worker.pid).toBe(pid)
    c.release()

    const next = await client.checkout()
    env.pids.add(next.worker.pid)
    expect(next.worker.pid).not.toBe(pid)
    next.release()
    await waitForExit([pid])
    expect((await cluster.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
  })
})
