import { describe, expect, it } from 'vitest'
import { WorkerDiedError } from '@forkd/client'
import { usePostgresEnv, type PgCluster, type PostgresWorker } from '../support/postgres.js'
import { waitFor, waitForExit, type TestEnv } from '../support/harness.js'

describe('PostgreSQL: a worker whose database connection is lost exits and is replaced', () => {
  let cluster: PgCluster
  let env: TestEnv
  usePostgresEnv('create table items (id int primary key)', {}, (c, e) => {
    cluster = c
    env = e
  })

  const terminate = (backend: unknown) => cluster.query('select pg_terminate_backend($1::int)', [backend])

  it('inside a checkout: the open transaction is lost, so later calls fail with WorkerDiedError, and nothing was committed', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 1, minWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    await c.begin()
    await c.query('insert into items values (1)')
    const backend = (await c.query('select pg_backend_pid() as pid')).rows[0]!.pid
    await terminate(backend)
    await waitForExit([pid])
    const error = await c.commit().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    await expect(c.query('select 1')).rejects.toBe(error)
    c.release()

    const next = await client.checkout()
    env.pids.add(next.worker.pid)
    expect(next.worker.pid).not.toBe(pid)
    expect((await next.query('select count(*)::int as n from items')).rows[0]!.n).toBe(0)
    next.release()
  })

  it('while idle in the pool: the next checkout gets a new worker with a working connection', async () => {
    const client = env.client<PostgresWorker>({ maxWorkers: 1, minWorkers: 1 })
    const c = await client.checkout()
    const pid = c.worker.pid
    env.pids.add(pid)
    const backend = (await c.query('select pg_backend_pid() as pid')).rows[0]!.pid
    c.release()
    await terminate(backend)
    await waitForExit([pid])
    // the process is gone; the pool learns it when the connection closes, a moment later
    await waitFor(() => client.stats().retired.died === 1, 'the pool to notice the dead worker')

    const next = await client.checkout()
    env.pids.add(next.worker.pid)
    expect(next.worker.pid).not.toBe(pid)
    expect((await next.query('select 1 as one')).rows).toEqual([{ one: 1 }])
    next.release()
  })
})
