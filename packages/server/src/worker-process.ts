/**
 * One worker process, seen from the server.
 *
 * ```
 *  starting ──ready──► spare ──handOff──► active
 *     │                  │                  │
 *     └────────exit──────┴───────exit───────┴──► exited
 * ```
 *
 * After the hand-off the server keeps its copy of the socket's file descriptor only to write a final
 * close frame when the worker dies abnormally, so the client learns why its connection ended. It never
 * reads from that copy: the socket was accepted paused and the worker owns the byte stream.
 */
import { fork, type ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import { CloseCode } from '@forkd/protocol'
import { closeFrame } from './close-frame.js'
import type { ServerToWorker, WorkerBootConfig, WorkerToServer } from './ipc.js'
import type { Logger } from './logger.js'
import type { OutputLevel } from './options.js'
import { pipeOutput, type OutputPipe } from './output.js'

export type WorkerState = 'starting' | 'spare' | 'active' | 'exited'

/** Why the server killed a worker. */
export type KillReason = 'hung' | 'unresponsive' | 'shutdown'

const legalMoves: Record<WorkerState, readonly WorkerState[]> = {
  starting: ['spare', 'exited'],
  spare: ['active', 'exited'],
  active: ['exited'],
  exited: [],
}

/** Time between SIGTERM and SIGKILL when a worker is terminated. */
export const terminateGrace = 2_000
/** Longest wait for the close frame to be written before the server's socket copy is destroyed. */
const closeFrameTimeout = 1_000

export interface WorkerExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** Set when the server killed the worker. */
  killedFor: KillReason | undefined
  /** The state the worker was in when it exited. */
  previousState: WorkerState
  /** True unless the worker exited with code 0 on its own. */
  abnormal: boolean
  /** `worker exited with code 1`, `worker killed by SIGKILL`, `worker killed: busy for more than...`. */
  description: string
}

export interface WorkerProcessEvents {
  onReady(worker: WorkerProcess, setupFailed: boolean): void
  onLoadFailed(worker: WorkerProcess, message: string): void
  onExit(worker: WorkerProcess, exit: WorkerExit): void
  onStatusRequest(worker: WorkerProcess, seq: number): void
}

export interface WorkerProcessOptions {
  entryPath: string
  boot: WorkerBootConfig
  env: NodeJS.ProcessEnv
  execArgv: string[]
  logger: Logger
  workerOutput: { stdout: OutputLevel; stderr: OutputLevel }
  hungWorkerTimeout: number
  /** Reload generation the worker was started in; workers of an older generation are not handed out. */
  generation: number
  events: WorkerProcessEvents
}

export class WorkerProcess {
  readonly id: number
  readonly generation: number
  readonly startedAt = Date.now()
  /** Title-style label used in log records: `forkd-worker:NAME(N)[pid]`. */
  readonly label: string
  #state: WorkerState = 'starting'
  readonly #child: ChildProcess
  readonly #options: WorkerProcessOptions
  readonly #outputs: OutputPipe[] = []
  #socket: Socket | undefined
  #killedFor: KillReason | undefined
  #killTimer: NodeJS.Timeout | undefined
  #pingSeq = 0
  #exit: WorkerExit | undefined
  #exited: Promise<WorkerExit>
  #resolveExited!: (exit: WorkerExit) => void
  #lastPongAt = 0
  #busySince: number | null = null
  #retiredFor: string | undefined

