/** `forkd serve`: runs a server in the foreground until a signal or a takeover ends it. */
import { resolve } from 'node:path'
import { WorkerModuleError } from '../errors.js'
import { createStderrLogger, type LogFormat, type LogLevel } from '../logger.js'
import type { ListenTarget, ServerOptions } from '../options.js'
import { Server } from '../server.js'
import { handleSignals } from '../signals.js'
import { workerEnv } from './env-file.js'
import { bytesValue, choiceValue, numberValue, octalModeValue, parseFlags, type Flag } from './flags.js'
import { formatFlags } from './help.js'
import { inFlagTerms } from './option-errors.js'
import { checkImports } from './preflight.js'
import type { SecurityRule } from '../listen-security.js'
import { listenFdFromEnvironment } from './socket-activation.js'
import { readTokenFile } from './token-file.js'
import { UsageError } from './usage-error.js'

/** What the flags of `forkd serve` collect. */
export interface ServeConfig {
  options: Partial<ServerOptions> & { execArgv: string[] }
  /** `--listen systemd`: the socket comes from LISTEN_FDS. */
  socketActivation: boolean
  /** `--tls-*`: paths, collected into `options.tls` once all flags are read. */
  tls: { key?: string; cert?: string; ca: string[]; requestCert: boolean }
  /** `--auth-token-file`, read at start and on SIGHUP. */
  tokenFile?: string
  imports: string[]
  envFiles: string[]
  logLevel?: LogLevel
  logFormat: LogFormat
  help: boolean
}

const levels = ['debug', 'info', 'warn', 'error'] as const
const formats = ['text', 'json'] as const

/** `PATH` → an absolute socket path; `HOST:PORT`, `:PORT` (127.0.0.1) or `[::1]:PORT` → TCP. */
export function listenTarget(value: string): string | { host: string; port: number } {
  const tcp = /^(?:\[([^\]]*)\]|([^/[\]]*)):(\d+)$/.exec(value)
  if (tcp === null) return resolve(value)
  return { host: tcp[1] ?? (tcp[2] || '127.0.0.1'), port: Number(tcp[3]) }
}

/** A flag that sets one numeric server option. */
function numeric(name: string, option: keyof ServerOptions, value: string, help: string, defaultText: string, group: string): Flag<ServeConfig> {
  return {
    name, value, option, help, default: defaultText, group,
    apply: (c, v) => void ((c.options as Record<string, unknown>)[option] = numberValue(name, v as string)),
  }
}

/**
 * The flags of `forkd serve`, one row each. Later flags (TLS, tokens, socket activation,
 * concurrency, metrics) are rows here too; `option` ties a row to the Server option it sets, so
 * that option errors name the flag.
 */
