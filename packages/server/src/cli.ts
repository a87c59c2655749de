#!/usr/bin/env node
/**
 * The `forkd` command: `forkd serve` runs a server in the foreground, `forkd status` prints a running
 * server's status as JSON.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { SocketPathError, WorkerModuleError } from './errors.js'
import { fetchStatus } from './fetch-status.js'
import type { ServerOptions } from './options.js'
import { Server } from './server.js'
import { handleSignals } from './signals.js'

const usage = `Usage:
  forkd serve --listen PATH [options] WORKER_MODULE
  forkd status PATH
  forkd --help

serve: runs a forkd server in the foreground.
  --listen PATH               Unix socket path (or HOST:PORT for TCP). Required.
  --name NAME                 process titles forkd-server:NAME and forkd-worker:NAME(N)
  --spares K                  worker processes kept ready (default 2)
  --hung-worker-timeout MS    kill a worker busy on one call for longer (default 300000)
  --max-workers N             most worker processes, spares included (default 128)
  --max-pending-connections N connections waiting for a worker at --max-workers; past it
                              they get HTTP 503 (default 1024)
  --handshake-timeout MS      time a new connection gets to finish the WebSocket upgrade (default 5000)
  --drain-timeout MS          on SIGTERM/SIGINT, time active workers get to finish (default 30000)
  WORKER_MODULE is resolved against the current directory.
  Signals: SIGTERM/SIGINT drain and exit 0 (a second one exits at once); SIGHUP reloads the
  worker module (fresh spares; active workers retire after their checkout). A newer server started
  on the same path takes it over: this one drains and exits 0.

status: prints the status of the server listening on PATH as JSON.
`

class UsageError extends Error {}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = value === 'Infinity' ? Infinity : Number(value)
  if (value.trim() === '' || Number.isNaN(n)) throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(value)}`)
  return n
}

function listenTarget(value: string): ServerOptions['listen'] {
  const tcp = /^([^/]*):(\d+)$/.exec(value)
  return tcp ? { host: tcp[1] || '127.0.0.1', port: Number(tcp[2]) } : resolve(value)
}

async function serve(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      listen: { type: 'string' },
      name: { type: 'string' },
      spares: { type: 'string' },
      'hung-worker-timeout': { type: 'string' },
      'max-workers': { type: 'string' },
      'max-pending-connections': { type: 'string' },
      'handshake-timeout': { type: 'string' },
      'drain-timeout': { type: 'string' },
    },
  })
  if (values.listen === undefined) throw new UsageError('serve needs --listen PATH')
  if (positionals.length !== 1) throw new UsageError(`serve needs exactly one WORKER_MODULE, got ${positionals.length}`)
  const options: ServerOptions = { listen: listenTarget(values.listen), worker: resolve(positionals[0]!) }
  if (values.name !== undefined) options.name = values.name
  const spares = number('spares', values.spares)
  if (spares !== undefined) options.spares = spares
  const hung = number('hung-worker-timeout', values['hung-worker-timeout'])
  if (hung !== undefined) options.hungWorkerTimeout = hung
  const maxWorkers = number('max-workers', values['max-workers'])
  if (maxWorkers !== undefined) options.maxWorkers = maxWorkers
  const maxPending = number('max-pending-connections', values['max-pending-connections'])
  if (maxPending !== undefined) options.maxPendingConnections = maxPending
  const handshake = number('handshake-timeout', values['handshake-timeout'])
  if (handshake !== undefined) options.handshakeTimeout = handshake
  const drain = number('drain-timeout', values['drain-timeout'])
  if (drain !== undefined) options.drainTimeout = drain

  process.title = options.name ? `forkd-server:${options.name}` : 'forkd-server'
  const server = await Server.start(options)
  handleSignals(server, (code) => process.exit(code))
  // Closed by a signal or by a takeover: either way the work is done.
  await server.closed
  process.exit(0)
}

async function status(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} })
  if (positionals.length !== 1) throw new UsageError('status needs exactly one PATH')
  const target = listenTarget(positionals[0]!)
  process.stdout.write(JSON.stringify(await fetchStatus(target), null, 2) + '\n')
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage)
    if (command === undefined) process.exitCode = 2
    return
  }
  if (command === 'serve') return serve(rest)
  if (command === 'status') return status(rest)
  throw new UsageError(`unknown command ${JSON.stringify(command)}`)
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const e = error as Error & { code?: string }
  // Mistakes the user can fix (flags, module, path) get one line and exit 2; anything else exit 1.
  const userError = error instanceof UsageError || error instanceof TypeError || error instanceof WorkerModuleError ||
    error instanceof SocketPathError || e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ||
    e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
  process.stderr.write(`forkd: ${e.message.replace(/\s*\n\s*/g, " ")}\n${error instanceof UsageError ? "Run 'forkd --help' for usage.\n" : ''}`)
  process.exit(userError ? 2 : 1)
})
