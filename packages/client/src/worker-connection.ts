/**
 * One WebSocket connection to one worker process. Its state, its lessee, its checkout count and
 * why it closed are its own; the pool states intent (`lease`, `giveBack`, `close`) and learns every
 * move through its listener's `onMove`.
 *
 *   connecting ──hello──► idle ◄───────────────┐
 *       │                 │  ▲                 │ done-ack
 *       │           lease │  │ giveBack        │
 *       │                 ▼  │ (no hook)       │
 *       │                busy ──giveBack──► releasing
 *       ▼                 │                    │
 *     closed ◄────────────┴────────────────────┘  (from any state: close(), lost, protocol error)
 *
 * The connection knows the wire; what a reply means for a checkout is the lessee's business.
 */
import {
  CloseCode, Codec, DoneFlags, ForkdError, FrameWriter, Limits, MessageType, PROTOCOL_VERSION, ProtocolError, SUBPROTOCOL, assertEncodable,
  WORKER_PATH, bearerHeader, checkWorkerMessage, describeEndpoint, endpointUrl, parseExitReason, truncateUtf8,
  type ByeInfo, type Endpoint, type ErrorMessage, type EventMessage, type HelloInfo, type LogMessage, type OkMessage, type WorkerMessage,
} from '@forkd/protocol'
import type WebSocket from 'ws'
import { ws as wsPackage } from '@forkd/protocol/ws'
import type { IncomingMessage } from 'node:http'
import { connect as netConnect, isIP, type NetConnectOpts, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { AuthError, ConnectError, PayloadTooLargeError, ServerAtCapacityError, VersionMismatchError, WorkerDiedError } from './errors.js'
import { isCredentialRefusal, type TransportSecurity } from './transport-security.js'
import { retiresProcess, type RemoveReason } from './retirement.js'

export type ConnectionState = 'connecting' | 'idle' | 'busy' | 'releasing' | 'closed'

const legalMoves: Record<ConnectionState, readonly ConnectionState[]> = {
  connecting: ['idle', 'closed'],
  idle: ['busy', 'closed'],
  busy: ['idle', 'releasing', 'closed'],
  releasing: ['idle', 'closed'],
  closed: [],
}

/** The checkout holding the connection: receives what the worker says about its calls. */
export interface Lessee {
  /** `at`: when the frame holding the reply arrived (performance.now() ms). */
  onReply(message: OkMessage | ErrorMessage, at?: number): void
  onLog(message: LogMessage): void
  onEvent(message: EventMessage): void
  /**
   * The connection is gone while leased; `error` says why. `unsent` calls at the end of the
   * lessee's queue never left this process. Called at most once.
   */
  onLost(error: Error, unsent: number): void
}

/** Things the pool hears from a connection that are not moves. */
export type ConnectionNotice =
  /** The worker's server was replaced or reloaded: retire this worker once it is free. */
  | 'retireRequested'
  /** The attempt has not completed its handshake for a while: do not count on it. */
  | 'stalled'

export interface ConnectionListener {
  onMove(conn: PooledConnection, from: ConnectionState, to: ConnectionState): void
  onNotice(conn: PooledConnection, notice: ConnectionNotice): void
}

/**
 * How every connection of a client reaches its endpoint. The transport's security joins here (TLS
 * options, the upgrade's Authorization header), so the opener passes it through unchanged.
 */
export interface TransportOptions {
  /** TCP keepalive idle time before the first probe, ms; TCP endpoints only. */
  tcpKeepAlive: number
  /** TLS (TCP endpoints only) and the bearer token sent with every upgrade. */
  security: TransportSecurity
}

export interface ConnectionOptions {
  endpoint: Endpoint
  maxPayload: number
  /** A connection that has not said hello by then is abandoned (ConnectError). */
  connectTimeout: number
  /** After this long without hello the attempt is reported as stalled. */
  stallAfter: number
  /** While not leased, the socket does not keep the process alive. */
  allowExitOnIdle: boolean
  /**
   * Ask the worker for its stats with every release (`[4, 1]`) and wait for them before the worker
   * is idle again (maxWorkerMemory). Off: `done` is `[4]` and costs no round trip.
   */
  reportMemory: boolean
  codec: Codec
  transport: TransportOptions
  listener: ConnectionListener
}

/**
 * What the pool and a checkout use of a connection. WorkerConnection is the real one; the pool's
 * unit tests drive the pool with a fake that implements this.
 */
export interface PooledConnection {
  readonly endpoint: Endpoint
  /** When the attempt started (performance.now() ms). */
  readonly startedAt: number
  readonly state: ConnectionState
  readonly info: HelloInfo
  readonly checkouts: number
  readonly connectedAt: number
  /** When it last became idle (performance.now() ms). */
  readonly idleSince: number
  /** Its process's resident set size in bytes, from the last done-ack with stats. */
  readonly rss: number | undefined
  readonly retireRequested: string | undefined
  readonly stalled: boolean
  readonly closeReason: RemoveReason | undefined
  readonly closeError: Error | undefined
  lease(lessee: Lessee): number
  giveBack(epoch: number): void
  sendCall(id: number, epoch: number, method: string | null, args: unknown[], flags: number): void
  /** Idle only: sends a ping; no answer within `timeout` ms closes the connection as `unresponsive`. */
  ping(timeout: number): void
  close(reason: RemoveReason, options?: { discard?: boolean; error?: Error }): number
  closed(): Promise<void>
}

const doneMessage = new Codec().encode([MessageType.Done])
const doneWithStatsMessage = new Codec().encode([MessageType.Done, DoneFlags.Stats])
const zeroMask = (mask: Buffer) => mask.fill(0)

export class WorkerConnection implements PooledConnection {
  readonly endpoint: Endpoint
  /** When the attempt started (performance.now() ms). */
  readonly startedAt = performance.now()
  #state: ConnectionState = 'connecting'
  readonly #ws: WebSocket
  readonly #codec: Codec
  readonly #listener: ConnectionListener
  readonly #writer: FrameWriter
  #lessee: Lessee | null = null
  #info: HelloInfo | undefined
  #bye: ByeInfo | undefined
  #connectedAt = 0
  #idleSince = 0
  #rss: number | undefined
  readonly #reportMemory: boolean
  #checkouts = 0
  #epoch = 0
  #closeReason: RemoveReason | undefined
  #closeError: Error | undefined
  #retireRequested: string | undefined
  #stalled = false
  #attemptTimer: NodeJS.Timeout | undefined
  /** Set while a ping waits for its pong. */
  #pingTimer: NodeJS.Timeout | undefined
  readonly #allowExitOnIdle: boolean
  #socket: Socket | undefined
  /** The largest message this side accepts (the client's maxPayload). */
  readonly #maxPayload: number
  /** The largest message the worker accepts: from its hello, or the default for a hello without it. */
  #workerMaxPayload: number = Limits.maxPayload

  constructor(options: ConnectionOptions) {
    this.endpoint = options.endpoint
    this.#maxPayload = options.maxPayload
    this.#codec = options.codec
    this.#listener = options.listener
    const unix = typeof options.endpoint === 'string'
    this.#allowExitOnIdle = options.allowExitOnIdle
    this.#reportMemory = options.reportMemory
    const { tls, token } = options.transport.security
    const secure = !unix && tls !== undefined
    let headers: Record<string, string> | undefined
    try {
      // Asked for each connection: a token function may return a rotated token.
      if (token !== undefined) headers = { Authorization: bearerHeader(token()) }
    } catch (error) {
      // A throwing token function must not escape into the pool's dispatch.
      this.#closeError = new AuthError(`the auth.token function threw: ${(error as Error)?.message ?? String(error)}`, undefined, { cause: error })
    }
    this.#ws = new wsPackage.WebSocket(endpointUrl(options.endpoint, WORKER_PATH, secure), SUBPROTOCOL, {
      maxPayload: options.maxPayload,
      perMessageDeflate: false,
      skipUTF8Validation: true,
      ...(headers === undefined ? {} : { headers }),
      // Masking guards browsers' proxies; between two processes on one host it only costs time.
      ...(unix ? { generateMask: zeroMask } : {}),
      // The socket itself, kept so that an idle connection can stop holding the process open.
      createConnection: (opts: NetConnectOpts & { socketPath?: string; host?: string }) => {
        if (!secure) return this.#adopt(netConnect({ ...opts, path: opts.socketPath } as NetConnectOpts), unix ? undefined : options.transport.tcpKeepAlive)
        // SNI carries a host name, never an address (RFC 6066); the certificate is then checked against the address.
        const servername = tls.servername ?? (isIP(opts.host ?? '') === 0 ? opts.host : undefined)
        return this.#adopt(tlsConnect({ ...opts, path: undefined, ...tls, ...(servername === undefined ? {} : { servername }) } as TlsConnectionOptions), options.transport.tcpKeepAlive)
      },
    } as WebSocket.ClientOptions)
    this.#ws.binaryType = 'nodebuffer'
    this.#writer = new FrameWriter((frame) => {
      if (this.#ws.readyState === wsPackage.OPEN) this.#ws.send(frame)
    }, { maxBatch: this.#codec.maxBatch })
    this.#ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary))
    this.#ws.on('close', (code, reason) => this.#onClose(code, reason.toString()))
    this.#ws.on('error', (error) => this.#onError(error))
    this.#ws.on('unexpected-response', (req, res) => this.#onUnexpectedResponse(req, res))
    this.#ws.on('pong', () => this.#clearPing())
    this.#watchAttempt(options.stallAfter, options.connectTimeout)
    // The token function threw (closeError says so): this attempt fails as a refusal, like a 401.
    if (this.#closeError !== undefined) this.#ws.terminate()
  }

  get state(): ConnectionState {
    return this.#state
  }

  #adopt(socket: Socket, tcpKeepAlive: number | undefined): Socket {
    this.#socket = socket
    if (this.#allowExitOnIdle) socket.unref()
    // A host that vanishes (power cut, network partition) sends no FIN and no RST: keepalive
    // probes find it while nothing is being sent (docs/multi-host.md, "A lost peer").
    if (tcpKeepAlive !== undefined) socket.setKeepAlive(true, tcpKeepAlive)
    return socket
  }

  /** The worker's identity, from its hello. Only valid once the connection left `connecting`. */
  get info(): HelloInfo {
    return this.#info!
  }

  /** Checkouts this worker has served, the current one included. */
  get checkouts(): number {
    return this.#checkouts
  }

  /** When the worker said hello (performance.now() ms). */
  get connectedAt(): number {
    return this.#connectedAt
  }

  /** When the connection last became idle (performance.now() ms). */
  get idleSince(): number {
    return this.#idleSince
  }

  /** The worker process's resident set size in bytes, from its last done-ack with stats. */
  get rss(): number | undefined {
    return this.#rss
  }

  /** The reason the worker's server gave for retiring it, if it asked. */
  get retireRequested(): string | undefined {
    return this.#retireRequested
  }

  /** Whether the attempt was reported stalled (still connecting after `stallAfter`). */
  get stalled(): boolean {
    return this.#stalled
  }

  /** Why the connection closed; set when it moves to `closed`. */
  get closeReason(): RemoveReason | undefined {
    return this.#closeReason
  }

  /** The error behind the close (a connection failure, the worker's death), if any. */
  get closeError(): Error | undefined {
    return this.#closeError
  }

  /** Hands the idle connection to `lessee`; returns the worker's epoch (see the checkout). */
  lease(lessee: Lessee): number {
    // A busy worker may run synchronous code and not answer pings: its call's timeout bounds it.
    if (this.#pingTimer !== undefined) this.#clearPing()
    this.#lessee = lessee
    this.#checkouts++
    if (this.#allowExitOnIdle) this.#socket?.ref()
    this.#moveTo('busy')
    return this.#epoch
  }

  /**
   * Ends a lease: the worker runs checkoutDone before any later call. `done` is sent lazily, at the
   * end of this turn of the event loop, so that the next checkout's first call, usually made in the
   * same turn, shares its frame: releasing then costs no write of its own. `epoch` is where the
   * lessee left the worker's error count. With a checkoutDone hook, or when it asks for the worker's
   * stats (maxWorkerMemory), the connection waits for the done-ack before it is idle again.
   */
  giveBack(epoch: number): void {
    this.#lessee = null
    this.#epoch = epoch
    if (this.#allowExitOnIdle) this.#socket?.unref()
    this.#writer.queueLazily(this.#reportMemory ? doneWithStatsMessage : doneMessage)
    this.#moveTo(this.#info!.checkoutDone || this.#reportMemory ? 'releasing' : 'idle')
  }

  /**
   * Queues a call; throws UnencodableError if it cannot be encoded, PayloadTooLargeError if it
   * encodes to more than the worker accepts (nothing is sent then).
   */
  sendCall(id: number, epoch: number, method: string | null, args: unknown[], flags: number): void {
    assertEncodable(args)
    const limit = this.#workerMaxPayload
    const size = this.#writer.queueMessage([MessageType.Call, id, epoch, method, args, flags], this.#codec, true, limit)
    // Not queued: the worker would close the connection with 1009 over it, and every call in flight with it.
    if (size > limit) {
      throw new PayloadTooLargeError(`the call encodes to ${describeBytes(size)}, more than the ${describeBytes(limit)} the worker accepts in one message; ` +
        `it was not sent (the server's maxPayload option, forkd serve --max-payload, sets the limit)`, size, limit)
    }
  }

  /**
   * Pings an idle worker. An idle worker runs nothing of the user's, so its WebSocket answers at
   * once; no answer within `timeout` means a frozen process or a host gone without a word, and the
   * connection is dropped (terminated: a close handshake would wait for the same silence).
   */
  ping(timeout: number): void {
    if (this.#state !== 'idle' || this.#pingTimer !== undefined || this.#ws.readyState !== wsPackage.OPEN) return
    this.#pingTimer = setTimeout(() => this.#unresponsive(timeout), timeout).unref()
    this.#ws.ping()
  }

  #clearPing(): void {
    clearTimeout(this.#pingTimer)
    this.#pingTimer = undefined
  }

  #unresponsive(timeout: number): void {
    this.#pingTimer = undefined
    if (this.#state !== 'idle') return
    this.#end('unresponsive', new WorkerDiedError(`worker ${this.#info!.pid} did not answer a ping within ${timeout} ms (pingTimeout)`))
    this.#ws.terminate()
  }

  /**
   * Closes the connection. Messages not yet sent are dropped: a call that never left this process
   * never runs. `discard` (timeout, abort, protocol error) asks the worker to exit at once instead
   * of finishing its running call. The lessee, if any, is detached and told `error` when one is
   * given. Returns how many calls were dropped unsent.
   */
  close(reason: RemoveReason, options: { discard?: boolean; error?: Error } = {}): number {
    if (this.#state === 'closed') return 0
    const unsent = this.#writer.discardUnsent()
    const lessee = this.#lessee
    this.#lessee = null
    this.#end(reason, options.error)
    if (this.#ws.readyState === wsPackage.CONNECTING) this.#ws.terminate()
    else this.#ws.close(options.discard === true ? CloseCode.Discard : retiresProcess.has(reason) ? CloseCode.RetireWorker : CloseCode.Normal, truncateUtf8(reason))
    if (options.error !== undefined) lessee?.onLost(options.error, unsent)
    return unsent
  }

  /** Resolves when the socket is fully closed. */
  closed(): Promise<void> {
    if (this.#ws.readyState === wsPackage.CLOSED) return Promise.resolve()
    return new Promise((resolve) => this.#ws.once('close', () => resolve()))
  }

  #moveTo(next: ConnectionState): void {
    const from = this.#state
    if (!legalMoves[from].includes(next)) throw new Error(`forkd internal error: worker connection cannot move from ${from} to ${next}`)
    this.#state = next
    if (next === 'idle') this.#idleSince = performance.now()
    this.#listener.onMove(this, from, next)
  }

  #end(reason: RemoveReason, error: Error | undefined): void {
    this.#clearAttemptTimer()
    if (this.#pingTimer !== undefined) this.#clearPing()
    this.#closeReason = reason
    this.#closeError = error
    this.#moveTo('closed')
  }

  /** One timer per attempt: first it reports the attempt stalled, then it abandons it. */
  #watchAttempt(stallAfter: number, connectTimeout: number): void {
    const abandon = () => this.#failAttempt(new ConnectError(
      `cannot connect to the forkd server at ${describeEndpoint(this.endpoint)}: no forkd handshake within ${connectTimeout} ms (connectTimeout)`))
    if (connectTimeout === Infinity && stallAfter === Infinity) return
    if (stallAfter < connectTimeout) {
      this.#attemptTimer = setTimeout(() => {
        this.#stalled = true
        this.#listener.onNotice(this, 'stalled')
        if (connectTimeout !== Infinity && this.#state === 'connecting') this.#attemptTimer = setTimeout(abandon, connectTimeout - stallAfter).unref()
      }, stallAfter).unref()
    } else {
      this.#attemptTimer = setTimeout(abandon, connectTimeout).unref()
    }
  }

  #clearAttemptTimer(): void {
    if (this.#attemptTimer !== undefined) clearTimeout(this.#attemptTimer)
    this.#attemptTimer = undefined
  }

  /**
   * Abandons the attempt. A worker that upgraded and then broke the protocol is told why (close
   * 4000); an attempt that timed out is cut off, since a peer that does not answer would not read a
   * close frame either and the close handshake would hold the socket for its own timeout.
   */
  #failAttempt(error: Error, tellPeer = false): void {
    if (this.#state !== 'connecting') return
    this.#end('connectFailed', error)
    if (tellPeer && this.#ws.readyState === wsPackage.OPEN) this.#ws.close(CloseCode.Discard, truncateUtf8(error.message))
    else this.#ws.terminate()
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    if (this.#state === 'closed') return
    try {
      if (!isBinary) throw new ProtocolError('malformed frame from worker: text frames are not part of the protocol')
      const messages = this.#codec.decodeFrame(data)
      if (this.#state === 'connecting') this.#noteRetireAhead(messages)
      // One clock read per frame: its replies arrived together.
      const at = performance.now()
      for (let i = 0; i < messages.length && this.state !== 'closed'; i++) this.#dispatch(checkWorkerMessage(messages[i]), at)
    } catch (error) {
      // Never let anything escape into ws's event emitter, where it would crash the process.
      this.#peerFailed(error instanceof ForkdError
        ? error
        : new ProtocolError(`cannot handle a frame from the worker: ${(error as Error)?.message ?? String(error)}`, { cause: error }))
    }
  }

  /**
   * A worker retired during its handshake sends its retire notice in the frame of its hello. Known
   * before the hello makes the connection idle, it keeps the pool from granting the connection to a
   * waiting checkout (the pool closes it instead); read after, the checkout would run on the
   * retired worker. The notice is checked again as a message in its turn.
   */
  #noteRetireAhead(messages: readonly unknown[]): void {
    for (const m of messages)
      if (Array.isArray(m) && m[0] === MessageType.Retire && typeof m[1] === 'string') {
        this.#retireRequested ??= m[1]
        return
      }
  }

  #dispatch(message: WorkerMessage, at: number): void {
    switch (message[0]) {
      case MessageType.Ok:
      case MessageType.Error:
        if (this.#lessee === null) throw new ProtocolError(`worker replied to call ${message[1]} while no checkout holds it`)
        this.#lessee.onReply(message, at)
        return
      case MessageType.Log:
      case MessageType.Event:
        // A worker sends these only while a call runs (checkoutDone's records go to its stderr), so
        // one arriving while no checkout holds the worker is for a call that is not running.
        if (this.#lessee === null) throw new ProtocolError(`worker sent ${message[0] === MessageType.Log ? 'a log record' : 'an event'} for call ${message[1]} while no checkout holds it`)
        if (message[0] === MessageType.Log) this.#lessee.onLog(message)
        else this.#lessee.onEvent(message)
        return
      case MessageType.Hello:
        if (this.#state !== 'connecting') throw new ProtocolError('worker sent a second hello')
        if (message[1].v !== PROTOCOL_VERSION)
          throw new VersionMismatchError(`worker speaks protocol version ${message[1].v}, this client ${PROTOCOL_VERSION}`)
        this.#info = message[1]
        if (message[1].maxPayload !== undefined) this.#workerMaxPayload = message[1].maxPayload
        this.#writer.setMaxFrameBytes(this.#workerMaxPayload)
        this.#connectedAt = performance.now()
        this.#clearAttemptTimer()
        this.#moveTo('idle')
        return
      case MessageType.DoneAck:
        if (this.#state !== 'releasing') throw new ProtocolError('worker acknowledged a release that was not sent')
        if (message.length === 3) this.#rss = message[2].rss
        if (message[1] !== null) {
          // The worker closes the connection itself (4007); its state cannot be trusted.
          const error = new WorkerDiedError(`worker ${this.#info!.pid}: checkoutDone failed: ${message[1].message}`)
          this.#end('checkoutDoneFailed', error)
          this.#ws.close(CloseCode.Normal, 'checkoutDone failed')
        } else {
          this.#moveTo('idle')
        }
        return
      case MessageType.Retire:
        if (this.#retireRequested !== undefined) return
        this.#retireRequested = message[1]
        this.#listener.onNotice(this, 'retireRequested')
        return
      case MessageType.Bye:
        this.#bye = message[1]
        return
      default:
        throw new ProtocolError(`worker sent a message of type ${message[0]} that has no place on a worker connection`)
    }
  }

  /** The worker broke the protocol (or refused us in its hello): discard the connection. */
  #peerFailed(error: ForkdError): void {
    if (this.#state === 'connecting') {
      this.#failAttempt(error, true)
      return
    }
    this.close('fatal', { discard: true, error })
  }

  #onError(error: Error): void {
    // ws reports connection failures here, before 'close'; remember the reason for the close.
    if (this.#closeError === undefined && this.#state === 'connecting' && isCredentialRefusal(error))
      this.#closeError = new AuthError(`the TLS handshake with the forkd server at ${describeEndpoint(this.endpoint)} failed on a certificate: ${error.message}`, undefined, { cause: error })
    this.#closeError ??= error
  }

  #onUnexpectedResponse(req: { destroy(): void }, res: IncomingMessage): void {
    const why = String(res.headers['x-forkd-error'] ?? `HTTP ${res.statusCode}`)
    if (res.statusCode === 426) this.#closeError = new VersionMismatchError(`cannot use worker: ${why}`)
    else if (res.statusCode === 503) this.#closeError = new ServerAtCapacityError(`server refused the connection: ${why}`)
    else if (res.statusCode === 401 || res.statusCode === 403)
      this.#closeError = new AuthError(`the forkd server at ${describeEndpoint(this.endpoint)} refused the client's credentials (HTTP ${res.statusCode}): ${why}`, res.statusCode)
    else this.#closeError = new ConnectError(`server refused the connection: ${why}`)
    req.destroy()
    res.destroy()
    this.#ws.terminate()
  }

  #onClose(code: number, reason: string): void {
    // Closed by us (close(), a failed attempt, a protocol error): nothing left to report.
    if (this.#state === 'closed') return
    if (this.#state === 'connecting') {
      const cause = this.#closeError
      this.#end('connectFailed', cause instanceof ConnectError || cause instanceof ProtocolError
        ? cause
        : new ConnectError(`cannot connect to the forkd server at ${describeEndpoint(this.endpoint)}: ${cause?.message ?? `connection closed (${code}${reason ? ' ' + reason : ''})`}`, { cause }))
      return
    }
    const unsent = this.#writer.discardUnsent()
    const lessee = this.#lessee
    this.#lessee = null
    const error = this.#diedError(code, reason)
    this.#end(error instanceof ProtocolError ? 'fatal' : 'died', error)
    lessee?.onLost(error, unsent)
  }

  #diedError(code: number, reason: string): Error {
    const pid = this.#info?.pid
    // ws refused a message past this client's maxPayload (and closed with 1009): the worker is
    // fine, the limit is ours.
    if ((this.#closeError as NodeJS.ErrnoException | undefined)?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
      return new ProtocolError(`worker ${pid}: a reply was larger than this client's maxPayload (${this.#maxPayload} bytes); ` +
        'the connection is closed (the Client\'s maxPayload option raises the limit)', { cause: this.#closeError })
    if (code === CloseCode.ProtocolError && this.#bye === undefined)
      return new ProtocolError(`worker closed the connection: protocol error: ${reason}`)
    const bye = this.#bye
    const exit = parseExitReason(reason)
    let detail: string
    if (bye !== undefined) detail = bye.error !== undefined ? `${bye.reason}: ${bye.error.message}` : bye.reason
    else if (exit !== undefined) detail = exit.text
    else if (reason) detail = reason
    else if (code === 1006) detail = 'connection lost without a close frame'
    else if (code === CloseCode.TooBig) detail = 'the worker refused a message larger than its maxPayload (close code 1009; the server\'s maxPayload option, forkd serve --max-payload)'
    else detail = `closed with code ${code}`
    return new WorkerDiedError(`worker connection died (pid ${pid}): ${detail}`, {
      exitCode: bye?.exitCode ?? exit?.exitCode,
      signal: bye?.signal ?? exit?.signal,
    })
  }
}

/** `67108864 bytes (64 MiB)`; `1000 bytes`. */
export function describeBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  const [unit, size] = bytes >= 1024 ** 3 ? ['GiB', 1024 ** 3] : bytes >= 1024 ** 2 ? ['MiB', 1024 ** 2] : ['KiB', 1024]
  const scaled = bytes / (size as number)
  return `${bytes} bytes (${Number.isInteger(scaled) ? scaled : scaled.toFixed(1)} ${unit})`
}