export const serveFlags: readonly Flag<ServeConfig>[] = [
  { name: 'listen', value: 'PATH', option: 'listen', group: 'Where',
    help: 'Unix socket path; HOST:PORT for TCP (loopback by default: :PORT is 127.0.0.1:PORT), which needs --auth-token-file or --tls-request-cert (or --insecure); or systemd: the socket passed by socket activation (LISTEN_FDS). Required.',
    apply: (c, v) => {
      if (v === 'systemd') c.socketActivation = true
      else c.options.listen = listenTarget(v as string)
    } },
  { name: 'socket-mode', value: 'MODE', option: 'socketMode', group: 'Where', default: '600: only the server\'s user may connect',
    help: 'permissions of the socket file, in octal (660 lets the group connect)',
    apply: (c, v) => void (c.options.socketMode = octalModeValue('socket-mode', v as string)) },
  { name: 'tls-key', value: 'PATH', option: 'tls.key', group: 'Security', help: 'TLS on a TCP listener: the server\'s private key (PEM); with --tls-cert',
    apply: (c, v) => void (c.tls.key = resolve(v as string)) },
  { name: 'tls-cert', value: 'PATH', option: 'tls.cert', group: 'Security', help: 'the server\'s certificate chain (PEM)',
    apply: (c, v) => void (c.tls.cert = resolve(v as string)) },
  { name: 'tls-ca', value: 'PATH', option: 'tls.ca', group: 'Security', repeatable: true, help: 'a CA certificate (PEM) that signs client certificates, for --tls-request-cert',
    apply: (c, v) => void c.tls.ca.push(resolve(v as string)) },
  { name: 'tls-request-cert', option: 'tls.requestCert', group: 'Security',
    help: 'mutual TLS: refuse clients without a certificate signed by --tls-ca',
    apply: (c) => void (c.tls.requestCert = true) },
  { name: 'auth-token-file', value: 'PATH', option: 'auth.tokens', group: 'Security',
    help: 'accept only clients sending one of these bearer tokens (one per line, # comments); read again on SIGHUP, so tokens rotate without a restart',
    apply: (c, v) => void (c.tokenFile = resolve(v as string)) },
  { name: 'insecure', option: 'insecure', group: 'Security',
    help: 'allow TCP with no authentication, or tokens in clear text on a non-loopback address: anyone who reaches the port can run worker code (a warning is logged)',
    apply: (c) => void (c.options.insecure = true) },
  { name: 'name', value: 'NAME', option: 'name', group: 'Workers', help: 'process titles forkd-server:NAME and forkd-worker:NAME(N); shown in clients\' errors',
    apply: (c, v) => void (c.options.name = v as string) },
  numeric('spares', 'spares', 'K', 'worker processes kept started and set up, ready for new connections', '2', 'Workers'),
  numeric('max-workers', 'maxWorkers', 'N', 'most worker processes, spares included', '128', 'Workers'),
  numeric('concurrency', 'concurrency', 'N', 'connections one worker process serves at once (for workers that mostly await I/O); each stays an exclusive checkout', '1', 'Workers'),
  numeric('hung-worker-timeout', 'hungWorkerTimeout', 'MS', 'kill a worker busy on one call for longer; Infinity for never', '300000', 'Workers'),
  numeric('start-timeout', 'startTimeout', 'MS', 'kill a worker not ready (module loaded, setup done) this long after it started; Infinity for never', '60000', 'Workers'),
  { name: 'import', value: 'MODULE', group: 'Workers', repeatable: true,
    help: 'preload MODULE in every worker (node --import MODULE), e.g. --import tsx for workers written in TypeScript',
    apply: (c, v) => {
      c.imports.push(v as string)
      c.options.execArgv.push('--import', v as string)
    } },
  { name: 'exec-argv', value: 'ARG', option: 'execArgv', group: 'Workers', repeatable: true,
    help: 'one Node.js flag for every worker, e.g. --exec-argv=--max-old-space-size=512',
    apply: (c, v) => void c.options.execArgv.push(v as string) },
  { name: 'env-file', value: 'PATH', option: 'env', group: 'Workers', repeatable: true,
    help: 'worker environment: the variables of this dotenv file over the server\'s environment (later files win; the server\'s own environment is unchanged)',
    apply: (c, v) => void c.envFiles.push(v as string) },
  numeric('max-pending-connections', 'maxPendingConnections', 'N', 'connections waiting for a worker at --max-workers; past it they get HTTP 503', '1024', 'Limits'),
  numeric('handshake-timeout', 'handshakeTimeout', 'MS', 'time a new connection gets to finish the WebSocket upgrade', '5000', 'Limits'),
  numeric('drain-timeout', 'drainTimeout', 'MS', 'on SIGTERM/SIGINT, time active workers get to finish; Infinity to wait for them', '30000', 'Limits'),
  { name: 'max-payload', value: 'BYTES', option: 'maxPayload', group: 'Limits', default: '64MiB',
    help: 'largest WebSocket frame a worker accepts (a call\'s arguments, in CBOR); suffixes KiB, MiB, GiB',
    apply: (c, v) => void (c.options.maxPayload = bytesValue('max-payload', v as string)) },
  { name: 'metrics', value: 'HOST:PORT', option: 'metrics', group: 'Logging', default: 'none',
    help: 'serve the status as Prometheus text on GET http://HOST:PORT/metrics (plain HTTP, no authentication: loopback addresses only; :PORT is 127.0.0.1:PORT)',
    apply: (c, v) => {
      const target = listenTarget(v as string)
      if (typeof target === 'string') throw new UsageError(`--metrics must be HOST:PORT or :PORT, got ${JSON.stringify(v)}`, 'serve')
      c.options.metrics = target
    } },
  { name: 'log-level', value: 'LEVEL', group: 'Logging', default: 'info, or debug when FORKD_DEBUG is set',
    help: 'debug, info, warn or error: records below it are dropped (worker stdout is info, stderr warn)',
    apply: (c, v) => void (c.logLevel = choiceValue('log-level', v as string, levels)) },
  { name: 'log-format', value: 'FORMAT', group: 'Logging', default: 'text',
    help: 'text (TITLE LEVEL: message {fields}) or json (one object per line: time, level, msg, pid, name and the fields)',
    apply: (c, v) => void (c.logFormat = choiceValue('log-format', v as string, formats)) },
  { name: 'help', short: 'h', group: 'Other', help: 'show this help', apply: (c) => void (c.help = true) },
]

