/**
 * One WebSocket connection to one worker process.
 *
 *   connecting ──hello──► idle ◄──────────────┐
 *       │                 │  ▲                │ DoneAck
 *       │          assign │  │ release        │
 *       │                 ▼  │ (no hook)      │
 *       │                busy ──release──► releasing
 *       ▼                 │                   │
 *     closed ◄────────────┴───────────────────┘  (from any state)
 *
 * The connection knows the wire; what a reply means for a checkout is the owner's business.
 */
import {
  CloseCode, Codec, ForkdError, MessageType, PROTOCOL_VERSION, ProtocolError, SUBPROTOCOL, WORKER_PATH, assertEncodable, checkWorkerMessage,
  type ByeInfo, type ErrorMessage, type EventMessage, type HelloInfo, type LogMessage, type OkMessage, type WireError, type WorkerMessage,
} from '@forkd/protocol'
import WebSocket from 'ws'
import type { IncomingMessage } from 'node:http'
import { ConnectError, ServerAtCapacityError, VersionMismatchError, WorkerDiedError } from './errors.js'
import type { ConnectTarget } from './options.js'

export type ConnectionState = 'connecting' | 'idle' | 'busy' | 'releasing' | 'closed'

const legalMoves: Record<ConnectionState, readonly ConnectionState[]> = {
  connecting: ['idle', 'closed'],
  idle: ['busy', 'closed'],
  busy: ['idle', 'releasing', 'closed'],
  releasing: ['idle', 'closed'],
  closed: [],
}

/** The checkout currently holding the connection. */
export interface ConnectionOwner {
  onReply(message: OkMessage | ErrorMessage): void
  onLog(message: LogMessage): void
  onEvent(message: EventMessage): void
  /** The connection is gone; `error` says why. Called once, only while the owner holds it. */
  onLost(error: Error): void
}

export interface ConnectionEvents {
  onMove(conn: WorkerConnection, from: ConnectionState, to: ConnectionState): void
  /** The worker asked to be retired (its server was replaced or reloaded). */
  onRetire(conn: WorkerConnection): void
  /** A connection attempt failed before the worker said hello. */
  onConnectFailed(conn: WorkerConnection, error: Error): void
  /** checkoutDone failed in the worker: reported, the worker is gone. */
  onCheckoutDoneFailed(conn: WorkerConnection, error: WireError): void
}

const doneMessage = new Codec().encode([MessageType.Done])
const zeroMask = (mask: Buffer) => mask.fill(0)

export class WorkerConnection {
  #state: ConnectionState = 'connecting'
  readonly #ws: WebSocket
  readonly #codec: Codec
  readonly #events: ConnectionEvents
  #outbox: Buffer[] = []
  #flushQueued = false
  #lazyFlush: NodeJS.Immediate | undefined
  #info: HelloInfo | undefined
  #bye: ByeInfo | undefined
  #connectError: Error | undefined
  owner: ConnectionOwner | null = null
  /** Error replies seen: the epoch sent with each call (see the worker's session). */
  epoch = 0
  /** Checkouts this worker has served. */
  checkouts = 0
  /** True when the worker side ended the connection (exit, crash, kill), not this client. */
  lostRemotely = false
  /** Set when the worker asked to be retired after its current checkout. */
  retireReason: string | undefined

