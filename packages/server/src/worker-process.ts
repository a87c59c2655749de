/**
 * One worker process, seen from the server. It owns its state: the pool states intent (`handOff`,
 * `retire`, `end`, `terminate`, `kill`) and learns every move through one `onMove(worker, from, to)`.
 *
 * ```
 *  starting ──ready──► spare ──handOff──► active ──retire──► draining
 *     │                  │  ▲               │ ▲ handOff (a      │
 *     │                  │  └──last conn.───┘ └ free slot)      │ terminate, kill
 *     │ end              │ end  ended (concurrency > 1)         │ (SIGTERM/SIGKILL)
 *     │ (SIGTERM)        │ (retire notice)  │ terminate, kill   │
 *     └──────────────► ending ◄─────────────┴───────────────────┘
 *                        │
 *  starting, spare, ─────┴──exit──► exited
 *  active, draining, ending
 * ```
 *
 * A process serves up to `concurrency` connections at once: `active` while it has at least one and
 * takes more while it has a free slot. `draining` means it was retired (by the server: reload,
 * shutdown, takeover; or through one of its connections) and still serves connections: it is never
 * handed another, and exits once the last is over. With concurrency 1 a process serves one
 * connection and exits after it, so it never goes back to `spare`. `ending` means the server asked
 * the process to go and is waiting for its exit: it is never handed a connection, and a `ready` that
 * arrives then is ignored.
 *
 * After the hand-off the server keeps its copy of each socket's file descriptor only to write a last
 * close frame when the worker dies while its client still holds the connection (whatever the exit
 * code: 4004 when killed as hung, else 4003), so the client learns why. It never reads from that
 * copy: the socket was accepted paused and the worker owns the byte stream. A worker that is done
 * with a connection says so first (`connection-ended`, naming it), and the server closes that copy
 * silently.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import { CloseCode, formatExitReason } from '@forkd/protocol'
import { closeFrame } from './close-frame.js'
import type { Credentials, LoadError, ServerToWorker, WorkerBootConfig, WorkerReport, WorkerToServer } from './ipc.js'
import type { Logger } from './logger.js'
import type { OutputLevel } from './options.js'
import { pipeOutput, type OutputPipe } from './output.js'
import { removeWarmSocket, warmSocketPath } from './warm-socket.js'

/** A worker process's state, seen from the server (the diagram at the top of worker-process.ts). */
export type WorkerState = 'starting' | 'spare' | 'active' | 'draining' | 'ending' | 'exited'

/** Why the server killed a worker. */
export type KillReason = 'hung' | 'unresponsive' | 'shutdown' | 'startTimeout'

export const legalMoves: Readonly<Record<WorkerState, readonly WorkerState[]>> = {
  starting: ['spare', 'ending', 'exited'],
  spare: ['active', 'ending', 'exited'],
  active: ['spare', 'draining', 'ending', 'exited'],
  draining: ['ending', 'exited'],
  ending: ['exited'],
  exited: [],
}

/** Time between SIGTERM and SIGKILL when a worker is terminated, and a retired spare's grace. */
export const terminateGrace = 2_000
/** Longest wait for the close frame to be written before the server's socket copy is destroyed. */
const closeFrameTimeout = 1_000
/** Longest wait, after a worker exited, for the IPC messages it sent before (see #afterLastMessage). */
const lastMessageTimeout = 250

export interface WorkerExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** Set when the server killed the worker. */
  killedFor: KillReason | undefined
  /** Set when the server had asked the worker (a spare, or one still starting) to end. */
  endedFor: string | undefined
  /** What a worker that could not load its module said (`load-failed`) before exiting. */
  loadFailure: string | undefined
  /** What it threw while loading, as an Error with the worker's name, message, code and stack. */
  loadError: Error | undefined
  /** The worker still had a client's connection: it died under that client, whatever its exit code. */
  heldConnection: boolean
  /** True unless the worker exited with code 0 on its own, holding no connection. */
  abnormal: boolean
  /** `worker exited with code 1`, `worker killed by SIGKILL`, `worker killed: busy for more than...`. */
  description: string
}