/** The one-line synopsis shown under usage errors. */
export const serveSynopsis = 'forkd serve --listen PATH [flags] WORKER_MODULE'

/** `forkd serve --help`. */
export function serveHelp(): string {
  return `Usage: ${serveSynopsis}

Runs a forkd server in the foreground: every connection to PATH gets its own worker process running
WORKER_MODULE (a file that default-exports defineWorker(...); resolved against the current folder).

${formatFlags(serveFlags)}Signals:
  SIGTERM, SIGINT   drain (active workers finish, up to --drain-timeout) and exit 0; a second
                    one exits at once
  SIGHUP            reload the worker module: fresh spares; active workers retire after their
                    checkout. --auth-token-file and the --tls-* files are read again for the
                    new workers (a file that cannot be read: the reload is refused and logged)
  SIGUSR1, SIGUSR2  passed on to every worker (a module's onSignal handles them; without one
                    the worker ignores them)
  Workers run in a process group of their own: Ctrl-C (SIGINT to the terminal's foreground
  group) reaches the server alone, which drains.
  A newer server started on the same PATH takes it over: this one drains and exits 0.

Environment:
  FORKD_DEBUG=1     log debug records (as --log-level debug); 0, false or empty leave it off
  LISTEN_FDS, LISTEN_PID   read by --listen systemd, then removed (workers do not see them)
  Workers inherit the server's environment (plus --env-file variables).

Exit status: 0 after a drain or a takeover; 2 for a mistake on the command line or in the worker
module; 1 for anything else.

Examples:
  forkd serve --listen /run/app/hash.sock --spares 4 ./dist/worker.js
  forkd serve --listen /run/app/hash.sock --import tsx ./src/worker.ts
  forkd serve --listen /run/app/hash.sock --metrics :9464 ./dist/worker.js
  forkd serve --listen 127.0.0.1:7400 --auth-token-file ./tokens --log-format json ./dist/worker.js
  forkd serve --listen /run/app/hash.sock --env-file ./worker.env ./dist/worker.js
  forkd serve --listen 0.0.0.0:7400 --tls-key k.pem --tls-cert c.pem --auth-token-file tokens w.js
  forkd serve --listen systemd --name hash /srv/app/dist/worker.js      (started by forkd.socket)
`
}

/** Parses the command line of `forkd serve` into Server options; UsageError for any mistake. */
export function serveOptions(args: string[]): { config: ServeConfig; options: ServerOptions } {
  const config: ServeConfig = {
    options: { execArgv: [] }, socketActivation: false, tls: { ca: [], requestCert: false }, imports: [], envFiles: [], logFormat: 'text', help: false,
  }
  const positionals = parseFlags(args, serveFlags, config, 'serve')
  if (config.help) return { config, options: config.options as ServerOptions }
  // Before --env-file copies the environment: workers must not inherit LISTEN_FDS.
  if (config.socketActivation) config.options.listen = { fd: listenFdFromEnvironment() }
  if (config.options.listen === undefined) throw new UsageError('serve needs --listen PATH', 'serve')
  const { tls } = config
  if (tls.key !== undefined || tls.cert !== undefined || tls.ca.length > 0 || tls.requestCert)
    config.options.tls = { key: tls.key as string, cert: tls.cert as string, ...(tls.ca.length > 0 ? { ca: tls.ca } : {}), requestCert: tls.requestCert }
  if (config.tokenFile !== undefined) config.options.auth = { tokens: tokenFileOrUsage(config.tokenFile) }
  if (positionals.length !== 1)
    throw new UsageError(positionals.length === 0 ? 'serve needs a WORKER_MODULE' : `serve needs exactly one WORKER_MODULE, got ${positionals.length}: ${positionals.join(' ')}`, 'serve')
  const options = { ...config.options, worker: resolve(positionals[0]!) } as ServerOptions
  if (config.envFiles.length > 0) options.env = workerEnv(config.envFiles)
  checkImports(config.imports)
  const name = options.name ?? ''
  const title = name ? `forkd-server:${name}` : 'forkd-server'
  options.logger = createStderrLogger(`${title}[${process.pid}]`, {
    ...(config.logLevel === undefined ? {} : { level: config.logLevel }),
    format: config.logFormat,
    name: title,
  })
  return { config, options }
}

