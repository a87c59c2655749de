/**
 * The life of a worker process, started by the server with a WorkerBootConfig in argv[2]: load the
 * module, run setup, tell the server `ready`, wait as a spare for a socket over IPC, perform the
 * WebSocket upgrade, serve that one connection, exit when it closes.
 *
 * ```
 *  loading ──ready──► spare ──socket──► handshaking ──upgraded──► serving
 *     │                 │                  │     │                   │
 *     │ server gone     │ server gone,     │     └──server gone──┐   │ server gone
 *     │                 │ retire           │                     ▼   ▼
 *     │                 │                  │                   orphaned
 *     ▼                 ▼                  ▼                     │   (serves its client alone)
 *   exiting ◄───────────┴──────────────────┴── connection over ──┴── (from serving too)
 * ```
 *
 * A connection that is over (closed by either side, refused, timed out) is reported to the server
 * (`connection-ended`) before the process exits; any other exit while a client holds the connection
 * (`process.exit(0)` in a call, a crash) gets the server's 4003 close frame.
 *
 * The state and what belongs to it (the session, a retire notice that arrived during the handshake)
 * live in one union, changed only by `moveTo`.
 */
import type { Socket } from 'node:net'
import { Codec, CloseCode, MessageType, PROTOCOL_VERSION, STATUS_PATH, toWireError } from '@forkd/protocol'
import type { WebSocket } from 'ws'
import { describeDefinitionProblem, type WorkerDefinition } from '../define-worker.js'
import type { ServerToWorker, WorkerBootConfig, WorkerToServer } from '../ipc.js'
import { fetchCredentials, type ConnectionSecurity } from './credentials.js'
import { startOrphanWatchdog } from './orphan-watchdog.js'
import { prewarm } from './prewarm.js'
import { WorkerSession, type SetupState } from './session.js'
import { acceptUpgrade } from './upgrade.js'

type Life =
  | { state: 'loading' }
  | { state: 'spare' }
  /** `retireWhenGreeted`: a retire notice that arrived during the handshake, sent after the hello. */
  | { state: 'handshaking'; retireWhenGreeted: string | undefined }
  /** `session` is null while answering a status query. */
  | { state: 'serving'; session: WorkerSession | null }
  /** The server is gone; the connection (or its handshake) goes on. */
  | { state: 'orphaned'; session: WorkerSession | null; retireWhenGreeted: string | undefined }
  | { state: 'exiting' }

type LifeState = Life['state']

const legalMoves: Readonly<Record<LifeState, readonly LifeState[]>> = {
  loading: ['spare', 'exiting'],
  spare: ['handshaking', 'exiting'],
  handshaking: ['serving', 'orphaned', 'exiting'],
  serving: ['orphaned', 'exiting'],
  orphaned: ['exiting'],
  exiting: [],
}

let life: Life = { state: 'loading' }

function moveTo(next: Life): void {
  if (!legalMoves[life.state].includes(next.state)) throw new Error(`forkd worker internal error: cannot move from ${life.state} to ${next.state}`)
  life = next
}

