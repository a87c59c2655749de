/**
 * Messages between the server process and its worker processes over the Node IPC channel.
 * The worker connection's own traffic never passes through here: the server hands the socket over
 * and stays out of the data path. IPC carries only start-up, the hand-off, the hung-worker
 * heartbeat and lifecycle notices.
 */

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
  /** Sent with the accepted socket as the handle. */
  | { type: 'connection' }
  /** Heartbeat; the worker answers with `pong` when its event loop is free. */
  | { type: 'ping'; seq: number }
  /** The server was replaced or reloaded: tell the client to retire this worker after its checkout. */
  | { type: 'retire'; reason: string }
  /** Answer to a `status-request`. */
  | { type: 'status'; seq: number; status: Record<string, unknown> }

/** Worker → server. */
export type WorkerToServer =
  /** The module is loaded and setup has finished (successfully or not). */
  | { type: 'ready'; setupFailed: boolean }
  /**
   * The module could not be loaded; the worker exits right after. `message` is for people (it may
   * span lines: a syntax error's source line and caret); `error` is what was thrown, when something
   * was (a default export that is not a worker definition throws nothing).
   */
  | { type: 'load-failed'; message: string; error?: LoadError }
  /**
   * Heartbeat answer. `busySince` is the epoch ms at which the running call (or checkoutDone)
   * started, or null when idle.
   */
  | { type: 'pong'; seq: number; busySince: number | null }
  /** A status connection asks for the server's status. */
  | { type: 'status-request'; seq: number }
  /**
   * The worker is done with the connection it was handed (its client closed it, it was refused or
   * timed out, or the worker closed it with a close frame of its own). Sent before the worker exits,
   * so the server closes its copy of the socket without writing last words on it.
   */
  | { type: 'connection-ended' }
