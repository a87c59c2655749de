/**
 * Every process the benchmark starts goes through here, so that all of them (and their children) are
 * stopped and their sockets removed at the end, on failure and on Ctrl-C alike.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const started = new Set<ChildProcess>()

export interface PeerSpawnOptions {
  /** taskset CPU list; undefined runs the process unpinned. */
  cpus: string | undefined
  /** Extra node flags (e.g. --cpu-prof). */
  execArgv?: string[]
  env?: NodeJS.ProcessEnv
}

/**
 * Starts `node script ...args` (under `taskset -c CPUS` when pinned) with an IPC channel. taskset
 * execs node in place, so the child's pid is node's pid and the IPC channel reaches node.
 */
export function spawnNode(script: string, args: string[], options: PeerSpawnOptions): ChildProcess {
  const nodeArgs = [...(options.execArgv ?? []), script, ...args]
  const [command, argv] = options.cpus === undefined
    ? [process.execPath, nodeArgs]
    : ['taskset', ['-c', options.cpus, process.execPath, ...nodeArgs]]
  const child = spawn(command, argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: options.env ?? process.env })
  track(child)
  return child
}

/** Keeps `child` on the list of processes stopped by `stopAll()`. */
export function track(child: ChildProcess): void {
  started.add(child)
  child.once('exit', () => started.delete(child))
}

/** Waits for an IPC message `{ type }` from `child`; rejects if it exits or `timeout` ms pass first. */
export function waitForMessage<T extends { type: string }>(child: ChildProcess, type: string, timeout = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`pid ${child.pid}: no '${type}' message within ${timeout} ms`)), timeout)
    const onMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type) done(undefined, message as T)
    }
    const onExit = (code: number | null, signal: string | null) => done(new Error(`pid ${child.pid} exited (${signal ?? code}) before sending '${type}'`))
    function done(error: Error | undefined, message?: T) {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      if (error !== undefined) reject(error)
      else resolve(message!)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once('exit', () => resolve()))
}

/**
 * Asks a peer to stop (IPC `{ type: 'stop' }`), then kills it and everything under it if it has not
 * exited within `grace` ms.
 */
export async function stopPeer(child: ChildProcess, grace = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  if (child.connected) child.send({ type: 'stop' })
  else child.kill('SIGTERM')
  const timer = setTimeout(() => killTree(child.pid!), grace)
  await exited(child)
  clearTimeout(timer)
}

/** Stops every process started through this module and everything they started. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => stopPeer(child, 3_000)))
  // Orphans of peers that died (a worker whose server was killed) are still our descendants only
  // while their parent lives, so they were collected by killTree above; anything left under us goes now.
  for (const pid of descendants(process.pid)) signal(pid, 'SIGKILL')
}

/** Kills `pid` and all its descendants (collected first: orphans are re-parented once their parent dies). */
export function killTree(pid: number): void {
  const all = [pid, ...descendants(pid)]
  for (const p of all) signal(p, 'SIGKILL')
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

function readStat(pid: string): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: rest[0]!, ppid: Number(rest[1]) }
  } catch {
    return undefined
  }
}

/** Live (non-zombie) direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(entry)
    if (stat !== undefined && stat.ppid === pid && stat.state !== 'Z') out.push(Number(entry))
  }
  return out
}

/** All live descendants of `pid`, breadth first. */
export function descendants(pid: number): number[] {
  const byParent = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = readStat(entry)
    if (stat === undefined || stat.state === 'Z') continue
    const list = byParent.get(stat.ppid) ?? []
    list.push(Number(entry))
    byParent.set(stat.ppid, list)
  }
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      out.push(child)
      queue.push(child)
    }
  }
  return out
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
  } catch {
    return ''
  }
}

function statusField(pid: number | 'self', field: string): string | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim()
  } catch {
    return undefined
  }
}

/** Resident set size of a process in bytes (VmRSS), or NaN if it is gone. */
export function vmRss(pid: number): number {
  const kb = statusField(pid, 'VmRSS')
  return kb === undefined ? NaN : Number.parseInt(kb, 10) * 1024
}

/** The CPUs a process may run on (`Cpus_allowed_list`), to state the placement actually in force. */
export function cpusAllowed(pid: number | 'self'): string {
  return statusField(pid, 'Cpus_allowed_list') ?? '?'
}

/** How many CPUs a taskset list names ('0-3,6' → 5). */
export function cpuCount(list: string): number {
  let count = 0
  for (const part of list.split(',')) {
    const [from, to] = part.split('-').map(Number)
    count += to === undefined ? 1 : to - from! + 1
  }
  return count
}

/** Pins a running process (all its threads) to `cpus`. No-op when unpinned. */
export function pinProcess(pid: number, cpus: string | undefined): void {
  if (cpus === undefined) return
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

/** Pins one thread (a Linux task id) to `cpus`. */
export function pinThread(tid: number, cpus: string): void {
  execFileSync('taskset', ['-p', '-c', cpus, String(tid)], { stdio: 'ignore' })
}

/** Task (thread) ids of this process. */
export function ownThreads(): Set<number> {
  return new Set(readdirSync('/proc/self/task').map(Number))
}

/** CPU lists seen in force per role, for the report's placement line (`role` → set of lists). */
export const observedPlacement = new Map<string, Set<string>>()

export function notePlacement(role: string, pid: number | 'self'): void {
  const set = observedPlacement.get(role) ?? new Set<string>()
  set.add(cpusAllowed(pid))
  observedPlacement.set(role, set)
}

/** A raw baseline: its peer process and the client connected to it. */
export interface PeerClient<C> {
  client: C
  peer: ChildProcess
  stop(): Promise<void>
}

/**
 * Starts the peer `script` on the socket `path` (pinned like every peer), waits for its `ready` and
 * connects `connect`'s client to it; `stop()` closes the client, then the peer.
 */
export async function startPeerClient<C extends { close(): Promise<void> }>(script: string, path: string, cpus: string | undefined, connect: (path: string) => Promise<C>): Promise<PeerClient<C>> {
  const peer = spawnNode(script, [path], { cpus })
  await waitForMessage(peer, 'ready')
  const client = await connect(path)
  return {
    client,
    peer,
    async stop() {
      await client.close()
      await stopPeer(peer)
    },
  }
}

