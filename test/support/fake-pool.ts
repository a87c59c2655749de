/**
 * A pool over fake connections (test/support/fake-connection.ts), for the pool's unit tests: the
 * test plays every worker and sees every connection the pool opened, in order.
 */
import type { Checkout } from '@forkd/client'
import { normalizeClientOptions, type ClientOptions } from '../../packages/client/src/options.js'
import { Pool, type Waiter } from '../../packages/client/src/pool.js'
import { describeEndpoint } from '@forkd/protocol'
import { FakeConnection } from './fake-connection.js'

export interface FakePool {
  pool: Pool
  /** Every connection the pool opened, in order. */
  conns: FakeConnection[]
  /** Labels of the granted requests, in the order granted. */
  granted: string[]
  request(label: string): { waiter: Waiter; now: boolean; readonly checkout: Checkout; readonly error: Error | undefined }
}

/** A pool on `/fake.sock` with minWorkers 0 unless `options` say otherwise. */
export function makePool(options: Partial<ClientOptions> = {}, hasCheckoutDone = false, random?: () => number): FakePool {
  const conns: FakeConnection[] = []
  const pool = new Pool(normalizeClientOptions({ connect: '/fake.sock', minWorkers: 0, ...options }), {
    connect: (o) => {
      const conn = new FakeConnection(o, hasCheckoutDone)
      conns.push(conn)
      return conn
    },
    ...(random === undefined ? {} : { random }),
  })
  const granted: string[] = []
  const request = (label: string) => {
    let checkout: Checkout | undefined
    let error: Error | undefined
    const waiter: Waiter = {
      timeout: 1_000,
      sink: undefined,
      site: undefined,
      priority: 0,
      resolve: (c) => {
        granted.push(label)
        checkout = c
      },
      reject: (e) => {
        error = e
      },
    }
    const now = pool.request(waiter)
    return { waiter, now, get checkout() { return checkout! }, get error() { return error } }
  }
  return { pool, conns, granted, request }
}

/** Connections not closed. */
export const live = (conns: FakeConnection[]) => conns.filter((c) => c.state !== 'closed')

/** `host:port` or the path of a connection's endpoint. */
export const where = (conn: FakeConnection) => describeEndpoint(conn.endpoint)

/** How many of `conns` go to each endpoint. */
export function countByEndpoint(conns: FakeConnection[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const c of conns) counts[where(c)] = (counts[where(c)] ?? 0) + 1
  return counts
}
