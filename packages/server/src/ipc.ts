/**
 * Messages between the server process and its worker processes over the Node IPC channel.
 * The worker connection's own traffic never passes through here: the server hands the socket over
 * and stays out of the data path. IPC carries only start-up, the hand-off, the hung-worker
 * heartbeat, lifecycle notices and the credentials (TLS material, tokens) a worker needs to accept
 * a connection: these travel over IPC, never in argv or the environment, which other users or the
 * worker's own child processes could read.
 */
import type { TlsMaterial } from './security-options.js'

/** What a worker checks a connection with; null for what the server does not use. */
export interface Credentials {
  /** PEM text of the server's key, certificate and client CAs; null for no TLS. */
  tls: TlsMaterial | null
  /** The bearer tokens accepted; null for no token check. */
  tokens: string[] | null
}

/** What the server passes to a worker process (JSON in argv[2]). */
export interface WorkerBootConfig {
  /** URL (file:) of the user's worker module. */
  module: string
  /** Server name ('' when unnamed). */
  name: string
  /** This worker's number within its server, from 1. */
  id: number
  serverPid: number
  maxPayload: number
  handshakeTimeout: number
  /** For the worker's own watch once its server is gone; null (JSON's Infinity) for none. */
  hungWorkerTimeout: number | null
  /** Most connections the process serves at once (the server's `concurrency`). */
  concurrency: number
  /** The worker must ask for its credentials (`credentials-request`) before it is ready. */
  credentials: boolean
}

/** A call (or hook) running in a worker, as the worker reports it. */
export interface RunningCall {
  /** The method; `()` for a call of a function interface, `(checkoutDone)` for the hook. */
  method: string
  /** When it started, epoch ms. */
  since: number
}

/**
 * What a worker tells the server about itself, which the server cannot see from outside: sent in
 * `ready`, every `pong`, `status-request` and `connection-ended`, so it costs no message of its own.
 */
export interface WorkerReport {
  /** Resident set size of the worker process, bytes. */
  rss: number
  /** Calls this process has run, over all its connections. */
  calls: number
  /** What runs now: one entry per connection with a running call (or hook). */
  running: RunningCall[]
  /** Status connections it is serving (`forkd status`, `forkd top`). */
  statusQueries: number
}

/** What a worker threw while loading its module, as plain data. */
export interface LoadError {
  name: string
  message: string
  code?: string | number
  stack?: string
}

/** Server → worker. */
export type ServerToWorker =
  /** Sent with the accepted socket as the handle; `seq` numbers the process's connections, from 1. */
  | { type: 'connection'; seq: number }
  /** Heartbeat; the worker answers with `pong` when its event loop is free. */
  | { type: 'ping'; seq: number }
  /** The server was replaced or reloaded: tell the client to retire this worker after its checkout. */
  | { type: 'retire'; reason: string }
  /** Answer to a `status-request`. */
  | { type: 'status'; seq: number; status: Record<string, unknown> }
  /** Answer to a `credentials-request`: what the worker checks connections with. */
  | { type: 'credentials'; credentials: Credentials }

/** Worker → server. */
export type WorkerToServer =
  /** The module is loaded and setup has finished (successfully or not). */
  | { type: 'ready'; setupFailed: boolean; warmUpFailed?: string; report?: WorkerReport }
  /**
   * The module could not be loaded; the worker exits right after. `message` is for people (it may
   * span lines: a syntax error's source line and caret); `error` is what was thrown, when something
   * was (a default export that is not a worker definition throws nothing).
   */
  | { type: 'load-failed'; message: string; error?: LoadError }
  /** A starting worker asks for its TLS material and tokens (boot config `credentials: true`). */
  | { type: 'credentials-request' }
  /**
   * Heartbeat answer. `busySince` is the epoch ms at which the process's oldest running call (or
   * checkoutDone) started, or null when idle.
   */
  | { type: 'pong'; seq: number; busySince: number | null; report?: WorkerReport }
  /** A status connection asks for the server's status; the report makes the asking worker's own row current. */
  | { type: 'status-request'; seq: number; report?: WorkerReport }
  /**
   * The worker is done with connection `seq` (its client closed it, it was refused or timed out, or
   * the worker closed it with a close frame of its own). Sent before the worker exits, so the server
   * closes its copy of the socket without writing last words on it. `retire`: the process was
   * retired through this connection (concurrency > 1): hand it no new connection.
   */
  | { type: 'connection-ended'; seq: number; retire: boolean; report?: WorkerReport }