/** The listener security rules (listen-security.ts) said in the flags' terms, not the options'. */
function securityInFlagTerms(error: unknown, listen: ServerOptions['listen']): string | undefined {
  const rule = (error as { securityRule?: SecurityRule } | undefined)?.securityRule
  if (rule === undefined || typeof listen !== 'object' || !('host' in listen)) return undefined
  const where = `TCP ${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`
  if (rule === 'noAuthentication')
    return `refusing to listen on ${where} with no authentication: anyone who reaches the port could run worker code. ` +
      'Add --auth-token-file PATH (bearer tokens), or --tls-request-cert with --tls-ca (mutual TLS); or --insecure to allow it anyway'
  if (rule === 'clearTextTokens')
    return `refusing bearer tokens in clear text on ${where}, which is not a loopback address: add --tls-key and --tls-cert; or --insecure to allow it anyway`
  return undefined
}

function tokenFileOrUsage(path: string): string[] {
  try {
    return readTokenFile(path)
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(error.message, 'serve')
    throw error
  }
}

/**
 * SIGHUP: reload, with the tokens of --auth-token-file read again (the --tls-* files are read
 * again by the server itself). A file that cannot be read refuses the whole reload, logged: the
 * server keeps serving with what it had.
 */
function reloader(server: Server, config: ServeConfig, log: NonNullable<ServerOptions['logger']>): () => void {
  return () => {
    try {
      server.reload(config.tokenFile === undefined ? {} : { auth: { tokens: readTokenFile(config.tokenFile) } })
    } catch (error) {
      log.error(`reload refused, nothing changed: ${(error as Error).message}`)
    }
  }
}

/** A `.ts` worker module and no flag that could teach Node TypeScript. */
function typeScriptWithoutLoader(options: ServerOptions): boolean {
  const worker = String(options.worker)
  return /\.[cm]?ts$/.test(worker) && !(options.execArgv ?? []).some((a) => /^--(import|loader|experimental-loader|require|experimental-strip-types|experimental-transform-types)\b|^-r$/.test(a))
}

/** Runs `forkd serve`; resolves never (the process exits when the server is done). */
export async function serve(args: string[]): Promise<void> {
  const { config, options } = serveOptions(args)
  if (config.help) {
    process.stdout.write(serveHelp())
    return
  }
  process.title = options.name ? `forkd-server:${options.name}` : 'forkd-server'
  let server: Server
  try {
    server = await Server.start(options)
  } catch (error) {
    const message = securityInFlagTerms(error, options.listen) ?? inFlagTerms(error, serveFlags, { worker: 'WORKER_MODULE', tls: '--tls-key and --tls-cert' })
    if (message !== undefined) throw new UsageError(message, 'serve')
    if (error instanceof WorkerModuleError && typeScriptWithoutLoader(options)) {
      throw new WorkerModuleError(error.module, `${error.message} (a worker written in TypeScript needs a loader: add --import tsx)`, { cause: error })
    }
    throw error
  }
  handleSignals(server, (code) => process.exit(code), reloader(server, config, options.logger!))
  // Closed by a signal or by a takeover: either way the work is done.
  await server.closed
  process.exit(0)
}
