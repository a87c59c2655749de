/**
 * The life of a worker process, started by the server with a WorkerBootConfig in argv[2]: load the
 * module, run setup, tell the server `ready`, wait as a spare for sockets over IPC, perform each
 * WebSocket upgrade, serve the connections, exit when the last one is over.
 *
 * ```
 *  loading ──ready──► spare ──socket──► serving ──server gone──► orphaned
 *     │                 │  ▲               │                        │ (serves its clients alone)
 *     │ server gone     │  └───────────────┤ last connection over   │
 *     │                 │ server gone,     │ (concurrency > 1, not  │ last connection over
 *     ▼                 ▼ retire           ▼  retired)              ▼
 *   exiting ◄───────────┴──────────────────┴── last connection over ┴───
 *                                             (concurrency 1, or retired)
 * ```
 *
 * A process serves at most `config.concurrency` connections at once (the server hands it no more).
 * With concurrency 1 (the default) it serves one and exits when that one is over: every connection
 * gets a fresh process. With more, a process whose last connection is over becomes a spare again,
 * unless it was **retired**: by its server (reload, shutdown, takeover), or through one of its
 * connections (the client closed it with 4002 or 4000, or checkoutDone failed). A retired process
 * takes no new connection, asks the clients of its other connections to let it go
 * (`[9, 'worker-retired']`), and exits when the last one is over.
 *
 * A connection that is over (closed by either side, refused, timed out) is reported to the server
 * (`connection-ended`, with its number) before the process exits; any other exit while a client
 * holds a connection (`process.exit(0)` in a call, a crash) gets the server's 4003 close frame.
 *
 * The state lives in one union changed only by `moveTo`; each connection's phase (its handshake, its
 * session, a status query) lives in `connections`.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Socket } from 'node:net'
import { Codec, CloseCode, MessageType, PROTOCOL_VERSION, STATUS_PATH, toWireError, type HelloInfo, type RetireReason } from '@forkd/protocol'
import type { WebSocket } from 'ws'
import { describeDefinitionProblem, type WorkerDefinition, type WorkerSignal } from '../define-worker.js'
import type { LoadError, RunningCall, ServerToWorker, WorkerBootConfig, WorkerReport, WorkerToServer } from '../ipc.js'
import { installSink } from './context.js'
import { fetchCredentials, type ConnectionSecurity } from './credentials.js'
import { describeImportFailure } from './load-failure.js'
import { markBusy, orphanWatchdogRunning, startOrphanWatchdog } from './orphan-watchdog.js'
import { toServer, toServerThen } from './to-server.js'
import { prewarm } from './prewarm.js'
import { WorkerSession, type CallScope, type SessionEnd, type SetupState } from './session.js'
import { acceptUpgrade } from './upgrade.js'

type Life =
  | { state: 'loading' }
  | { state: 'spare' }
  | { state: 'serving' }
  /** The server is gone; the connections (or their handshakes) go on. */
  | { state: 'orphaned' }
  | { state: 'exiting' }

type LifeState = Life['state']

const legalMoves: Readonly<Record<LifeState, readonly LifeState[]>> = {
  loading: ['spare', 'exiting'],
  spare: ['serving', 'exiting'],
  serving: ['spare', 'orphaned', 'exiting'],
  orphaned: ['exiting'],
  exiting: [],
}

/** One connection the server handed over: its number (the server's), and where it is. */
interface Connection {
  readonly seq: number
  phase: 'handshaking' | 'session' | 'status'
  session: WorkerSession | null
  /** A retire notice that arrived during the handshake, sent after the hello. */
  retireWhenGreeted: string | undefined
}

let life: Life = { state: 'loading' }
const connections = new Set<Connection>()
/** Set once the process takes no new connection: why, as its clients are told. */
let retiredFor: string | undefined

function moveTo(next: Life): void {
  if (!legalMoves[life.state].includes(next.state)) throw new Error(`forkd worker internal error: cannot move from ${life.state} to ${next.state}`)
  life = next
}

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerBootConfig
const concurrency = config.concurrency ?? 1

