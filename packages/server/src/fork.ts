/**
 * `Server.fork`: a server in a child process tied to its parent (AnyEvent::Task's
 * fork_task_server). The child exits when the parent exits, including when the parent is killed with
 * SIGKILL: the IPC channel then closes and the child closes its server.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ServerClosedError, SocketPathError, WorkerModuleError } from './errors.js'
import type { TcpEndpoint } from '@forkd/protocol'
import { normalizeServerOptions, type ServerOptions } from './options.js'

const serverEntry = fileURLToPath(new URL('./server-entry.js', import.meta.url))

/** Options of a forked server: those that can cross a process boundary (no logger). */
export type ForkServerOptions = Omit<ServerOptions, 'logger' | 'worker'> & {
  /** The worker module: an absolute path or a `file:` URL. Required. */
  worker: string | URL
}

/** Parent → forked server. */
export type ToForkedServer = { type: 'start'; options: Omit<ForkServerOptions, 'worker'> & { worker: string } }
/** Forked server → parent. */
export type FromForkedServer =
  | { type: 'ready'; address: string | TcpEndpoint }
  | { type: 'failed'; error: { name: string; message: string; code?: string; path?: string } }

/** A server running in a child process, from `Server.fork`. */
export interface ForkedServer {
  /** Pid of the server process. */
  readonly pid: number
  /** Resolves once the server listens; rejects as `Server.start` would, or if the child died. */
  readonly ready: Promise<{
    /** The socket path or TCP address the server listens on. */
    address: string | TcpEndpoint
  }>
  /** Closes the server (draining up to its drainTimeout) and resolves when its process has exited. */
  close(): Promise<void>
  /** The child process running the server. */
  readonly process: ChildProcess
}

function rebuildError(error: { name: string; message: string; code?: string; path?: string }, workerPath: string): Error {
  switch (error.code) {
    case 'FORKD_ERR_WORKER_MODULE':
      return new WorkerModuleError(workerPath, error.message)
    case 'FORKD_ERR_SOCKET_PATH':
      return new SocketPathError(error.path ?? '', error.message)
    case 'FORKD_ERR_SERVER_CLOSED':
      return new ServerClosedError(error.message)
  }
  const rebuilt = error.name === 'TypeError' ? new TypeError(error.message) : new Error(error.message)
  if (error.code !== undefined) Object.assign(rebuilt, { code: error.code })
  return rebuilt
}

/** TLS Buffers as text: the IPC channel carries JSON, in which a Buffer would arrive as an object. */
function pemAsText(tls: NonNullable<ServerOptions['tls']>): NonNullable<ServerOptions['tls']> {
  const text = (s: string | Buffer) => (Buffer.isBuffer(s) ? s.toString('utf8') : s)
  const ca = tls.ca === undefined ? undefined : Array.isArray(tls.ca) ? tls.ca.map(text) : text(tls.ca as string | Buffer)
  return { ...tls, key: text(tls.key), cert: text(tls.cert), ...(ca === undefined ? {} : { ca }) }
}

/**
 * Starts a server in a child node process. Options are validated here first (a TypeError is thrown
 * synchronously); the child logs to the inherited stderr.
 *
 * The child does not keep this process alive once it is ready: when this process has nothing else
 * to do it exits, and the server follows.
 *
 * @example
 * ```ts
 * const server = Server.fork({ listen: sockPath, worker: new URL('./worker.js', import.meta.url) })
 * await server.ready
 * ```
 */
export function forkServer(options: ForkServerOptions): ForkedServer {
  if (typeof options === 'object' && options !== null && 'logger' in options && options.logger !== undefined)
    throw new TypeError('forkd Server.fork: option "logger" must be absent: a logger cannot cross to the server process, which logs to stderr')
  const normalized = normalizeServerOptions(options as ServerOptions)
  const worker = options.worker instanceof URL ? options.worker.href : options.worker
  const child = fork(serverEntry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.on('error', () => {
    // a failed spawn also shows as 'exit'; ready rejects there
  })
  const message: ToForkedServer = { type: 'start', options: { ...options, worker, ...(options.tls === undefined ? {} : { tls: pemAsText(options.tls) }) } }
  child.send(message)

  const ready = new Promise<{ address: string | TcpEndpoint }>((resolve, reject) => {
    child.on('message', (m: FromForkedServer) => {
      if (m.type === 'ready') resolve({ address: m.address })
      else if (m.type === 'failed') reject(rebuildError(m.error, normalized.workerPath))
    })
    child.once('exit', (code, signal) =>
      reject(new ServerClosedError(`the forked server process exited (${signal ?? `code ${code}`}) before it was ready`)))
  })
  // The caller may never look at `ready`; a failure is then not worth an unhandled rejection.
  ready.catch(() => {})
  void ready.then(
    () => {
      child.unref()
      ;(child.channel as { unref?: () => void } | undefined)?.unref?.()
    },
    () => {},
  )

  return {
    pid: child.pid ?? 0,
    ready,
    process: child,
    close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.ref()
        // Closing the channel is the same path as the parent dying: the server closes and exits.
        if (child.connected) child.disconnect()
      }
      return exited
    },
  }
}
