/**
 * Test harness: real servers on temporary Unix sockets, and checks that no process outlives a test.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Server } from '@forkd/server'
import { Client, type Checkout, type ClientOptions } from '@forkd/client'

/** Absolute path of a file in test/fixtures. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
}

/** A short temporary folder (socket paths must stay under 108 bytes). */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'fd-'))
}

/** A process's state letter and parent pid, from /proc/PID/stat; undefined once it is gone. */
export function procStat(pid: number | string): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name in parentheses may hold spaces: fields start after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: fields[0]!, ppid: Number(fields[1]) }
  } catch {
    return undefined
  }
}

/**
 * Whether a process still runs. A zombie counts as gone: in some containers PID 1 never reaps
 * orphans, so an exited process whose parent died stays a zombie forever.
 */
export function isAlive(pid: number): boolean {
  const stat = procStat(pid)
  return stat !== undefined && stat.state !== 'Z'
}

/** Polls until `check` returns a truthy value; throws with `what` after `timeout` ms. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeout = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Calls `sleep(ms)` of echo-worker.mjs or version-worker.mjs on `c`. `started` resolves once the
 * worker has begun the call (the fixture's 'sleeping' event), so a test can act on a call that is
 * certainly running, however slow the machine; it rejects if the call settles without the event.
 * `running` is the call itself.
 */
export function startSleep(c: Checkout, ms: number): { running: Promise<unknown>; started: Promise<void> } {
  let began!: () => void
  const event = new Promise<void>((r) => (began = r))
  const running: Promise<unknown> = c.with({ onEvent: (name) => name === 'sleeping' && began() }).sleep(ms)
  const ended = running.then(() => 'ended' as const, () => 'ended' as const)
  const started = Promise.race([event, ended]).then((how) => {
    if (how === 'ended') throw new Error(`sleep(${ms}) settled before the worker said it began`)
  })
  return { running, started }
}

/** Waits until every pid has exited. */
export async function waitForExit(pids: Iterable<number>, timeout = 10_000): Promise<void> {
  const list = [...pids]
  await waitFor(() => list.every((pid) => !isAlive(pid)), `processes ${list.filter(isAlive).join(', ')} to exit`, timeout)
}

type ServerStartOptions = Parameters<typeof Server.start>[0]

export interface TestEnv {
  dir: string
  path: string
  server: Server
  clients: Client[]
  /** A client connected to this env's server, closed by `cleanup()`. */
  client<W = unknown>(options?: Omit<ClientOptions<W>, 'connect'>): Client<W>
  /** Closes clients and the server, waits for every worker pid seen to exit, removes the folder. */
  cleanup(): Promise<void>
  /** Pids of worker processes this test saw (add to it from checkouts). */
  pids: Set<number>
}

/** Starts a server for `worker` (a fixture name or absolute path) on a fresh socket path. */
export async function startEnv(worker: string, options: Partial<ServerStartOptions> = {}): Promise<TestEnv> {
  const dir = tempDir()
  const path = join(dir, 's.sock')
  const server = await Server.start({
    listen: path,
    worker: worker.startsWith('/') ? worker : fixture(worker),
    logger: quietLogger,
    ...options,
  } as ServerStartOptions)
  const env: TestEnv = {
    dir,
    path,
    server,
    clients: [],
    pids: new Set(),
    client<W>(clientOptions: Omit<ClientOptions<W>, 'connect'> = {}) {
      const client = new Client<W>({ connect: path, ...clientOptions })
      env.clients.push(client as Client)
      return client
    },
    async cleanup() {
      await Promise.all(env.clients.map((c) => c.close()))
      await server.close({ drain: false })
      await waitForExit(env.pids)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return env
}

/** Collects server log records instead of printing them. */
export const serverLog: { level: string; message: string; fields?: object }[] = []
export const quietLogger = {
  debug: (message: string, fields?: object) => void serverLog.push({ level: 'debug', message, fields }),
  info: (message: string, fields?: object) => void serverLog.push({ level: 'info', message, fields }),
  warn: (message: string, fields?: object) => void serverLog.push({ level: 'warn', message, fields }),
  error: (message: string, fields?: object) => void serverLog.push({ level: 'error', message, fields }),
}

/** Pids of live child processes of this process whose title starts with `forkd-worker`. */
export function workerChildren(parent = process.pid): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(entry)
    if (stat === undefined || stat.ppid !== parent || stat.state === 'Z') continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith('forkd-worker')) pids.push(Number(entry))
    } catch {
      // the process exited while we looked
    }
  }
  return pids
}

/** Settles every promise and tells what each became: a value, or the error's class name and message. */
export async function outcomes(promises: Promise<unknown>[]): Promise<string[]> {
  const settled = await Promise.allSettled(promises)
  return settled.map((s) => (s.status === 'fulfilled' ? `ok ${JSON.stringify(s.value)}` : `${(s.reason as Error).constructor.name}: ${(s.reason as Error).message}`))
}

/** Starts a server in a child process (so a test can kill it); resolves once it listens. */
export async function startServerProcess(path: string, worker: string, hungWorkerTimeout?: number): Promise<import('node:child_process').ChildProcess> {
  const { fork } = await import('node:child_process')
  const args = [path, worker.startsWith('/') ? worker : fixture(worker), ...(hungWorkerTimeout === undefined ? [] : [String(hungWorkerTimeout)])]
  const child = fork(fixture('serve.mjs'), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`server process exited with code ${code} before listening`)))
  })
  return child
}

/**
 * Waits until the client has `count` idle workers, so a test that checks a short timeout measures
 * its call, not the start-up of worker processes on a busy machine.
 */
export async function warm(client: Client, count = 1): Promise<void> {
  await waitFor(() => client.stats().idle >= count, `${count} idle workers`)
}
