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
  name: string
  message: string
  kind: WireErrorKind
  code?: string | number | undefined
  stack?: string | undefined
  /** Other own primitive properties of the thrown value (PostgreSQL's `detail`, `hint`...). */
  data?: Record<string, string | number | boolean | null> | undefined
}

/** The worker's identity, sent first on every worker connection. */
export interface HelloInfo {
  /** Protocol version the worker speaks. */
  v: number
  pid: number
  /** The worker's number within its server, from 1. */
  id: number
  /** The server's name ('' when unnamed). */
  name: string
  serverPid: number
  /** Whether the worker module has a `checkoutDone`: if so the client waits for its DoneAck. */
  checkoutDone: boolean
  /**
   * The largest message the worker accepts, in bytes (its server's `maxPayload`): a client does not
   * send a call that encodes to more. Absent from workers older than this field.
   */
  maxPayload?: number
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'timer'

export type HelloMessage = [type: typeof MessageType.Hello, info: HelloInfo]
export type CallMessage = [
  type: typeof MessageType.Call,
  id: number,
  epoch: number,
  method: string | null,
  args: unknown[],
  flags: number,
]
export type OkMessage = [type: typeof MessageType.Ok, id: number, value: unknown]
export type ErrorMessage = [type: typeof MessageType.Error, id: number, error: WireError]
export type DoneMessage = [type: typeof MessageType.Done]
export type DoneAckMessage = [type: typeof MessageType.DoneAck, error: WireError | null]
export type LogMessage = [
  type: typeof MessageType.Log,
  id: number,
  level: LogLevel,
  time: number,
  message: string,
  fields: Record<string, unknown> | null,
]
export type EventMessage = [type: typeof MessageType.Event, id: number, name: string, data: unknown]
export type CancelMessage = [type: typeof MessageType.Cancel, id: number]
/**
 * Why a worker asks to be retired: its server reloaded (SIGHUP, `reload()`), another server took
 * over its socket, or its server is shutting down. A receiver treats an unknown reason alike.
 */
export type RetireReason = 'reload' | 'server-replaced' | 'shutdown'
export type RetireMessage = [type: typeof MessageType.Retire, reason: RetireReason | (string & {})]
export interface ByeInfo {
  reason: string
  exitCode?: number | undefined
  signal?: string | undefined
  error?: WireError | undefined
}
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
