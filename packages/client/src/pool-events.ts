/**
 * What the pool tells the outside world about itself: one observer, called at each event. The
 * client turns these into its `'connect'`, `'acquire'`... events and its own log records; tracing
 * and metrics plug in here too. Purely observational: nothing an observer does changes the pool.
 */
import type { Endpoint, HelloInfo } from '@forkd/protocol'
import type { RemoveReason } from './retirement.js'

/** A worker as the client's events describe it. */
export interface WorkerInfo {
  /** The worker process's pid. */
  pid: number
  /** The worker's number within its server, from 1. */
  id: number
  /** The endpoint it was reached at: a socket path or `host:port`. */
  endpoint: string
}

/** A worker connection as observers see it: its identity only. Build a WorkerInfo only when needed. */
export interface WorkerRef {
  readonly info: HelloInfo
  readonly endpoint: Endpoint
}

export interface PoolObserver {
  /** A worker said hello. */
  connect(worker: WorkerRef): void
  /** A connection attempt failed. */
  connectError(error: Error, endpoint: string): void
  /** A checkout was granted a worker after waiting `waited` ms. */
  acquire(worker: WorkerRef, waited: number): void
  /** A checkout failed before it was granted (timeout, abort, close, queue full). */
  acquireError(error: Error): void
  /** A checkout ended; `error` is what it was released with, or its failure. */
  release(worker: WorkerRef, error: Error | undefined): void
  /** A worker connection was closed by the pool or lost. */
  remove(worker: WorkerRef, reason: RemoveReason): void
  /** Something a person should know about (a slow server, a held checkout). */
  warn(message: string, code: string): void
}
