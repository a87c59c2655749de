/**
 * Runs a forkd server in its own process, so the benchmark client never shares an event loop with
 * it and its RSS can be read on its own.
 *
 *   node serve-child.js '{"listen":…,"worker":…,"spares":N,"workerExecArgv":[…],"server":{…}}'
 *   → IPC { type: 'ready', kind: 'Server.start', address }; stops on IPC { type: 'stop' };
 *     answers IPC { type: 'status-request' } with { type: 'status', status: server.status() }
 *
 * `Server` is looked up at run time and typed locally below, so the bench builds against a
 * @forkd/server whose public surface is still moving.
 */

interface ServeConfig {
  /** A socket path, or { host, port } (port 0: any free port; `address` in 'ready' says which). */
  listen: string | { host: string; port: number }
  worker: string
  spares: number
  workerExecArgv?: string[]
  /** More Server.start options (a transport's security, e.g.). */
  server?: Record<string, unknown>
}

/** The part of @forkd/server's Server this script uses (typed here so the bench builds either way). */
interface ServerLike {
  readonly address: unknown
  close(options?: { drain?: boolean }): Promise<void>
  status(): Record<string, unknown>
}
interface ServerClassLike {
  start(options: Record<string, unknown>): Promise<ServerLike>
}

const config = JSON.parse(process.argv[2] ?? '{}') as ServeConfig
const quietLogger = {
  debug() {},
  info() {},
  warn: (message: string, fields?: object) => process.stderr.write(`forkd server (bench) warn: ${message} ${fields ? JSON.stringify(fields) : ''}\n`),
  error: (message: string, fields?: object) => process.stderr.write(`forkd server (bench) error: ${message} ${fields ? JSON.stringify(fields) : ''}\n`),
}

const serverModule = (await import('@forkd/server')) as Record<string, unknown>
const Server = serverModule.Server as ServerClassLike | undefined
if (Server === undefined || typeof Server.start !== 'function') throw new Error('@forkd/server does not export Server.start: build packages/server first')
const kind = 'Server.start'
const server: ServerLike = await Server.start({
  listen: config.listen,
  worker: config.worker,
  name: 'bench',
  spares: config.spares,
  logger: quietLogger,
  ...(config.workerExecArgv?.length ? { execArgv: config.workerExecArgv } : {}),
  ...config.server,
})

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  setTimeout(() => process.exit(1), 8000).unref()
  try {
    await server.close({ drain: false })
  } finally {
    process.exit(0)
  }
}
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') void stop()
  // Asked over IPC, not through fetchStatus(): a status connection would use up a spare.
  else if (message.type === 'status-request') process.send?.({ type: 'status', status: server.status() })
})
process.on('disconnect', () => void stop())
process.on('SIGTERM', () => void stop())
process.send?.({ type: 'ready', kind, address: server.address })
