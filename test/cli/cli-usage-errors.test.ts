/**
 * Mistakes on the command line: the exact lines a user reads (the message in flag names, a
 * suggestion for a typo, the command's usage line), exit status 2, and nothing started.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { fixture, tempDir } from '../support/harness.js'

const run = (args: string[], cwd?: string) => runCli(args, cwd === undefined ? {} : { cwd })
const serveUsage = "Usage: forkd serve --listen PATH [flags] WORKER_MODULE ('forkd serve --help' lists the flags)\n"
const statusUsage = "Usage: forkd status PATH [--timeout MS] ('forkd status --help' lists the flags)\n"
const commandsHint = "Run 'forkd --help' for the commands.\n"

describe('forkd usage errors', () => {
  let dir = ''
  let sock = ''
  const worker = fixture('plain-worker.mjs')
  beforeAll(() => {
    dir = tempDir()
    sock = join(dir, 's.sock')
  })
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  const serve = (...flags: string[]) => ['serve', '--listen', sock, ...flags, worker]

  it.each<[string, () => string[], string]>([
    ['a misspelt flag gets the closest one', () => serve('--max-worker', '4'), 'forkd: unknown flag --max-worker for serve (did you mean --max-workers?)\n' + serveUsage],
    ['swapped letters count as one edit', () => serve('--sapres', '1'), 'forkd: unknown flag --sapres for serve (did you mean --spares?)\n' + serveUsage],
    ['a prefix gets every flag it begins', () => serve('--log', 'json'), 'forkd: unknown flag --log for serve (did you mean --log-level or --log-format?)\n' + serveUsage],
    ['a flag nothing resembles gets no suggestion', () => serve('--frobnicate'), 'forkd: unknown flag --frobnicate for serve\n' + serveUsage],
    ['an unknown short flag', () => serve('-x'), 'forkd: unknown flag -x for serve\n' + serveUsage],
    ['a value flag at the end', () => ['serve', worker, '--listen'], 'forkd: --listen needs a value (PATH)\n' + serveUsage],
    ['a value flag followed by another flag', () => ['serve', '--listen', '--name', 'x', worker], 'forkd: --listen needs a value (PATH), got the flag --name\n' + serveUsage],
    ['a switch given a value', () => serve('--help=yes'), 'forkd: --help takes no value, got "yes"\n' + serveUsage],
    ['a single flag given twice', () => serve('--spares', '1', '--spares', '2'), 'forkd: --spares given more than once\n' + serveUsage],
    ['no --listen', () => ['serve', worker], 'forkd: serve needs --listen PATH\n' + serveUsage],
    ['no WORKER_MODULE', () => ['serve', '--listen', sock], 'forkd: serve needs a WORKER_MODULE\n' + serveUsage],
    ['two WORKER_MODULEs', () => [...serve(), 'other.mjs'], `forkd: serve needs exactly one WORKER_MODULE, got 2: ${worker} other.mjs\n` + serveUsage],
    ['a number that is not one', () => serve('--spares', 'many'), 'forkd: --spares must be a number, got "many"\n' + serveUsage],
    ['a count the server refuses, in flag terms', () => serve('--max-workers', '0'), 'forkd: --max-workers must be an integer ≥ 1, got 0\n' + serveUsage],
    ['a fractional count', () => serve('--spares', '1.5'), 'forkd: --spares must be an integer ≥ 0, got 1.5\n' + serveUsage],
    ['a timeout the server refuses, in flag terms', () => serve('--hung-worker-timeout', '-5'), 'forkd: --hung-worker-timeout must be a number of milliseconds > 0, or Infinity, got -5\n' + serveUsage],
    ['a start timeout of zero', () => serve('--start-timeout', '0'), 'forkd: --start-timeout must be a number of milliseconds > 0, or Infinity, got 0\n' + serveUsage],
    ['a payload limit of zero', () => serve('--max-payload', '0'), 'forkd: --max-payload must be an integer ≥ 1, got 0\n' + serveUsage],
    ['a payload limit that is not a size', () => serve('--max-payload', '64MB'), 'forkd: --max-payload must be a number of bytes (e.g. 1048576, 512KiB or 64MiB), got "64MB"\n' + serveUsage],
    ['a socket mode that is not octal', () => serve('--socket-mode', '888'), 'forkd: --socket-mode must be an octal file mode from 0 to 777 (e.g. 660), got "888"\n' + serveUsage],
    ['a log level that does not exist', () => serve('--log-level', 'verbose'), 'forkd: --log-level must be one of debug, info, warn, error, got "verbose"\n' + serveUsage],
    ['a misspelt log format', () => serve('--log-format', 'jsno'), 'forkd: --log-format must be one of text, json, got "jsno" (did you mean json?)\n' + serveUsage],
    ['an --import package that is not installed', () => serve('--import', 'no-such-package-forkd'), `forkd: --import no-such-package-forkd: cannot find package "no-such-package-forkd" from ${process.cwd()} (is it installed?)\n` + serveUsage],
    ['an --import file that does not exist', () => serve('--import', './no-such-preload.mjs'), `forkd: --import ./no-such-preload.mjs: no such file ${join(process.cwd(), 'no-such-preload.mjs')}\n` + serveUsage],
    ['a misspelt command', () => ['serv', '--listen', sock, worker], 'forkd: unknown command "serv" (did you mean "serve"?)\n' + commandsHint],
    ['a misspelt top-level flag', () => ['--verison'], 'forkd: unknown flag --verison (did you mean --version?)\n' + commandsHint],
    ['help for a command that does not exist', () => ['help', 'statsu'], 'forkd: unknown command "statsu" (did you mean "status"?)\n' + commandsHint],
    ['status without PATH', () => ['status'], 'forkd: status needs a PATH\n' + statusUsage],
    ['status with a bad timeout', () => ['status', '--timeout', '0', sock], 'forkd: --timeout must be a number of milliseconds > 0, got "0"\n' + statusUsage],
  ])('%s', async (_, args, stderr) => {
    const result = await run(args())
    expect(result.stderr).toBe(stderr)
    expect(result.stdout).toBe('')
    expect(result.status).toBe(2)
    expect(existsSync(sock)).toBe(false)
  })

  it('names --listen, not the API option, for a socket path over the 103-byte limit', async () => {
    const long = join(dir, 'x'.repeat(120) + '.sock')
    const result = await run(['serve', '--listen', long, worker])
    expect(result.stderr).toBe(`forkd: --listen must be a socket path shorter than 104 bytes (Unix socket path limit), got ${JSON.stringify(long)}\n` + serveUsage)
    expect(result.status).toBe(2)
  })

  it('leaves a missing --env-file to Node, which checks every --env-file argument before any script runs', async () => {
    // Node's own dotenv pre-scan (node#54232): it stops the process with exit status 9 before forkd runs.
    const missing = join(dir, 'missing.env')
    const result = await run(serve('--env-file', missing))
    expect(result.stderr).toBe(`${process.execPath}: ${missing}: not found\n`)
    expect(result.status).toBe(9)
  })

  it('leaves an --env-file that is a directory to Node as well', async () => {
    const result = await run(serve('--env-file', dir))
    expect(result.stderr).toBe(`${process.execPath}: ${dir}: invalid format\n`)
    expect(result.status).toBe(9)
    expect(existsSync(sock)).toBe(false)
  })

  it('reads a relative --env-file from the current folder', async () => {
    writeFileSync(join(dir, 'ok.env'), 'A=1\n')
    const result = await run(['serve', '--listen', sock, '--env-file', 'ok.env', '--max-workers', '0', worker], dir)
    // The file was read: the first complaint is the server's, about --max-workers.
    expect(result.stderr).toBe('forkd: --max-workers must be an integer ≥ 1, got 0\n' + serveUsage)
  })
})
