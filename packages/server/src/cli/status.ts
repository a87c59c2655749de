/** `forkd status`: prints a running server's status as JSON; says plainly why when it cannot. */
import { statSync, type Stats } from 'node:fs'
import { resolve } from 'node:path'
import { fetchStatus, type FetchStatusOptions } from '../fetch-status.js'
import { parseFlags, type Flag } from './flags.js'
import { formatFlags } from './help.js'
import { listenTarget } from './serve.js'
import { readTokenFile } from './token-file.js'
import { UsageError } from './usage-error.js'

/** `forkd status` could not get an answer; exit status 1 (the server is not there, or not reachable). */
export class StatusError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StatusError'
  }
}

interface StatusConfig {
  help: boolean
  timeout: number
  /** Any --tls* flag: connect with TLS. */
  tls: boolean
  tlsFiles: { ca?: string; cert?: string; key?: string; servername?: string }
  tokenFile?: string
}

/** The flags of `forkd status`, one row each. */
export const statusFlags: readonly Flag<StatusConfig>[] = [
  { name: 'timeout', value: 'MS', group: 'Flags', default: '5000', help: 'how long to wait for the answer',
    apply: (c, v) => {
      const n = Number(v)
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout must be a number of milliseconds > 0, got ${JSON.stringify(v)}`)
      c.timeout = n
    } },
  { name: 'tls', group: 'Security', help: 'connect with TLS, trusting the system\'s CAs (implied by the other --tls flags)', apply: (c) => void (c.tls = true) },
  { name: 'tls-ca', value: 'PATH', group: 'Security', help: 'the CA certificate (PEM) that signed the server\'s certificate',
    apply: (c, v) => void ((c.tls = true), (c.tlsFiles.ca = resolve(v as string))) },
  { name: 'tls-cert', value: 'PATH', group: 'Security', help: 'a client certificate (PEM), for a server with --tls-request-cert; with --tls-key',
    apply: (c, v) => void ((c.tls = true), (c.tlsFiles.cert = resolve(v as string))) },
  { name: 'tls-key', value: 'PATH', group: 'Security', help: 'the client certificate\'s private key (PEM)',
    apply: (c, v) => void ((c.tls = true), (c.tlsFiles.key = resolve(v as string))) },
  { name: 'tls-servername', value: 'NAME', group: 'Security', help: 'the name the server\'s certificate must carry, when it is not the HOST given (e.g. a service name while checking 127.0.0.1)',
    apply: (c, v) => void ((c.tls = true), (c.tlsFiles.servername = v as string)) },
  { name: 'auth-token-file', value: 'PATH', group: 'Security', help: 'send the first token of this file (the server\'s own --auth-token-file will do)',
    apply: (c, v) => void (c.tokenFile = resolve(v as string)) },
  { name: 'help', short: 'h', group: 'Other', help: 'show this help', apply: (c) => void (c.help = true) },
]

/** The one-line synopsis shown under usage errors. */
export const statusSynopsis = 'forkd status PATH [--timeout MS]'

/** `forkd status --help`. */
export function statusHelp(): string {
  return `Usage: ${statusSynopsis}

Prints the status of the forkd server listening on PATH (a Unix socket path, or HOST:PORT) as JSON:
its pid, name, state, version, active workers, spares and counters. The status connection is served
by a spare worker, like any connection, and is checked like one: a server with tokens needs
--auth-token-file, a server with TLS needs --tls (or --tls-ca), one with mutual TLS --tls-cert and
--tls-key too.

${formatFlags(statusFlags)}Exit status: 0 with the status on stdout; 1 when no forkd server answers on PATH (no such socket,
not a socket, nothing listening, or no answer in time) or it refuses the credentials; 2 for a
mistake on the command line.

Examples:
  forkd status /run/app/hash.sock
  forkd status 127.0.0.1:7400 --auth-token-file /etc/forkd/tokens
  forkd status 127.0.0.1:7400 --tls-ca ca.crt --tls-servername forkd.app --auth-token-file tokens
`
}

/** What kind of file `stats` describes, for a message. */
function kindOf(stats: Stats): string {
  if (stats.isFile()) return 'a regular file'
  if (stats.isDirectory()) return 'a directory'
  if (stats.isFIFO()) return 'a named pipe'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  return 'not a socket'
}

/** Why a socket path cannot be a forkd server, before connecting: missing, or some other kind of file. */
/**
 * The one PATH (a socket path, or HOST:PORT) that `forkd status` and `forkd top` take; a socket path
 * is checked to be a socket first, so a wrong path says so instead of timing out.
 */
export function serverTarget(positionals: readonly string[], command: string): string | { host: string; port: number } {
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? `${command} needs a PATH` : `${command} needs exactly one PATH, got ${positionals.length}`, command)
  const target = listenTarget(positionals[0]!)
  if (typeof target === 'string') checkSocketPath(target)
  return target
}

export function checkSocketPath(path: string): void {
  let stats: Stats
  try {
    stats = statSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new StatusError(`no such socket: ${path}`)
    if (code === 'ENOTDIR') throw new StatusError(`no such socket: ${path} (a folder on the way is a file)`)
    if (code === 'EACCES') throw new StatusError(`cannot reach ${path}: permission denied`)
    throw error
  }
  if (!stats.isSocket()) throw new StatusError(`${path} is ${kindOf(stats)}, not a forkd socket`)
}

/** Runs `forkd status`. */
export async function status(args: string[]): Promise<void> {
  const config: StatusConfig = { help: false, timeout: 5_000, tls: false, tlsFiles: {} }
  const positionals = parseFlags(args, statusFlags, config, 'status')
  if (config.help) {
    process.stdout.write(statusHelp())
    return
  }
  const target = serverTarget(positionals, 'status')
  if (typeof target === 'string' && config.tls) throw new UsageError('--tls and the --tls-* flags are for HOST:PORT: a Unix socket never uses TLS', 'status')
  const where = typeof target === 'string' ? target : `${target.host}:${target.port}`
  const options: FetchStatusOptions = { timeout: config.timeout }
  if (config.tls) options.tls = config.tlsFiles
  if (config.tokenFile !== undefined) {
    try {
      options.token = readTokenFile(config.tokenFile)[0]!
    } catch (error) {
      throw error instanceof UsageError ? new UsageError(error.message, 'status') : error
    }
  }
  let answer: Record<string, unknown>
  try {
    answer = await fetchStatus(target, options)
  } catch (error) {
    const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code
    if (code === 'ECONNREFUSED')
      throw new StatusError(typeof target === 'string'
        ? `nothing is listening on ${where} (connection refused: a socket left behind by a server that is gone?)`
        : `nothing is listening on ${where} (connection refused)`, { cause: error })
    throw new StatusError((error as Error).message, { cause: error })
  }
  process.stdout.write(JSON.stringify(answer, null, 2) + '\n')
}
