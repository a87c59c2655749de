/**
 * Runs `forkd serve` (the built CLI) in a child process, the way a deployment does, and follows its
 * stderr so a test knows when it listens and can read what it logged.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killAll, ProcessTracker } from './faults.js'
import { fixture, isAlive, tempDir, waitFor } from './harness.js'

export const cliPath = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url))

export interface ServeProcess {
  child: ChildProcess
  pid: number
  /** Resolves with the exit code (or the signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Everything written to stderr so far (the server's log). */
  stderr(): string
  /** Resolves once the server logged that it listens (it has then taken over the path). */
  listening(timeout?: number): Promise<void>
  /** SIGKILL if still running; for cleanup. */
  kill(): void
}

/** `detached`: the server leads a process group of its own, as a shell's foreground job does (Ctrl-C tests). */
export function serveCli(path: string, worker: string, options: { env?: NodeJS.ProcessEnv; args?: string[]; detached?: boolean } = {}): ServeProcess {
  const child = spawn(process.execPath, [cliPath, 'serve', '--listen', path, ...(options.args ?? []), worker.startsWith('/') ? worker : fixture(worker)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
    detached: options.detached === true,
  })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  let done = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true
      resolve({ code, signal })
    }))
  return {
    child,
    pid: child.pid!,
    exited,
    stderr: () => stderr,
    listening: (timeout = 20_000) =>
      waitFor(() => {
        if (done) throw new Error(`forkd serve exited before listening: ${stderr}`)
        return / info: listening on /.test(stderr)
      }, `forkd serve ${child.pid} to listen`, timeout).then(() => undefined),
    kill: () => {
      if (!done) child.kill('SIGKILL')
    },
  }
}

/**
 * Live processes whose environment holds `FORKD_TEST_RUN=<tag>`: a server started with
 * `serveCli(..., { env: { FORKD_TEST_RUN: tag } })` and every worker it starts (workers inherit the
 * server's environment), wherever they were reparented to. Other test runs on the machine have
 * other tags.
 */
export function processesTagged(tag: string): number[] {
  const needle = Buffer.from(`\0FORKD_TEST_RUN=${tag}\0`)
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    if (!isAlive(Number(entry))) continue
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${entry}/environ`)])
      if (environ.includes(needle)) pids.push(Number(entry))
    } catch {
      // gone, or not ours to read
    }
  }
  return pids.sort((a, b) => a - b)
}

/** SIGKILLs every process tagged `tag` (a cleanup step); one that exits meanwhile is no error. */
export function killTagged(tag: string): void {
  killAll(processesTagged(tag))
}

/** A tag for processesTagged(), unique to this test process and call. */
export function uniqueTag(): string {
  return `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`
}

/**
 * What a long fault run of `forkd serve` processes starts from: a socket path in a temporary
 * folder, a tag for every process it starts, and a tracker (polling every 50 ms, started) of the
 * processes below the servers it adds. `cleanups` gets the steps that stop the tracker, SIGKILL
 * every tagged process and remove the folder.
 */
export function faultRunScene(cleanups: (() => void | Promise<void>)[]): { path: string; tag: string; tracker: ProcessTracker } {
  const dir = tempDir()
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const tag = uniqueTag()
  cleanups.push(() => killTagged(tag))
  const tracker = new ProcessTracker(50)
  tracker.start()
  cleanups.push(() => tracker.stop())
  return { path: join(dir, 's.sock'), tag, tracker }
}


/** What a finished `forkd` command printed, and how it ended. */
export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the built `forkd` command to its end. Asynchronous on purpose: a synchronous spawn blocks the
 * test worker, and on a loaded machine vitest's own messages to it then time out.
 */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
      timeout: options.timeout ?? 20_000,
      killSignal: 'SIGKILL',
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    })
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.once('error', reject)
    child.once('close', (status) => resolve({ status, stdout, stderr }))
  })
}
