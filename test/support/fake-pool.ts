/**
 * A pool over fake connections (test/support/fake-connection.ts), for the pool's unit tests: the
 * test plays every worker and sees every connection the pool opened, in order, and every event the
 * pool reported.
 */
import type { Checkout } from '@forkd/client'
import { describeEndpoint } from '@forkd/protocol'
import { normalizeClientOptions, type ClientOptions } from '../../packages/client/src/options.js'
import type { PoolObserver } from '../../packages/client/src/pool-events.js'
import { Pool, type CheckoutRequest } from '../../packages/client/src/pool.js'
import { FakeConnection } from './fake-connection.js'

/** A checkout asked of the fake pool; its outcome arrives once promise reactions have run (`settle()`). */
export interface FakeRequest {
  readonly checkout: Checkout
  readonly error: Error | undefined
  readonly settled: boolean
}

export interface FakePool {
  pool: Pool
  /** Every connection the pool opened, in order. */
  conns: FakeConnection[]
  /** Labels of the granted requests, in the order granted. */
  granted: string[]
  /** What the pool reported, as `kind pid [detail]` strings. */
  events: string[]
  request(label: string, more?: Partial<CheckoutRequest>): FakeRequest
}

/** Records what the pool reports, as `kind pid` strings. */
function recorder(): { events: string[]; observer: PoolObserver } {
  const events: string[] = []
  const observer: PoolObserver = {
    connect: (w) => void events.push(`connect ${w.info.pid}`),
    connectError: (e) => void events.push(`connectError ${e.message}`),
    acquire: (w) => void events.push(`acquire ${w.info.pid}`),
    acquireError: (e) => void events.push(`acquireError ${e.constructor.name}`),
    release: (w, e) => void events.push(`release ${w.info.pid}${e ? ' ' + e.constructor.name : ''}`),
    remove: (w, reason) => void events.push(`remove ${w.info.pid} ${reason}`),
    warn: (_m, code) => void events.push(`warn ${code}`),
  }
  return { events, observer }
}

/** A pool on `/fake.sock` with minWorkers 0 unless `options` say otherwise. */
export function makePool(options: Partial<ClientOptions> = {}, hasCheckoutDone = false, random?: () => number): FakePool {
  const conns: FakeConnection[] = []
  const { events, observer } = recorder()
  const pool = new Pool(normalizeClientOptions({ connect: '/fake.sock', minWorkers: 0, ...options } as ClientOptions<never>), observer, {
    connect: (o) => {
      const conn = new FakeConnection(o, hasCheckoutDone)
      conns.push(conn)
      return conn
    },
    ...(random === undefined ? {} : { random }),
  })
  const granted: string[] = []
  const request = (label: string, more: Partial<CheckoutRequest> = {}): FakeRequest => {
    let checkout: Checkout | undefined
    let error: Error | undefined
    let settled = false
    void pool.acquire({ timeout: 30_000, sink: undefined, site: undefined, priority: 0, signal: undefined, trace: undefined, ...more }).then(
      (c) => {
        granted.push(label)
        checkout = c
        settled = true
      },
      (e: Error) => {
        error = e
        settled = true
      },
    )
    return { get checkout() { return checkout! }, get error() { return error }, get settled() { return settled } }
  }
  return { pool, conns, granted, events, request }
}

/** Lets promise reactions (grants, rejections) run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve))

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
