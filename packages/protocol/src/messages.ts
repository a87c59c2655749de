/**
 * Every message of protocol v1, as the arrays that travel in CBOR. docs/protocol.md is the prose
 * version of this file; keep the two in step.
 */
import { MessageType } from './constants.js'

/**
 * How an error came about; decides how the client classifies it.
 * - `throw`: the interface threw (or its promise rejected), or the method is unknown;
 * - `setup`: the module's setup threw: every call on that worker gets this error;
 * - `encode`: the result could not be encoded;
 * - `checkout-done`: the `checkoutDone` hook threw (in done-ack);
 * - `uncaught`: an exception nobody caught ended the worker process (in bye).
 * A receiver treats a kind it does not know like `throw`.
 */
export type WireErrorKind = 'throw' | 'setup' | 'encode' | 'checkout-done' | 'uncaught'

/** An error as it crosses the wire: plain data, never a class rebuilt from the peer. */
export interface WireError {
  /** The thrown value's `name` (`'Error'`, `'TypeError'`; `'NonErrorThrown'` for a non-Error value). */
  name: string
  /** The thrown value's message, cut at 64 KiB of UTF-8. */
  message: string
  /** How the error came about. */
  kind: WireErrorKind
  /** The thrown value's `code`, when it had a string or number one. */
  code?: string | number | undefined
  /** The worker-side stack trace, cut at 64 KiB of UTF-8. */
  stack?: string | undefined
  /** Other own primitive properties of the thrown value (PostgreSQL's `detail`, `hint`...). */
  data?: Record<string, string | number | boolean | null> | undefined
}

/** The worker's identity, sent first on every worker connection. */
export interface HelloInfo {
  /** Protocol version the worker speaks. */
  v: number
  /** The worker process's pid. */
  pid: number
  /** The worker's number within its server, from 1. */
  id: number
  /** The server's name ('' when unnamed). */
  name: string
  /** The pid of the server that started the worker. */
  serverPid: number
  /** Whether the worker module has a `checkoutDone`: if so the client waits for its DoneAck. */
  checkoutDone: boolean
  /**
   * How many connections the worker's process serves at most at once (the server's `concurrency`).
   * Absent from workers that predate it: read as 1.
   */
  concurrency?: number
  /**
   * The largest message the worker accepts, in bytes (its server's `maxPayload`): a client does not
   * send a call that encodes to more. Absent from workers older than this field.
   */
  maxPayload?: number
}

/** What a worker process reports about itself in a done-ack, when the done asked (`DoneFlags.Stats`). */
export interface WorkerStats {
  /** The process's resident set size, bytes. */
  rss: number
}

/** Level of a worker log record; `timer` records carry `{ ms }` in their fields. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'timer'

/** `[0, info]`: the worker's first message on every connection. */
export type HelloMessage = [type: typeof MessageType.Hello, info: HelloInfo]
/** `[1, id, epoch, method, args, flags]`: run `method(...args)` (`null`: the one-function interface). */
export type CallMessage = [
  type: typeof MessageType.Call,
  id: number,
  epoch: number,
  method: string | null,
  args: unknown[],
  flags: number,
]
/** `[2, id, value]`: the call with this id returned `value`. */
export type OkMessage = [type: typeof MessageType.Ok, id: number, value: unknown]
/** `[3, id, error]`: the call with this id failed. */
export type ErrorMessage = [type: typeof MessageType.Error, id: number, error: WireError]
/** `[4]` or `[4, flags]`: the checkout is released; the worker runs `checkoutDone`. `flags`: `DoneFlags` bits; `[4]` is `[4, 0]`. */
export type DoneMessage = [type: typeof MessageType.Done] | [type: typeof MessageType.Done, flags: number]
/** `[5, error]` or `[5, error, stats]`: `checkoutDone` finished (`null`) or threw (the error); `stats` is present when the done asked for it (`DoneFlags.Stats`). */
export type DoneAckMessage =
  | [type: typeof MessageType.DoneAck, error: WireError | null]
  | [type: typeof MessageType.DoneAck, error: WireError | null, stats: WorkerStats]
/** `[6, id, level, time, message, fields]`: a log record written during the call with this id. */
export type LogMessage = [
  type: typeof MessageType.Log,
  id: number,
  level: LogLevel,
  time: number,
  message: string,
  fields: Record<string, unknown> | null,
]
/** `[7, id, name, data]`: an event the worker emitted during the call with this id. */
export type EventMessage = [type: typeof MessageType.Event, id: number, name: string, data: unknown]
/** `[8, id]`: reserved; accepted and ignored in version 1. */
export type CancelMessage = [type: typeof MessageType.Cancel, id: number]
/**
 * Why a worker asks to be retired: its server reloaded (SIGHUP, `reload()`), another server took
 * over its socket, its server is shutting down, or (`worker-retired`) another connection of the same
 * process retired that process (a process serving several connections, the server's `concurrency`).
 * A receiver treats an unknown reason alike.
 */
export type RetireReason = 'reload' | 'server-replaced' | 'shutdown' | 'worker-retired'
/** `[9, reason]`: the worker asks its client to stop using it after the current checkout. */
export type RetireMessage = [type: typeof MessageType.Retire, reason: RetireReason | (string & {})]
/** The last words of a worker process that ends while its connection is open. */
export interface ByeInfo {
  /** For people: `worker exited with code N`, `uncaught exception`. */
  reason: string
  /** The exit code the process ends with. */
  exitCode?: number | undefined
  /** A signal name; forkd's worker never sends one, and receivers accept it. */
  signal?: string | undefined
  /** The uncaught exception (kind `uncaught`) that ends the process. */
  error?: WireError | undefined
}
/** `[10, info]`: the last message of a worker process about to end. */
export type ByeMessage = [type: typeof MessageType.Bye, info: ByeInfo]
/** The server's `status()` snapshot (docs/protocol.md, "Status"), or `{ error }` when it did not answer. */
export type StatusMessage = [type: typeof MessageType.Status, status: Record<string, unknown>]

/** Messages a client sends to a worker. */
export type ClientMessage = CallMessage | DoneMessage | CancelMessage
/** Messages a worker sends to a client. */
export type WorkerMessage =
  | HelloMessage
  | OkMessage
  | ErrorMessage
  | DoneAckMessage
  | LogMessage
  | EventMessage
  | RetireMessage
  | ByeMessage
  | StatusMessage