export interface WorkerProcessEvents {
  /** Every state change, after it happened. `worker.exit` is set before the move to `exited`. */
  onMove(worker: WorkerProcess, from: WorkerState, to: WorkerState): void
  /** A connection of an active process is over and the process stays active: it has a slot free. */
  onSlotFreed(worker: WorkerProcess): void
  onStatusRequest(worker: WorkerProcess, seq: number): void
  onCredentialsRequest(worker: WorkerProcess): void
}

export interface WorkerProcessOptions {
  entryPath: string
  boot: WorkerBootConfig
  env: NodeJS.ProcessEnv
  execArgv: string[]
  logger: Logger
  workerOutput: { stdout: OutputLevel; stderr: OutputLevel }
  hungWorkerTimeout: number
  /** Killed (`startTimeout`) when not ready this long after the spawn, ms; Infinity for never. */
  startTimeout: number
  /**
   * Whether the server may write its close frame on a connection whose worker died. False over
   * TLS: the stream is encrypted by the worker, and plaintext from the server would corrupt it.
   */
  lastWords: boolean
  events: WorkerProcessEvents
}

export class WorkerProcess {
  readonly id: number
  readonly startedAt = Date.now()
  /** Title-style label used in log records: `forkd-worker:NAME(N)[pid]`. */
  readonly label: string
  #state: WorkerState = 'starting'
  readonly #child: ChildProcess
  readonly #options: WorkerProcessOptions
  readonly #outputs: OutputPipe[] = []
  /** Most connections the process serves at once. */
  readonly concurrency: number
  /** The server's copies of the connections this worker serves, by their number. */
  readonly #sockets = new Map<number, Socket>()
  #nextSeq = 0
  /** Set once the server asked the process to end (a spare or a starting worker). */
  #endedFor: string | undefined
  #setupFailed = false
  #warmUpFailed: string | undefined
  #loadFailure: string | undefined
  #loadError: Error | undefined
  #retiredFor: string | undefined
  #killedFor: KillReason | undefined
  #killTimer: NodeJS.Timeout | undefined
  #pingSeq = 0
  #lastPongAt = 0
  #busySince: number | null = null
  #report: WorkerReport | undefined
  #exit: WorkerExit | undefined
  /** Whether it ever said ready: one that did not may have died while it warmed up. */
  #saidReady = false
  #startTimer: NodeJS.Timeout | undefined

