/**
 * What `forkd --help`, `forkd COMMAND --help` and `forkd --version` print: every flag of the
 * tables, the environment variable, signals and exit statuses.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { serveFlags } from '../../packages/server/dist/cli/serve.js'
import { statusFlags } from '../../packages/server/dist/cli/status.js'
import { cliPath } from '../support/cli.js'

const run = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', timeout: 20_000 })
const version = (JSON.parse(readFileSync(new URL('../../packages/server/package.json', import.meta.url), 'utf8')) as { version: string }).version

describe('forkd --version', () => {
  it.each([['--version'], ['-v']])('%s prints the package, protocol and Node versions and exits 0', (flag) => {
    const result = run(flag)
    expect(result.status).toBe(0)
    expect(result.stdout).toBe(`forkd ${version} (protocol 1, Node.js ${process.version})\n`)
    expect(result.stderr).toBe('')
  })
})

describe('forkd --help', () => {
  it('lists the commands, every serve flag with its value, and FORKD_DEBUG', () => {
    const result = run('--help')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^Usage:\n {2}forkd serve --listen PATH \[flags\] WORKER_MODULE\n {2}forkd status PATH \[--timeout MS\]\n/)
    expect(result.stdout).toMatch(/\nCommands:\n {2}serve {3}run a server in the foreground\n {2}status {2}print the status of a running server as JSON\n/)
    for (const flag of serveFlags) expect(result.stdout).toContain(`--${flag.name}${flag.value === undefined ? '' : ` ${flag.value}`}`)
    expect(result.stdout).toContain('FORKD_DEBUG=1 logs debug records')
  })

  it('prints the overview with exit status 2 when no command is given', () => {
    const result = run()
    expect(result.status).toBe(2)
    expect(result.stdout).toBe(run('--help').stdout)
  })

  it('keeps every help line within 100 columns', () => {
    for (const args of [['--help'], ['serve', '--help'], ['status', '--help']])
      for (const line of run(...args).stdout.split('\n')) expect(line.length, `${args.join(' ')}: ${line}`).toBeLessThanOrEqual(100)
  })
})

describe('forkd serve --help', () => {
  it('shows every flag with its help and default, the signals, FORKD_DEBUG, the exit statuses and examples', () => {
    const result = run('serve', '--help')
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

  it('is the same text for -h, forkd help serve, and with other flags around it', () => {
    const help = run('serve', '--help').stdout
    expect(run('serve', '-h').stdout).toBe(help)
    expect(run('help', 'serve').stdout).toBe(help)
    // --help wins over everything else, even a missing --listen and WORKER_MODULE.
    const withOthers = run('serve', '--spares', '3', '--help')
    expect(withOthers.status).toBe(0)
    expect(withOthers.stdout).toBe(help)
  })
})

describe('forkd status --help', () => {
  it('says what status prints, its flags and its exit statuses', () => {
    const result = run('status', '--help')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^Usage: forkd status PATH \[--timeout MS\]\n\nPrints the status of the forkd server listening on PATH/)
    for (const flag of statusFlags) expect(result.stdout).toContain(`--${flag.name}`)
    expect(result.stdout.replace(/\s+/g, ' ')).toContain('1 when no forkd server answers on PATH (no such socket, not a socket, nothing listening, or no answer in time)')
    expect(run('help', 'status').stdout).toBe(result.stdout)
  })
})