/** The session serving a client, if any, whether the server is still there or not. */
function currentSession(): WorkerSession | null {
  return life.state === 'serving' || life.state === 'orphaned' ? life.session : null
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerBootConfig

const toServer = (message: WorkerToServer) => {
  if (process.connected) process.send!(message)
}

/** Sends `message`, then runs `then` once it is written out (or at once when the server is gone). */
const toServerThen = (message: WorkerToServer, then: () => void) => {
  if (process.connected) process.send!(message, undefined, {}, () => then())
  else then()
}

/** What connections are checked with (TLS, tokens); set before the worker is ready. */
let security: ConnectionSecurity = { tls: undefined, checkToken: undefined }

let statusSeq = 0
const statusWaiters = new Map<number, (status: Record<string, unknown>) => void>()

function exit(code: number): never {
  if (life.state !== 'exiting') moveTo({ state: 'exiting' })
  process.exit(code)
}

/**
 * The connection is over (closed by either side, refused, timed out): tell the server, so it does
 * not take this exit for a death under a client, then exit.
 */
function endConnection(): void {
  if (life.state === 'exiting') return
  moveTo({ state: 'exiting' })
  // Should the channel never confirm the write, the process still ends.
  setTimeout(() => process.exit(0), 1_000).unref()
  toServerThen({ type: 'connection-ended' }, () => process.exit(0))
}

async function loadDefinition(): Promise<WorkerDefinition> {
  let mod: { default?: unknown }
  try {
    mod = (await import(config.module)) as { default?: unknown }
  } catch (error) {
    throw new Error(`cannot import worker module ${config.module}: ${(error as Error)?.message ?? String(error)}`)
  }
  const problem = describeDefinitionProblem(mod.default)
  if (problem !== undefined) throw new Error(`invalid worker module ${config.module}: ${problem}`)
  return mod.default as WorkerDefinition
}

function runSetup(definition: WorkerDefinition): SetupState {
  const state: SetupState = { done: Promise.resolve(), settled: definition.setup === undefined, failed: false, error: undefined }
  if (definition.setup === undefined) return state
  state.done = (async () => {
    try {
      await definition.setup!()
    } catch (error) {
      state.failed = true
      state.error = error
    }
    state.settled = true
  })()
  return state
}

function serve(socket: Socket, definition: WorkerDefinition, setup: SetupState): void {
  moveTo({ state: 'handshaking', retireWhenGreeted: undefined })
  const codec = new Codec()
  acceptUpgrade(socket, { ...config, ...security }, {
    upgraded(ws, path) {
      if (path === STATUS_PATH) {
        if (life.state === 'handshaking') moveTo({ state: 'serving', session: null })
        void answerStatus(ws, codec)
        return
      }
      const session = startSession(ws, definition, setup, codec)
      if (life.state !== 'handshaking' && life.state !== 'orphaned') return
      const retire = life.retireWhenGreeted
      if (life.state === 'handshaking') moveTo({ state: 'serving', session })
      else life.session = session
      if (retire !== undefined) session.retire(retire)
    },
    gone: endConnection,
  })
}

function startSession(ws: WebSocket, definition: WorkerDefinition, setup: SetupState, codec: Codec): WorkerSession {
  return new WorkerSession(ws, {
    definition,
    setup,
    hello: {
      v: PROTOCOL_VERSION,
      pid: process.pid,
      id: config.id,
      name: config.name,
      serverPid: config.serverPid,
      checkoutDone: definition.checkoutDone !== undefined,
    },
    onEnd: endConnection,
  }, codec)
}

async function answerStatus(ws: WebSocket, codec: Codec): Promise<void> {
  const seq = ++statusSeq
  const status = await new Promise<Record<string, unknown>>((resolve) => {
    if (!process.connected) return resolve({ error: 'the server process is gone' })
    statusWaiters.set(seq, resolve)
    toServer({ type: 'status-request', seq })
    setTimeout(() => resolve({ error: 'the server did not answer' }), 2000).unref()
  })
  ws.send(codec.encode([MessageType.Status, status]), () => ws.close(CloseCode.Normal))
  ws.on('close', endConnection)
}

function onServerMessage(message: ServerToWorker, handle: unknown, definition: WorkerDefinition, setup: SetupState): void {
  switch (message.type) {
    case 'connection':
      if (life.state !== 'spare' || handle === undefined) return
      serve(handle as Socket, definition, setup)
      break
    case 'ping':
      toServer({ type: 'pong', seq: message.seq, busySince: currentSession()?.busySince ?? null })
      break
    case 'retire':
      if (life.state === 'spare') exit(0)
      else if (life.state === 'handshaking') life.retireWhenGreeted ??= message.reason
      else currentSession()?.retire(message.reason)
      break
    case 'status':
      statusWaiters.get(message.seq)?.(message.status)
      statusWaiters.delete(message.seq)
      break
  }
}

/** The IPC channel closed: the server exited, however it ended. */
function onServerGone(): void {
  switch (life.state) {
    case 'loading':
    case 'spare':
      // Nobody to serve: a module holding a handle (a timer, a database pool) must not keep us alive.
      exit(0)
      break
    case 'handshaking':
    case 'serving':
      // A worker with a connection keeps serving it, with a watchdog of its own for hung calls.
      moveTo({ state: 'orphaned', session: currentSession(), retireWhenGreeted: life.state === 'handshaking' ? life.retireWhenGreeted : undefined })
      // JSON carries Infinity as null: no hung-worker timeout then
      startOrphanWatchdog(config.hungWorkerTimeout ?? Infinity, currentSession()?.busySince ?? null)
      break
  }
}

/** Runs the worker process: loads the module, runs setup, reports ready and serves. */
export async function runWorker(): Promise<void> {
  process.title = `forkd-worker:${config.name}(${config.id})`
  process.on('uncaughtException', (error) => {
    process.stderr.write(`forkd worker: uncaught exception: ${(error as Error)?.stack ?? String(error)}\n`)
    currentSession()?.bye({ reason: 'uncaught exception', exitCode: 1, error: toWireError(error, 'uncaught') })
    exit(1)
  })
  process.on('exit', (code) => {
    currentSession()?.bye({ reason: `worker exited with code ${code}`, exitCode: code })
  })
  // Takes the watch over from entry.ts before anything else can run, and listens before loading the
  // module: a server that dies while the module loads must not go unnoticed
  // (test/lifecycle/lifecycle-dead-server.test.ts, test/lifecycle/spares-die-with-server.test.ts).
  process.on('disconnect', onServerGone)
  if (!process.connected) return onServerGone()
  // Asked for now, answered while the module loads.
  const credentials = config.credentials ? fetchCredentials() : undefined
  credentials?.catch(() => {})
  let definition: WorkerDefinition
  try {
    definition = await loadDefinition()
  } catch (error) {
    process.stderr.write(`forkd worker: ${(error as Error).message}\n`)
    // Exit only once the reason is out: the server blames the module with it.
    return toServerThen({ type: 'load-failed', message: (error as Error).message }, () => exit(1))
  }
  // The checks below cost nothing and do not depend on an event having been seen: a spare that
  // cannot say `ready` to anyone has nobody to serve.
  if (!process.connected) return onServerGone()
  if (config.credentials) {
    try {
      security = await credentials!
    } catch (error) {
      process.stderr.write(`forkd worker: cannot load the TLS key and certificates: ${(error as Error).message}\n`)
      return exit(1)
    }
    if (!process.connected) return onServerGone()
  }
  const setup = runSetup(definition)
  process.on('message', (message: ServerToWorker, handle: unknown) => onServerMessage(message, handle, definition, setup))
  await Promise.all([setup.done, prewarm(new Codec())])
  if (!process.connected) return onServerGone()
  if (setup.failed) process.stderr.write(`forkd worker: setup failed: ${(setup.error as Error)?.stack ?? String(setup.error)}\n`)
  moveTo({ state: 'spare' })
  toServer({ type: 'ready', setupFailed: setup.failed })
}