/** What connections are checked with (TLS, tokens); set before the worker is ready. */
let security: ConnectionSecurity = { tls: undefined, checkToken: undefined }

let statusSeq = 0
const statusWaiters = new Map<number, (status: Record<string, unknown>) => void>()
/** Status connections this process is answering (a `forkd top` holds one open). */
let statusQueries = 0

/** Calls run on connections that are over (the process may outlive them with concurrency > 1). */
let callsOfEndedConnections = 0

/** What the server cannot see: memory, calls run, what runs now. Read when the server asks (each pong). */
function report(): WorkerReport {
  let calls = callsOfEndedConnections
  const running: RunningCall[] = []
  for (const s of sessions()) {
    calls += s.calls
    const now = s.running
    if (now !== null) running.push(now)
  }
  return { rss: process.memoryUsage.rss(), calls, running, statusQueries }
}

function* sessions(): Generator<WorkerSession> {
  for (const c of connections) if (c.session !== null) yield c.session
}

/** When the oldest running call of the process started (epoch ms), or null when none runs. */
function oldestBusySince(): number | null {
  let oldest: number | null = null
  for (const s of sessions()) {
    const since = s.busySince
    if (since !== null && (oldest === null || since < oldest)) oldest = since
  }
  return oldest
}

/**
 * With one connection the session's busy time is the process's (the orphan watchdog's slot is
 * written as is); with several, the watchdog watches the oldest running call, recomputed only
 * while it runs.
 */
const onBusy = concurrency === 1
  ? markBusy
  : () => {
      if (orphanWatchdogRunning()) markBusy(oldestBusySince())
    }

/**
 * With several connections, calls of different connections interleave at their awaits, so `log`
 * and `emit` find their call through AsyncLocalStorage: one sink for the process. With one
 * connection each session installs itself and calls run without it (it costs on every call).
 */
const callScope = concurrency === 1 ? undefined : new AsyncLocalStorage<CallScope>()
if (callScope !== undefined) {
  installSink({
    log(level, message, fields) {
      const scope = callScope.getStore()
      if (scope !== undefined) scope.session.log(scope.call, level, message, fields)
      else if (level !== 'debug') process.stderr.write(`${level}: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}\n`)
    },
    emit(name, data) {
      const scope = callScope.getStore()
      if (scope === undefined) throw new Error('emit() can only be called while a call is running')
      scope.session.emit(scope.call, name, data)
    },
  })
}

function exit(code: number): never {
  if (life.state !== 'exiting') moveTo({ state: 'exiting' })
  process.exit(code)
}

/**
 * Marks the process retired: it takes no new connection (the server learns it with the
 * `connection-ended` that follows, or already knows when it sent the notice) and the clients of its
 * other connections are asked to let it go after their checkout.
 */
function retireProcess(reason: string): void {
  if (retiredFor !== undefined) return
  retiredFor = reason
  for (const c of connections) {
    if (c.session !== null) c.session.retire(reason)
    else if (c.phase === 'handshaking') c.retireWhenGreeted ??= reason
  }
}

/**
 * A connection is over (closed by either side, refused, timed out): tell the server, so it does
 * not take the exit for a death under a client and closes its copy of the socket; then exit if
 * nothing is left to serve, or wait as a spare for the next connection.
 */
function endConnection(conn: Connection, how: SessionEnd | 'gone'): void {
  if (!connections.delete(conn) || life.state === 'exiting') return
  if (conn.session !== null) callsOfEndedConnections += conn.session.calls
  if (conn.phase === 'status') statusQueries--
  // With several connections, a client that let the worker go for what it became, gave up on a
  // running call, or whose checkoutDone failed leaves a process that must not be handed out again.
  const retire = concurrency > 1 && (how === 'retire' || how === 'discard' || how === 'checkout-done-failed')
  if (retire) retireProcess('worker-retired')
  const ended: WorkerToServer = { type: 'connection-ended', seq: conn.seq, retire, report: report() }
  if (connections.size > 0) {
    toServer(ended)
    return
  }
  if (concurrency > 1 && retiredFor === undefined && life.state === 'serving') {
    toServer(ended)
    moveTo({ state: 'spare' })
    return
  }
  moveTo({ state: 'exiting' })
  // Should the channel never confirm the write, the process still ends.
  setTimeout(() => process.exit(0), 1_000).unref()
  toServerThen(ended, () => process.exit(0))
}