  constructor(options: WorkerProcessOptions) {
    this.#options = options
    this.id = options.boot.id
    this.concurrency = options.boot.concurrency
    this.#child = fork(options.entryPath, [JSON.stringify(options.boot)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      env: options.env,
      execArgv: options.execArgv,
      // A process group of its own: Ctrl-C in a terminal (SIGINT to the foreground group) reaches
      // only the server, which drains; the server signals each worker itself (pid, not group).
      detached: true,
    })
    const name = options.boot.name
    this.label = `forkd-worker:${name}(${this.id})[${this.#child.pid ?? '?'}]`
    const fields = { worker: this.id, pid: this.#child.pid }
    const { stdout, stderr } = options.workerOutput
    if (this.#child.stdout) this.#outputs.push(pipeOutput(this.#child.stdout, options.logger, stdout, this.label, { ...fields, stream: 'stdout' }))
    if (this.#child.stderr) this.#outputs.push(pipeOutput(this.#child.stderr, options.logger, stderr, this.label, { ...fields, stream: 'stderr' }))
    this.#child.on('message', (message: WorkerToServer) => this.#onMessage(message))
    if (Number.isFinite(options.startTimeout))
      this.#startTimer = setTimeout(() => {
        this.#startTimer = undefined
        if (this.#state === 'starting') this.kill('startTimeout')
      }, options.startTimeout)
    this.#child.on('exit', (code, signal) => this.#afterLastMessage(() => this.#onExit(code, signal)))
    this.#child.on('error', (error) => {
      // A failed spawn emits 'error' and never 'exit'.
      if (this.#child.pid === undefined) this.#onExit(null, null, error)
      else options.logger.warn(`${this.label} IPC error: ${error.message}`, fields)
    })
  }

  get state(): WorkerState {
    return this.#state
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Connections this worker serves now (at most `concurrency`). */
  get connections(): number {
    return this.#sockets.size
  }

  /** Connections it was handed since it started. */
  get handedOff(): number {
    return this.#nextSeq
  }

  /** Whether it takes another connection now: ready, not retired, below its concurrency. */
  get hasFreeSlot(): boolean {
    return this.#state === 'spare' || (this.#state === 'active' && this.#sockets.size < this.concurrency)
  }

  /** Its resident set size in bytes as it last reported it (when ready, then with each heartbeat). */
  get rss(): number | undefined {
    return this.#report?.rss
  }

  /** Whether the worker's setup threw (known once it is ready); its client then sees that error. */
  get setupFailed(): boolean {
    return this.#setupFailed
  }

  /** Why the spare's warm-up did not complete, if it did not (known once it is ready). */
  get warmUpFailed(): string | undefined {
    return this.#warmUpFailed
  }

  /** When the worker last answered a heartbeat (or was handed a connection), epoch ms. */
  get lastPongAt(): number {
    return this.#lastPongAt
  }

  /** When the worker's oldest running call started, epoch ms, or null when idle, as of the last pong. */
  get busySince(): number | null {
    return this.#busySince
  }

  /** What the worker last said about itself (memory, calls, the running call): when ready, in each pong, at its connection's end. */
  get report(): WorkerReport | undefined {
    return this.#report
  }

  /** Set once the server asked the worker to retire. */
  get retiredFor(): string | undefined {
    return this.#retiredFor
  }

  /** Set once the server decided to kill or terminate this worker. */
  get killedFor(): KillReason | undefined {
    return this.#killedFor
  }

  /** How the process ended; set just before the move to `exited`. */
  get exit(): WorkerExit | undefined {
    return this.#exit
  }

  /** The last lines the worker printed, stdout and stderr, for error messages. */
  outputTail(): string[] {
    return this.#outputs.flatMap((o) => o.tail())
  }

  #moveTo(next: WorkerState): void {
    const from = this.#state
    if (!legalMoves[from].includes(next)) throw new Error(`forkd internal error: worker ${this.id} cannot move from ${from} to ${next}`)
    this.#state = next
    this.#options.events.onMove(this, from, next)
  }

  readonly #onSent = (error: Error | null): void => {
    if (error !== null) this.#options.logger.debug(`${this.label} IPC send failed: ${error.message}`, { worker: this.id })
  }

  #send(message: ServerToWorker, handle?: Socket): void {
    if (!this.#child.connected) return
    if (handle !== undefined) this.#child.send(message, handle, { keepOpen: true }, this.#onSent)
    else this.#child.send(message, this.#onSent)
  }

  /** Gives an accepted (paused) socket to this worker, which must have a free slot. */
  handOff(socket: Socket): void {
    if (!this.hasFreeSlot) throw new Error(`forkd internal error: worker ${this.id} (${this.#state}, ${this.#sockets.size} of ${this.concurrency} connections) was handed a connection`)
    const seq = ++this.#nextSeq
    this.#sockets.set(seq, socket)
    if (this.#state === 'spare') {
      this.#lastPongAt = Date.now()
      this.#moveTo('active')
    }
    this.#send({ type: 'connection', seq }, socket)
  }

  /** Passes a signal on to the process (not its group); only to a worker that is ready. */
  signal(name: 'SIGUSR1' | 'SIGUSR2'): boolean {
    if (this.#state !== 'spare' && this.#state !== 'active' && this.#state !== 'draining') return false
    try {
      return this.#child.kill(name)
    } catch {
      return false
    }
  }

  /** Heartbeat: the worker answers with a pong when its event loop is free. */
  ping(): void {
    this.#send({ type: 'ping', seq: ++this.#pingSeq })
  }

  /**
   * Retires the worker: an active one takes no new connection (`draining`) and its clients are asked
   * to let it go after their checkout; it exits once its last connection is over.
   */
  retire(reason: string): void {
    if (this.#state === 'exited' || this.#retiredFor !== undefined) return
    this.#retiredFor = reason
    if (this.#state === 'active') this.#moveTo('draining')
    this.#send({ type: 'retire', reason })
  }

  sendStatus(seq: number, status: Record<string, unknown>): void {
    this.#send({ type: 'status', seq, status })
  }

  sendCredentials(credentials: Credentials): void {
    this.#send({ type: 'credentials', credentials })
  }

  /**
   * Ends a worker that has no connection: a spare is asked to exit (and killed if it has not after a
   * grace period); a worker still starting is terminated, since it reads IPC only once loaded.
   */
  end(reason: string): void {
    this.#endedFor ??= reason
    if (this.#state === 'spare') {
      this.#moveTo('ending')
      this.retire(reason)
      this.#killTimer ??= setTimeout(() => this.kill('shutdown'), terminateGrace)
    } else if (this.#state === 'starting') {
      this.terminate('shutdown')
    }
  }

  /** SIGTERM now, SIGKILL after a grace period if the process is still there. */
  terminate(reason: KillReason = 'shutdown'): void {
    if (this.#state === 'exited' || this.#killedFor !== undefined) return
    this.#killedFor = reason
    if (this.#state !== 'ending') this.#moveTo('ending')
    this.#child.kill('SIGTERM')
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer)
    this.#killTimer = setTimeout(() => this.kill(reason), terminateGrace)
  }

  /** SIGKILL now. */
  kill(reason: KillReason): void {
    if (this.#state === 'exited') return
    // The first reason sticks: a hung worker later swept up by shutdown was still killed as hung.
    if (this.#killedFor === undefined || this.#killedFor === 'shutdown') this.#killedFor = reason
    if (this.#state !== 'ending') this.#moveTo('ending')
    this.#child.kill('SIGKILL')
  }

  #onMessage(message: WorkerToServer): void {
    if (isReport((message as { report?: unknown } | undefined)?.report)) this.#report = (message as { report: WorkerReport }).report
    switch (message?.type) {
      case 'ready':
        if (this.#state !== 'starting') return
        this.#setupFailed = message.setupFailed === true
        this.#warmUpFailed = typeof message.warmUpFailed === 'string' ? message.warmUpFailed : undefined
        this.#saidReady = true
        clearTimeout(this.#startTimer)
        this.#moveTo('spare')
        break
      case 'load-failed':
        this.#loadFailure = String(message.message)
        this.#loadError = errorFromWorker(message.error)
        break
      case 'pong':
        this.#lastPongAt = Date.now()
        this.#busySince = typeof message.busySince === 'number' ? message.busySince : null
        break
      case 'connection-ended':
        this.#connectionEnded(message.seq, message.retire === true)
        break
      case 'status-request':
        this.#options.events.onStatusRequest(this, message.seq)
        break
      case 'credentials-request':
        if (this.#state === 'starting') this.#options.events.onCredentialsRequest(this)
        break
      default:
        this.#options.logger.debug(`${this.label} sent an unknown IPC message`, { message })
    }
  }

  /** Its client closed it, or the worker did with a close frame of its own: no last words due. */
  #connectionEnded(seq: number, retire: boolean): void {
    this.#sockets.get(seq)?.destroy()
    this.#sockets.delete(seq)
    if (this.#state !== 'active') return
    if (retire) {
      // A client let the shared process go; the worker has told its other clients itself.
      this.#retiredFor ??= 'worker-retired'
      this.#moveTo('draining')
    } else if (this.#sockets.size === 0 && this.concurrency > 1) {
      this.#moveTo('spare')
    } else if (this.concurrency > 1) {
      this.#options.events.onSlotFreed(this)
    }
  }

  #describeExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): string {
    const timeout = this.#options.hungWorkerTimeout
    switch (this.#killedFor) {
      case 'hung':
        return `worker killed: busy for more than ${timeout} ms (hungWorkerTimeout)`
      case 'unresponsive':
        return `worker killed: unresponsive for more than ${timeout} ms (hungWorkerTimeout)`
      case 'shutdown':
        if (signal !== null) return `worker killed by ${signal}: server shutting down`
        break
      case 'startTimeout':
        return `worker killed: not ready within ${this.#options.startTimeout} ms of its start (startTimeout)`
    }
    if (spawnError !== undefined) return `worker could not be started: ${spawnError.message}`
    if (signal !== null) return `worker killed by ${signal}`
    return `worker exited with code ${code}`
  }

  /**
   * Runs `then` once every IPC message the process sent before it exited has been received. Node
   * may emit 'exit' before the last messages (a `connection-ended`, a `load-failed`) are read; they
   * are all in the channel before its end, which 'disconnect' marks. The timeout covers a channel
   * kept open by a process the worker started.
   */
  #afterLastMessage(then: () => void): void {
    const child = this.#child
    if (!child.connected) return then()
    const done = () => {
      clearTimeout(timer)
      child.off('disconnect', done)
      then()
    }
    const timer = setTimeout(done, lastMessageTimeout)
    child.once('disconnect', done)
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void {
    if (this.#state === 'exited') return
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer)
    clearTimeout(this.#startTimer)
    const heldConnection = this.#sockets.size > 0
    this.#exit = {
      code,
      signal,
      killedFor: this.#killedFor,
      endedFor: this.#endedFor,
      loadFailure: this.#loadFailure,
      loadError: this.#loadError,
      heldConnection,
      abnormal: code !== 0 || signal !== null || this.#killedFor !== undefined || heldConnection,
      description: this.#describeExit(code, signal, spawnError),
    }
    // Gone before it was ready, perhaps while it warmed up: its warm-up socket may be left.
    if (!this.#saidReady && this.#child.pid !== undefined) removeWarmSocket(warmSocketPath(this.#child.pid, this.#options.env))
    this.#closeConnections(this.#exit)
    this.#moveTo('exited')
  }

  /**
   * Tells each client still holding a connection why its worker is gone, then closes the copy. Over
   * TLS it only closes the copy: the client learns of the death from the worker's bye, or as a
   * lost connection (docs/security.md, "What each transport reports").
   */
  #closeConnections(exit: WorkerExit): void {
    if (this.#sockets.size === 0) return
    if (!this.#options.lastWords) {
      for (const socket of this.#sockets.values()) socket.destroy()
      this.#sockets.clear()
      return
    }
    const killedAsHung = exit.killedFor === 'hung' || exit.killedFor === 'unresponsive'
    const reason = formatExitReason({ exitCode: exit.code ?? undefined, signal: exit.signal ?? undefined }, exit.description)
    const frame = closeFrame(killedAsHung ? CloseCode.HungWorkerKilled : CloseCode.WorkerExited, reason)
    const sockets = [...this.#sockets.values()]
    this.#sockets.clear()
    for (const socket of sockets) {
      if (socket.destroyed) continue
      const timer = setTimeout(() => socket.destroy(), closeFrameTimeout)
      timer.unref()
      socket.end(frame, () => {
        clearTimeout(timer)
        socket.destroy()
      })
    }
  }
}

/** Whether a worker's `report` has the shape the status rows read (a worker runs user code: check). */
function isReport(value: unknown): value is WorkerReport {
  const r = value as WorkerReport | undefined
  return typeof r === 'object' && r !== null && typeof r.rss === 'number' && typeof r.calls === 'number' &&
    Array.isArray(r.running) && typeof r.statusQueries === 'number'
}

/**
 * The error a worker reported as data, as an Error for a `cause`: the worker's name, message,
 * code and stack on a plain Error (its class is not rebuilt: it lives in the worker).
 */
function errorFromWorker(data: LoadError | undefined): Error | undefined {
  if (typeof data !== 'object' || data === null || typeof data.name !== 'string' || typeof data.message !== 'string') return undefined
  const error = new Error(data.message)
  error.name = data.name
  if (typeof data.stack === 'string') error.stack = data.stack
  if (typeof data.code === 'string' || typeof data.code === 'number') Object.assign(error, { code: data.code })
  return error
}
