import { describe, expect, it } from 'vitest'
import { usePostgresEnv, type PgCluster, type PostgresWorker } from '../support/postgres.js'
import type { TestEnv } from '../support/harness.js'

const count = async (c: { query: (sql: string) => Promise<{ rows: Record<string, unknown>[] }> }) =>
  Number((await c.query('select count(*)::int as n from items')).rows[0]!.n)

describe('PostgreSQL: a checkout pins one connection, so its calls share one transaction', () => {
  let cluster: PgCluster
  let env: TestEnv
  usePostgresEnv('create table items (id int primary key, label text not null)', {}, (c, e) => {
    cluster = c
    env = e
  })

  it('rows inserted after BEGIN are visible to later calls on the same checkout, and to nobody else until COMMIT', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 2, minWorkers: 2 })
    const a = await client.checkout()
    const b = await client.checkout()
    env.pids.add(a.worker.pid).add(b.worker.pid)
    expect(a.worker.pid).not.toBe(b.worker.pid)

    await a.begin()
    expect(await a.inTransaction()).toBe(true)
    const xid = (await a.query('select pg_current_xact_id()::text as xid')).rows[0]!.xid
    await a.query('insert into items (id, label) values ($1, $2), ($3, $4)', [1, 'one', 2, 'two'])
    // Same transaction on every call: the same backend, the same transaction id, its own rows visible.
    expect((await a.query('select pg_current_xact_id()::text as xid')).rows[0]!.xid).toBe(xid)
    expect(await count(a)).toBe(2)
    expect((await a.query('select label from items where id = $1', [2])).rows).toEqual([{ label: 'two' }])

    expect(await b.inTransaction()).toBe(false)
    expect(await count(b)).toBe(0)

    await a.commit()
    expect(await a.inTransaction()).toBe(false)
    expect(await count(b)).toBe(2)
    a.release()
    b.release()
    await cluster.query('delete from items')
  })

  it('keeps one backend connection per worker across calls, pipelined or not', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 1, minWorkers: 1 })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    // Sent without waiting for replies: forkd keeps their order, so they run inside the transaction.
    const calls = [
      c.begin(),
      c.query('insert into items (id, label) values (10, $1)', ['pipelined']),
      c.query('select pg_backend_pid() as backend, count(*)::int as n from items'),
      c.query('select pg_backend_pid() as backend'),
      c.rollback(),
      c.query('select count(*)::int as n from items'),
    ] as const
    const [, inserted, inside, again, , after] = await Promise.all(calls)
    expect(inserted.rowCount).toBe(1)
    expect(inside.rows[0]!.n).toBe(1)
    expect(again.rows[0]!.backend).toBe(inside.rows[0]!.backend)
    expect(after.rows[0]!.n).toBe(0)
    // The backend belongs to this worker process: its application_name names the worker's pid.
    const { rows } = await cluster.query('select application_name from pg_stat_activity where pid = $1', [inside.rows[0]!.backend])
    expect(rows).toEqual([{ application_name: `forkd-worker pid ${c.worker.pid}` }])
    c.release()
  })
})
