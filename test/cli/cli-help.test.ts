/**
 * What `forkd --help`, `forkd COMMAND --help` and `forkd --version` print: every flag of the
 * tables, the environment variable, signals and exit statuses.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { serveFlags } from '../../packages/server/dist/cli/serve.js'
import { statusFlags } from '../../packages/server/dist/cli/status.js'
import { topFlags } from '../../packages/server/dist/cli/top.js'
import { runCli } from '../support/cli.js'

const run = (...args: string[]) => runCli(args)
const version = (JSON.parse(readFileSync(new URL('../../packages/server/package.json', import.meta.url), 'utf8')) as { version: string }).version

describe('forkd --version', () => {
  it.each([['--version'], ['-v']])('%s prints the package, protocol and Node versions and exits 0', async (flag) => {
    const result = await run(flag)
    expect(result.status).toBe(0)
    expect(result.stdout).toBe(`forkd ${version} (protocol 1, Node.js ${process.version})\n`)
    expect(result.stderr).toBe('')
  })
})

describe('forkd --help', () => {
  it('lists the commands, every serve flag with its value, and FORKD_DEBUG', async () => {
    const result = await run('--help')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^Usage:\n {2}forkd serve --listen PATH \[flags\] WORKER_MODULE\n {2}forkd status PATH \[--timeout MS\]\n/)
    expect(result.stdout).toMatch(/\nCommands:\n {2}serve {3}run a server in the foreground\n {2}status {2}print the status of a running server as JSON\n/)
    for (const flag of serveFlags) expect(result.stdout).toContain(`--${flag.name}${flag.value === undefined ? '' : ` ${flag.value}`}`)
    expect(result.stdout).toContain('FORKD_DEBUG=1 logs debug records')
  })

  it('prints the overview with exit status 2 when no command is given', async () => {
    const result = await run()
    expect(result.status).toBe(2)
    expect(result.stdout).toBe((await run('--help')).stdout)
  })

  it('keeps every help line within 100 columns', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['status', '--help'], ['top', '--help']])
      for (const line of (await run(...args)).stdout.split('\n')) expect(line.length, `${args.join(' ')}: ${line}`).toBeLessThanOrEqual(100)
  })
})

describe('forkd serve --help', () => {
  it('shows every flag with its help and default, the signals, FORKD_DEBUG, the exit statuses and examples', async () => {
    const result = await run('serve', '--help')
    expect(result.status).toBe(0)
    expect(result.stderr).toBe('')
    const text = result.stdout
    expect(text).toMatch(/^Usage: forkd serve --listen PATH \[flags\] WORKER_MODULE\n/)
    // Wrapped over lines in the output: compare with whitespace collapsed.
    const flat = text.replace(/\s+/g, ' ')
    for (const flag of serveFlags) {
      expect(flat).toContain(flag.help.replace(/\s+/g, ' '))
      if (flag.default !== undefined) expect(flat).toContain(`default ${flag.default}`)
    }
    expect(text).toContain('  --socket-mode MODE ')
    expect(text).toContain('  --import MODULE ')
    expect(flat).toContain('--import tsx for workers written in TypeScript (repeatable)')
    expect(flat).toContain('Signals: SIGTERM, SIGINT drain (active workers finish, up to --drain-timeout) and exit 0; a second one exits at once')
    expect(text).toContain('  SIGHUP            reload the worker module')
    expect(text).toContain('  FORKD_DEBUG=1     log debug records (as --log-level debug)')
    expect(flat).toContain('Exit status: 0 after a drain or a takeover; 2 for a mistake on the command line or in the worker module; 1 for anything else.')
    expect(text).toContain('  forkd serve --listen /run/app/hash.sock --import tsx ./src/worker.ts\n')
  })

  it('is the same text for -h, forkd help serve, and with other flags around it', async () => {
    const help = (await run('serve', '--help')).stdout
    expect((await run('serve', '-h')).stdout).toBe(help)
    expect((await run('help', 'serve')).stdout).toBe(help)
    // --help wins over everything else, even a missing --listen and WORKER_MODULE.
    const withOthers = await run('serve', '--spares', '3', '--help')
    expect(withOthers.status).toBe(0)
    expect(withOthers.stdout).toBe(help)
  })
})

describe('forkd status --help', () => {
  it('says what status prints, its flags and its exit statuses', async () => {
    const result = await run('status', '--help')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^Usage: forkd status PATH \[--timeout MS\]\n\nPrints the status of the forkd server listening on PATH/)
    for (const flag of statusFlags) expect(result.stdout).toContain(`--${flag.name}`)
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('1 when no forkd server answers on PATH (no such socket, not a socket, nothing listening, or no answer in time)')
    expect((await run('help', 'status')).stdout).toBe(result.stdout)
  })
})

describe('forkd top --help', () => {
  it('says what top shows, how to quit, its flags and its exit statuses', async () => {
    const result = await run('top', '--help')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^Usage: forkd top PATH \[--interval MS\] \[--no-colour\]\n\nA live view of the forkd server listening on PATH/)
    for (const flag of topFlags) expect(result.stdout).toContain(`--${flag.name}`)
    const flat = result.stdout.replace(/\s+/g, ' ')
    expect(flat).toContain('until you press q (or Ctrl-C)')
    expect(flat).toContain('When stdout is not a terminal it prints one plain table')
    expect(flat).toContain('Exit status: 0 after q, or after the table when not on a terminal; 1 when no forkd server answers on PATH')
    expect((await run('help', 'top')).stdout).toBe(result.stdout)
    expect((await run('--help')).stdout).toContain("\n  top     a live view of a running server's workers (q quits)\n")
  })
})
