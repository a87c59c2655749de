/**
 * `forkd top` against a real server: a plain table off a terminal, and the live view in a real
 * terminal (tmux: start it, read the screen, press q).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { cliPath, runCli } from '../support/cli.js'
import { startEnv, waitFor, type TestEnv } from '../support/harness.js'

interface Echo {
  sleep(ms: number): Promise<number>
  pid(): number
}

const hasTmux = spawnSync('tmux', ['-V']).status === 0

let env: TestEnv | undefined
afterEach(async () => {
  await env?.cleanup()
  env = undefined
}, 60_000)

/** A checkout whose worker runs `sleep` until cleanup kills it; resolves with the worker's pid. */
async function busyWorker(e: TestEnv): Promise<number> {
  const c = await e.client<Echo>().checkout()
  const pid = await c.pid()
  e.pids.add(pid)
  void c.sleep(600_000).catch(() => undefined)
  return pid
}

describe('forkd top off a terminal', { timeout: 120_000 }, () => {
  it('prints one plain table with the busy worker, its method and the totals, and exits 0', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 1, name: 'toptest' })
    const pid = await busyWorker(env)
    const result = await runCli(['top', env.path, '--interval', '300'], { timeout: 60_000 })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    const lines = result.stdout.split('\n')
    expect(lines[0]).toMatch(new RegExp(`^forkd-server:toptest pid ${process.pid}  ${env.path}  listening  up `))
    expect(lines[3]).toBe('')
    expect(lines[4]).toMatch(/^ID +PID +STATE +AGE +RSS +CALLS +CALLS\/S +RUNNING +METHOD$/)
    // The busy worker comes first, with its method; no colour codes off a terminal.
    expect(lines[5]).toMatch(new RegExp(`^ *\\d+ +${pid} +active .* sleep$`))
    expect(result.stdout).not.toContain('\x1b[')
    expect(result.stdout).toMatch(/\n *\d+ +\d+ +status /)
  })

  it('says why when nothing answers on PATH', async () => {
    const result = await runCli(['top', join('/tmp', `fd-none-${process.pid}.sock`)])
    expect(result.stderr).toBe(`forkd: no such socket: /tmp/fd-none-${process.pid}.sock\n`)
    expect(result.status).toBe(1)
  })

  it('refuses a bad interval as a usage error', async () => {
    const result = await runCli(['top', '/tmp/x.sock', '--interval', '50'])
    expect(result.stderr).toBe(`forkd: --interval must be an integer from 100 to 3600000 ms, got "50"\nUsage: forkd top PATH [--interval MS] [--no-colour] ('forkd top --help' lists the flags)\n`)
    expect(result.status).toBe(2)
  })
})

describe.skipIf(!hasTmux)('forkd top in a terminal (tmux)', { timeout: 120_000 }, () => {
  const tmuxSocket = `fd-top-${process.pid}`
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', tmuxSocket, ...args], { encoding: 'utf8' })
  const screen = () => tmux('capture-pane', '-p', '-t', 'top')
  const alive = () => spawnSync('tmux', ['-L', tmuxSocket, 'has-session', '-t', 'top']).status === 0
  afterEach(() => {
    spawnSync('tmux', ['-L', tmuxSocket, 'kill-server'])
  })

  it('shows a busy worker\'s method within two refreshes, and quits on q', async () => {
    env = await startEnv('echo-worker.mjs', { spares: 2 })
    const command = `${process.execPath} ${cliPath} top ${env.path} --interval 1000; echo "exit=$?"; sleep 60`
    tmux('new-session', '-d', '-s', 'top', '-x', '120', '-y', '30', command)
    await waitFor(() => /^ *ID +PID +STATE/m.test(screen()), 'the first screen of forkd top', 60_000)
    expect(screen()).toContain('q quits')
    // Refreshes are counted by the uptime in the first line, which changes with each one.
    const uptime = (text: string) => /\bup (\S+)/.exec(text)?.[1]
    const pid = await busyWorker(env)
    const before = uptime(screen())
    const refreshes = new Set<string>()
    const row = await waitFor(() => {
      const text = screen()
      const up = uptime(text)
      if (up !== undefined && up !== before) refreshes.add(up)
      return text.split('\n').find((l) => new RegExp(`^ *\\d+ +${pid} +active .* sleep *$`).test(l))
    }, 'the busy worker\'s row with its method', 60_000)
    // The call was sent when the screen read as `before`; it shows within two refreshes of that.
    expect(refreshes.size).toBeGreaterThanOrEqual(1)
    expect(refreshes.size).toBeLessThanOrEqual(2)
    expect(row).toMatch(/\d+(\.\d)?(ms|s) +sleep/)
    tmux('send-keys', '-t', 'top', 'q')
    // Back on the normal screen, where the shell prints the exit status.
    await waitFor(() => screen().includes('exit=0'), 'forkd top to quit with exit status 0', 30_000)
    expect(screen()).not.toContain('q quits')
    expect(alive()).toBe(true)
  })
})