  constructor(target: ConnectTarget, maxPayload: number, codec: Codec, events: ConnectionEvents) {
    this.#codec = codec
    this.#events = events
    const url = typeof target === 'string' ? `ws+unix://${target}:${WORKER_PATH}` : `ws://${target.host}:${target.port}${WORKER_PATH}`
    this.#ws = new WebSocket(url, SUBPROTOCOL, {
      maxPayload,
      perMessageDeflate: false,
      skipUTF8Validation: true,
      // Masking guards browsers' proxies; between two processes on one host it only costs time.
      ...(typeof target === 'string' ? { generateMask: zeroMask } : {}),
    })
    this.#ws.binaryType = 'nodebuffer'
    this.#ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary))
    this.#ws.on('close', (code, reason) => this.#onClose(code, reason.toString()))
    this.#ws.on('error', (error) => this.#onError(error))
    this.#ws.on('unexpected-response', (req, res) => this.#onUnexpectedResponse(req, res))
  }

  get state(): ConnectionState {
    return this.#state
  }

  /** The worker's identity, from its hello. */
  get info(): HelloInfo {
    return this.#info!
  }

  moveTo(next: ConnectionState): void {
    const from = this.#state
    if (from === next) return
    if (!legalMoves[from].includes(next)) throw new Error(`forkd internal error: worker connection cannot move from ${from} to ${next}`)
    this.#state = next
    this.#events.onMove(this, from, next)
  }

  /** Queues a call; throws if it cannot be encoded (nothing is sent then). */
  sendCall(id: number, method: string | null, args: unknown[], flags: number): void {
    assertEncodable(args)
    this.#queueOut(this.#codec.encode([MessageType.Call, id, this.epoch, method, args, flags]))
  }

  /**
   * Ends a checkout: the worker runs checkoutDone before any later call. Sent lazily, at the end of
   * this turn of the event loop, so that the next checkout's first call, usually made in the same
   * turn, shares its frame: releasing then costs no write of its own.
   */
  sendDone(): void {
    this.#outbox.push(doneMessage)
    if (!this.#flushQueued && this.#lazyFlush === undefined) this.#lazyFlush = setImmediate(() => this.#flush())
  }

  /**
   * Closes the connection. `discard` (timeout, abort, protocol error) asks the worker to exit at
   * once instead of finishing its running call.
   */
  close(discard: boolean, reason = ''): void {
    if (this.#state === 'closed') return
    this.#flush()
    this.owner = null
    this.moveTo('closed')
    if (this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate()
    else this.#ws.close(discard ? CloseCode.Discard : CloseCode.Normal, reason.slice(0, 120))
  }

  /** Resolves when the socket is fully closed. */
  closed(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => this.#ws.once('close', () => resolve()))
  }

  #queueOut(encoded: Buffer): void {
    this.#outbox.push(encoded)
    if (this.#outbox.length >= this.#codec.maxBatch) this.#flush()
    else if (!this.#flushQueued) {
      this.#flushQueued = true
      queueMicrotask(() => this.#flush())
    }
  }

  #flush(): void {
    this.#flushQueued = false
    if (this.#lazyFlush !== undefined) {
      clearImmediate(this.#lazyFlush)
      this.#lazyFlush = undefined
    }
    if (this.#outbox.length === 0) return
    const frame = this.#codec.frame(this.#outbox)
    this.#outbox = []
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(frame)
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    if (this.#state === 'closed') return
    try {
      if (!isBinary) throw new ProtocolError('malformed frame from worker: text frames are not part of the protocol')
      const messages = this.#codec.decodeFrame(data)
      for (let i = 0; i < messages.length && this.state !== 'closed'; i++) this.#dispatch(checkWorkerMessage(messages[i]))
    } catch (error) {
      // Never let anything escape into ws's event emitter, where it would crash the process.
      this.#protocolError(error instanceof ForkdError
        ? error
        : new ProtocolError(`cannot handle a frame from the worker: ${(error as Error)?.message ?? String(error)}`, { cause: error }))
    }
  }

  #dispatch(message: WorkerMessage): void {
    switch (message[0]) {
      case MessageType.Ok:
      case MessageType.Error:
        if (this.owner === null) throw new ProtocolError(`worker replied to call ${message[1]} while no checkout holds it`)
        if (message[0] === MessageType.Error) this.epoch++
        this.owner.onReply(message)
        return
      case MessageType.Log:
      case MessageType.Event:
        // A worker sends these only while a call runs (checkoutDone's records go to its stderr), so
        // one arriving while no checkout holds the worker is for a call that is not running.
        if (this.owner === null) throw new ProtocolError(`worker sent ${message[0] === MessageType.Log ? 'a log record' : 'an event'} for call ${message[1]} while no checkout holds it`)
        if (message[0] === MessageType.Log) this.owner.onLog(message)
        else this.owner.onEvent(message)
        return
      case MessageType.Hello:
        if (this.#state !== 'connecting') throw new ProtocolError('worker sent a second hello')
        if (message[1].v !== PROTOCOL_VERSION)
          throw new VersionMismatchError(`worker speaks protocol version ${message[1].v}, this client ${PROTOCOL_VERSION}`)
        this.#info = message[1]
        this.moveTo('idle')
        return
      case MessageType.DoneAck:
        if (this.#state !== 'releasing') throw new ProtocolError('worker acknowledged a release that was not sent')
        if (message[1] !== null) {
          this.#events.onCheckoutDoneFailed(this, message[1])
          this.close(false, 'checkoutDone failed')
        } else {
          this.moveTo('idle')
        }
        return
      case MessageType.Retire:
        this.retireReason ??= message[1]
        this.#events.onRetire(this)
        return
      case MessageType.Bye:
        this.#bye = message[1]
        return
      default:
        throw new ProtocolError(`worker sent a message of type ${message[0]} that has no place on a worker connection`)
    }
  }

  #protocolError(error: ForkdError): void {
    const owner = this.owner
    if (this.#state === 'connecting') this.#connectError = error
    this.close(true, error.message)
    owner?.onLost(error)
    if (this.#info === undefined) this.#events.onConnectFailed(this, error)
  }

  #onError(error: Error): void {
    // ws reports connection failures here, before 'close'; remember the reason for the close.
    this.#connectError ??= error
  }

  #onUnexpectedResponse(req: { destroy(): void }, res: IncomingMessage): void {
    const why = String(res.headers['x-forkd-error'] ?? `HTTP ${res.statusCode}`)
    if (res.statusCode === 426) this.#connectError = new VersionMismatchError(`cannot use worker: ${why}`)
    else if (res.statusCode === 503) this.#connectError = new ServerAtCapacityError(`server refused the connection: ${why}`)
    else this.#connectError = new ConnectError(`server refused the connection: ${why}`)
    req.destroy()
    res.destroy()
    this.#ws.terminate()
  }

  #onClose(code: number, reason: string): void {
    const wasConnecting = this.#info === undefined
    // Closed by us (close(), or a protocol error already handled): nothing left to report.
    if (this.#state === 'closed') return
    const owner = this.owner
    this.owner = null
    this.lostRemotely = !wasConnecting
    this.moveTo('closed')
    if (wasConnecting) {
      const cause = this.#connectError
      const error = cause instanceof ConnectError || cause instanceof ProtocolError
        ? cause
        : new ConnectError(`cannot connect to the forkd server: ${cause?.message ?? `connection closed (${code}${reason ? ' ' + reason : ''})`}`, { cause })
      this.#events.onConnectFailed(this, error)
      return
    }
    owner?.onLost(this.#diedError(code, reason))
  }

  #diedError(code: number, reason: string): Error {
    const bye = this.#bye
    const pid = this.#info?.pid
    let detail: string
    if (bye !== undefined) {
      detail = bye.error !== undefined ? `${bye.reason}: ${bye.error.message}` : bye.reason
    } else if (code === CloseCode.ProtocolError) {
      return new ProtocolError(`worker closed the connection: protocol error: ${reason}`)
    } else if (reason) {
      detail = reason
    } else if (code === 1006) {
      detail = 'connection lost without a close frame'
    } else {
      detail = `closed with code ${code}`
    }
    const signal = /by (SIG[A-Z0-9]+)/.exec(detail)?.[1]
    const exitCode = bye?.exitCode ?? (/code (\d+)/.exec(detail) ? Number(/code (\d+)/.exec(detail)![1]) : undefined)
    return new WorkerDiedError(`worker connection died (pid ${pid}): ${detail}`, { exitCode, signal })
  }
}
