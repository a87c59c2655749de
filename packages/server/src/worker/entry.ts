/**
 * Entry point of a worker process, started by the server with a WorkerBootConfig in argv[2].
 *
 * Life: load the module → run setup → tell the server `ready` → (spare) wait for a socket over
 * IPC → WebSocket upgrade → serve that one connection → exit when it closes.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { Codec, CloseCode, MessageType, PROTOCOL_VERSION, STATUS_PATH, SUBPROTOCOL, WORKER_PATH, toWireError } from '@forkd/protocol'
import { WebSocketServer, type WebSocket } from 'ws'
import { describeDefinitionProblem, type WorkerDefinition } from '../define-worker.js'
import type { ServerToWorker, WorkerBootConfig, WorkerToServer } from '../ipc.js'
import { startOrphanWatchdog } from './orphan-watchdog.js'
import { prewarm } from './prewarm.js'
import { WorkerSession, type SetupState } from './session.js'

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerBootConfig
process.title = `forkd-worker:${config.name}(${config.id})`

const toServer = (message: WorkerToServer) => {
  if (process.connected) process.send!(message)
}

let session: WorkerSession | undefined
let socketTaken = false
/** A retire notice that arrived while the client was still in its handshake: sent after the hello. */
let retireWhenGreeted: string | undefined
let statusSeq = 0
const statusWaiters = new Map<number, (status: Record<string, unknown>) => void>()

function exit(code: number): never {
  process.exit(code)
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
  const codec = new Codec()
  const http = createServer((_req, res) => {
    res.writeHead(426, { 'X-Forkd-Error': 'a forkd worker speaks WebSocket only' }).end()
  })
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  })
  let upgraded = false
  const deadline = setTimeout(() => {
    process.stderr.write(`forkd worker: no forkd handshake within ${config.handshakeTimeout} ms, closing\n`)
    socket.destroy()
    exit(0)
  }, config.handshakeTimeout)

  http.on('upgrade', (req: IncomingMessage, upgradeSocket: Socket, head: Buffer) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    const path = (req.url ?? '').split('?')[0]
    const refuse = (status: string, why: string) => {
      upgradeSocket.end(`HTTP/1.1 ${status}\r\nX-Forkd-Error: ${why}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(why)}\r\n\r\n${why}`)
      setTimeout(() => exit(0), 100).unref()
    }
    if (path !== WORKER_PATH && path !== STATUS_PATH) return refuse('404 Not Found', `no such forkd endpoint: ${path}`)
    if (!offered.split(',').map((s) => s.trim()).includes(SUBPROTOCOL))
      return refuse('426 Upgrade Required', `protocol version mismatch: this worker speaks ${SUBPROTOCOL}, the client offered ${offered || 'nothing'}`)
    wss.handleUpgrade(req, upgradeSocket, head, (ws) => {
      upgraded = true
      clearTimeout(deadline)
      if (path === STATUS_PATH) void answerStatus(ws, codec)
      else startSession(ws, definition, setup, codec)
    })
  })
  // A peer that hangs up before the upgrade (or whose upgrade ws rejected with a 400) has left this
  // worker nothing to serve: exit now rather than hold a maxWorkers slot until the deadline
  // (test/server/handshake-timeout.test.ts, test/server/connection-flood.test.ts). After the upgrade the session
  // owns the socket and ends the process itself.
  socket.once('close', () => {
    if (!upgraded) exit(0)
  })
  http.emit('connection', socket)
}

function startSession(ws: WebSocket, definition: WorkerDefinition, setup: SetupState, codec: Codec): void {
  session = new WorkerSession(ws, {
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
    onEnd: () => exit(0),
  }, codec)
  if (retireWhenGreeted !== undefined) session.retire(retireWhenGreeted)
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
  ws.on('close', () => exit(0))
}

function onServerMessage(message: ServerToWorker, handle: unknown, definition: WorkerDefinition, setup: SetupState): void {
  switch (message.type) {
    case 'connection':
      if (socketTaken || handle === undefined) return
      socketTaken = true
      serve(handle as Socket, definition, setup)
      break
    case 'ping':
      toServer({ type: 'pong', seq: message.seq, busySince: session?.busySince ?? null })
      break
    case 'retire':
      if (session !== undefined) session.retire(message.reason)
      else if (socketTaken) retireWhenGreeted ??= message.reason
      else exit(0)
      break
    case 'status':
      statusWaiters.get(message.seq)?.(message.status)
      statusWaiters.delete(message.seq)
      break
  }
}

process.on('uncaughtException', (error) => {
  process.stderr.write(`forkd worker: uncaught exception: ${(error as Error)?.stack ?? String(error)}\n`)
  session?.bye({ reason: 'uncaught exception', exitCode: 1, error: toWireError(error, 'throw') })
  exit(1)
})
process.on('exit', (code) => {
  session?.bye({ reason: `worker exited with code ${code}`, exitCode: code })
})

async function main(): Promise<void> {
  // A worker with no connection whose server died has nobody to serve: exit. A worker with a
  // connection keeps serving it. Listen before loading the module: a server that dies while its
  // module loads would otherwise go unnoticed, and a module holding a handle (a timer, a database
  // pool) would keep the process alive forever (test/lifecycle/lifecycle-dead-server.test.ts).
  process.on('disconnect', () => {
    if (!socketTaken) exit(0)
    // JSON carries Infinity as null: no hung-worker timeout then
    startOrphanWatchdog(config.hungWorkerTimeout ?? Infinity, session?.busySince ?? null)
  })
  let definition: WorkerDefinition
  try {
    definition = await loadDefinition()
  } catch (error) {
    toServer({ type: 'load-failed', message: (error as Error).message })
    process.stderr.write(`forkd worker: ${(error as Error).message}\n`)
    exit(1)
  }
  const setup = runSetup(definition)
  process.on('message', (message: ServerToWorker, handle: unknown) => onServerMessage(message, handle, definition, setup))
  await Promise.all([setup.done, prewarm(new Codec())])
  if (setup.failed) process.stderr.write(`forkd worker: setup failed: ${(setup.error as Error)?.stack ?? String(setup.error)}\n`)
  toServer({ type: 'ready', setupFailed: setup.failed })
}

void main()
