/**
 * Every message of protocol v1, as the arrays that travel in CBOR. docs/protocol.md is the prose
 * version of this file; keep the two in step.
 */
import { MessageType } from './constants.js'

/**
 * How an error reply came about; decides how the client classifies it. `uncaught` is the error of a
 * `bye` from a worker dying of an uncaught exception (nothing the interface threw).
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
export type RetireMessage = [type: typeof MessageType.Retire, reason: string]
export interface ByeInfo {
  reason: string
  exitCode?: number | undefined
  signal?: string | undefined
  error?: WireError | undefined
}
export type ByeMessage = [type: typeof MessageType.Bye, info: ByeInfo]
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