  constructor(options: WorkerProcessOptions) {
    this.#options = options
    this.id = options.boot.id
    this.generation = options.generation
    this.#exited = new Promise((resolve) => (this.#resolveExited = resolve))
    this.#child = fork(options.entryPath, [JSON.stringify(options.boot)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      env: options.env,
      execArgv: options.execArgv,
    })
    const name = options.boot.name
    this.label = `forkd-worker:${name}(${this.id})[${this.#child.pid ?? '?'}]`
    const fields = { worker: this.id, pid: this.#child.pid }
    const { stdout, stderr } = options.workerOutput
    if (this.#child.stdout) this.#outputs.push(pipeOutput(this.#child.stdout, options.logger, stdout, this.label, { ...fields, stream: 'stdout' }))
    if (this.#child.stderr) this.#outputs.push(pipeOutput(this.#child.stderr, options.logger, stderr, this.label, { ...fields, stream: 'stderr' }))
    this.#child.on('message', (message: WorkerToServer) => this.#onMessage(message))
    this.#child.on('exit', (code, signal) => this.#onExit(code, signal))
    this.#child.on('error', (error) => {
      // A failed spawn emits 'error' and never 'exit'.
      if (this.#child.pid === undefined) this.#onExit(null, null, error)
      else options.logger.warn(`${this.label} IPC error: ${error.message}`, fields)
    })
  }

  /** When the worker last answered a heartbeat (or became active), epoch ms. */
  get lastPongAt(): number {
    return this.#lastPongAt
  }

  /** When the worker's running call started, epoch ms, or null when idle, as of the last pong. */
  get busySince(): number | null {
    return this.#busySince
  }

  /** Set once the server asked the worker to retire. */
  get retiredFor(): string | undefined {
    return this.#retiredFor
  }

  get state(): WorkerState {
    return this.#state
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** Resolves when the process has exited. */
  get exited(): Promise<WorkerExit> {
    return this.#exited
  }

  get exitInfo(): WorkerExit | undefined {
    return this.#exit
  }

  /** The last lines the worker printed, stdout and stderr, for error messages. */
  outputTail(): string[] {
    return this.#outputs.flatMap((o) => o.tail())
  }

  #setState(next: WorkerState): void {
    if (!legalMoves[this.#state].includes(next)) throw new Error(`forkd internal error: worker ${this.id} cannot move from ${this.#state} to ${next}`)
    this.#state = next
  }

  #send(message: ServerToWorker, handle?: Socket): void {
    if (!this.#child.connected) return
    const onSent = (error: Error | null) => {
      if (error !== null) this.#options.logger.debug(`${this.label} IPC send failed: ${error.message}`, { type: message.type })
    }
    if (handle !== undefined) this.#child.send(message, handle, { keepOpen: true }, onSent)
    else this.#child.send(message, onSent)
  }

  /** Gives an accepted (paused) socket to this spare worker. */
  handOff(socket: Socket): void {
    this.#setState('active')
    this.#socket = socket
    this.#lastPongAt = Date.now()
    // EPIPE/ECONNRESET on our copy are expected when the client or the worker goes away.
    socket.on('error', () => {})
    this.#send({ type: 'connection' }, socket)
  }

  /** Heartbeat: the worker answers with a pong when its event loop is free. */
  ping(): void {
    this.#send({ type: 'ping', seq: ++this.#pingSeq })
  }

  /** Asks an active worker's client to retire it after the checkout; a spare exits at once. */
  retire(reason: string): void {
    if (this.#state === 'exited' || this.#retiredFor !== undefined) return
    this.#retiredFor = reason
    this.#send({ type: 'retire', reason })
  }

  sendStatus(seq: number, status: Record<string, unknown>): void {
    this.#send({ type: 'status', seq, status })
  }

  /** Set once the server decided to kill or terminate this worker. */
  get killedFor(): KillReason | undefined {
    return this.#killedFor
  }

  /**
   * Ends a worker that has no connection: a spare is asked to exit (and killed if it has not after a
   * grace period); a worker still starting is terminated, since it reads IPC only once loaded.
   */
  end(reason: string): void {
    if (this.#state === 'spare') {
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
    this.#child.kill('SIGTERM')
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer)
    this.#killTimer = setTimeout(() => this.kill(reason), terminateGrace)
  }

  /** SIGKILL now. */
  kill(reason: KillReason): void {
    if (this.#state === 'exited') return
    // The first reason sticks: a hung worker later swept up by shutdown was still killed as hung.
    if (this.#killedFor === undefined || this.#killedFor === 'shutdown') this.#killedFor = reason
    this.#child.kill('SIGKILL')
  }

  #onMessage(message: WorkerToServer): void {
    const events = this.#options.events
    switch (message?.type) {
      case 'ready':
        if (this.#state !== 'starting') return
        this.#setState('spare')
        events.onReady(this, message.setupFailed)
        break
      case 'load-failed':
        events.onLoadFailed(this, String(message.message))
        break
      case 'pong':
        this.#lastPongAt = Date.now()
        this.#busySince = typeof message.busySince === 'number' ? message.busySince : null
        break
      case 'status-request':
        events.onStatusRequest(this, message.seq)
        break
      default:
        this.#options.logger.debug(`${this.label} sent an unknown IPC message`, { message })
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
    }
    if (spawnError !== undefined) return `worker could not be started: ${spawnError.message}`
    if (signal !== null) return `worker killed by ${signal}`
    return `worker exited with code ${code}`
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void {
    if (this.#state === 'exited') return
    if (this.#killTimer !== undefined) clearTimeout(this.#killTimer)
    const previousState = this.#state
    this.#setState('exited')
    const abnormal = code !== 0 || signal !== null || this.#killedFor !== undefined
    const exit: WorkerExit = {
      code,
      signal,
      killedFor: this.#killedFor,
      previousState,
      abnormal,
      description: this.#describeExit(code, signal, spawnError),
    }
    this.#exit = exit
    this.#releaseSocket(exit)
    this.#options.events.onExit(this, exit)
    this.#resolveExited(exit)
  }

  #releaseSocket(exit: WorkerExit): void {
    const socket = this.#socket
    this.#socket = undefined
    if (socket === undefined || socket.destroyed) return
    if (!exit.abnormal) {
      socket.destroy()
      return
    }
    const killedAsHung = exit.killedFor === 'hung' || exit.killedFor === 'unresponsive'
    const frame = closeFrame(killedAsHung ? CloseCode.HungWorkerKilled : CloseCode.WorkerExited, exit.description)
    const timer = setTimeout(() => socket.destroy(), closeFrameTimeout)
    timer.unref()
    socket.end(frame, () => {
      clearTimeout(timer)
      socket.destroy()
    })
  }
}