/** The module's worker definition, or why there is none. */
async function loadDefinition(): Promise<{ definition: WorkerDefinition } | { failure: { message: string; error?: LoadError } }> {
  let mod: { default?: unknown }
  try {
    mod = (await import(config.module)) as { default?: unknown }
  } catch (error) {
    return { failure: describeImportFailure(error, config.module) }
  }
  const problem = describeDefinitionProblem(mod.default)
  if (problem !== undefined) return { failure: { message: `invalid worker module ${config.module}: ${problem}` } }
  return { definition: mod.default as WorkerDefinition }
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

/** SIGUSR1 and SIGUSR2 (the server passes them on) reach the module's `onSignal`; entry.ts already ignores them. */
function listenToSignals(definition: WorkerDefinition): void {
  const handler = definition.onSignal
  if (handler === undefined) return
  const run = (name: WorkerSignal) => {
    const fail = (error: unknown) => process.stderr.write(`forkd worker: onSignal(${name}) failed: ${(error as Error)?.stack ?? String(error)}\n`)
    try {
      const result = handler(name) as PromiseLike<unknown> | undefined
      if (typeof result?.then === 'function') result.then(undefined, fail)
    } catch (error) {
      fail(error)
    }
  }
  process.on('SIGUSR1', () => run('SIGUSR1'))
  process.on('SIGUSR2', () => run('SIGUSR2'))
}

function serve(socket: Socket, seq: number, definition: WorkerDefinition, setup: SetupState): void {
  const conn: Connection = { seq, phase: 'handshaking', session: null, retireWhenGreeted: retiredFor }
  connections.add(conn)
  if (life.state === 'spare') moveTo({ state: 'serving' })
  const codec = new Codec()
  acceptUpgrade(socket, { ...config, ...security }, {
    upgraded(ws, path, statusInterval) {
      if (path === STATUS_PATH) {
        conn.phase = 'status'
        statusQueries++
        void answerStatus(ws, codec, conn, statusInterval)
        return
      }
      conn.phase = 'session'
      conn.session = startSession(ws, definition, setup, codec, conn)
      if (conn.retireWhenGreeted !== undefined) conn.session.retire(conn.retireWhenGreeted)
    },
    gone: () => endConnection(conn, 'gone'),
  })
}

function helloFor(definition: WorkerDefinition): HelloInfo {
  return {
    v: PROTOCOL_VERSION,
    pid: process.pid,
    id: config.id,
    name: config.name,
    serverPid: config.serverPid,
    checkoutDone: definition.checkoutDone !== undefined,
    concurrency,
    maxPayload: config.maxPayload,
  }
}

function startSession(ws: WebSocket, definition: WorkerDefinition, setup: SetupState, codec: Codec, conn: Connection): WorkerSession {
  return new WorkerSession(ws, {
    definition,
    setup,
    hello: helloFor(definition),
    onEnd: (how) => endConnection(conn, how),
    onBusy,
    callScope,
  }, codec)
}

/** The server's status, asked over IPC; an `{ error }` when it is gone or does not answer within 2 s. */
function askServerStatus(): Promise<Record<string, unknown>> {
  const seq = ++statusSeq
  return new Promise((resolve) => {
    if (!process.connected) return resolve({ error: 'the server process is gone' })
    const timer = setTimeout(() => {
      statusWaiters.delete(seq)
      resolve({ error: 'the server did not answer' })
    }, 2000).unref()
    statusWaiters.set(seq, (status) => {
      clearTimeout(timer)
      resolve(status)
    })
    toServer({ type: 'status-request', seq, report: report() })
  })
}

/**
 * A status connection: one `[11, status]` and a close; with `interval` (`/forkd/status?interval=MS`,
 * what `forkd top` opens) a status every `interval` ms until the client closes, so that a live view
 * holds one worker instead of starting one per refresh.
 */
async function answerStatus(ws: WebSocket, codec: Codec, conn: Connection, interval: number | undefined): Promise<void> {
  let open = true
  ws.on('close', () => {
    open = false
    endConnection(conn, 'closed')
  })
  for (;;) {
    const status = await askServerStatus()
    if (!open) return
    const last = interval === undefined || status.error !== undefined
    ws.send(codec.encode([MessageType.Status, status]), () => {
      if (last) ws.close(CloseCode.Normal)
    })
    if (last) return
    await new Promise((resolve) => setTimeout(resolve, interval))
    if (!open) return
  }
}

function onServerMessage(message: ServerToWorker, handle: unknown, definition: WorkerDefinition, setup: SetupState): void {
  switch (message.type) {
    case 'connection':
      if ((life.state !== 'spare' && life.state !== 'serving') || handle === undefined) return
      serve(handle as Socket, message.seq, definition, setup)
      break
    case 'ping':
      toServer({ type: 'pong', seq: message.seq, busySince: oldestBusySince(), report: report() })
      break
    case 'retire':
      if (life.state === 'spare') exit(0)
      else retireProcess(message.reason as RetireReason)
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
    case 'serving':
      // A worker with connections keeps serving them, with a watchdog of its own for hung calls.
      moveTo({ state: 'orphaned' })
      // JSON carries Infinity as null: no hung-worker timeout then
      startOrphanWatchdog(config.hungWorkerTimeout ?? Infinity, oldestBusySince())
      break
  }
}

/** Last words on every connection before the process exits abnormally. */
function sayBye(info: Parameters<WorkerSession['bye']>[0]): void {
  for (const s of sessions()) s.bye(info)
}

/** Runs the worker process: loads the module, runs setup, reports ready and serves. */
export async function runWorker(): Promise<void> {
  process.title = `forkd-worker:${config.name}(${config.id})`
  process.on('uncaughtException', (error) => {
    process.stderr.write(`forkd worker: uncaught exception: ${(error as Error)?.stack ?? String(error)}\n`)
    sayBye({ reason: 'uncaught exception', exitCode: 1, error: toWireError(error, 'uncaught') })
    exit(1)
  })
  process.on('exit', (code) => sayBye({ reason: `worker exited with code ${code}`, exitCode: code }))
  // Takes the watch over from entry.ts before anything else can run, and listens before loading the
  // module: a server that dies while the module loads must not go unnoticed
  // (test/lifecycle/lifecycle-dead-server.test.ts, test/lifecycle/spares-die-with-server.test.ts).
  process.on('disconnect', onServerGone)
  if (!process.connected) return onServerGone()
  // Asked for now, answered while the module loads.
  const credentials = config.credentials ? fetchCredentials() : undefined
  credentials?.catch(() => {})
  const loaded = await loadDefinition()
  if ('failure' in loaded) {
    // The server reports the failure, once (Server.start rejects with it); only a worker whose
    // server is gone has nobody else to tell.
    if (!process.connected) process.stderr.write(`forkd worker: ${loaded.failure.message}\n`)
    // Exit only once the reason is out: the server blames the module with it.
    return toServerThen({ type: 'load-failed', ...loaded.failure }, () => exit(1))
  }
  const definition = loaded.definition
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
  listenToSignals(definition)
  const setup = runSetup(definition)
  process.on('message', (message: ServerToWorker, handle: unknown) => onServerMessage(message, handle, definition, setup))
  const [, warmUpFailed] = await Promise.all([setup.done, prewarm({ hello: helloFor(definition), maxPayload: config.maxPayload, handshakeTimeout: config.handshakeTimeout, callScope })])
  if (!process.connected) return onServerGone()
  if (setup.failed) process.stderr.write(`forkd worker: setup failed: ${(setup.error as Error)?.stack ?? String(setup.error)}\n`)
  moveTo({ state: 'spare' })
  toServer({ type: 'ready', setupFailed: setup.failed, ...(warmUpFailed === undefined ? {} : { warmUpFailed }), report: report() })
}
