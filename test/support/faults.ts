/**
 * Helpers for fault-injection tests: process trees read from /proc, signals that tolerate a process
 * that is already gone, the client's open file descriptors, the heap after a full GC, and a seeded
 * generator so a failing schedule can be replayed.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { isAlive, procStat } from './harness.js'

/** Live (non-zombie) children of `parent`, read from /proc. */
export function childrenOf(parent: number): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57 || !/^\d+$/.test(entry)) continue
    const stat = procStat(entry)
    if (stat !== undefined && stat.ppid === parent && stat.state !== 'Z') pids.push(Number(entry))
  }
  return pids
}

/** Live descendants of `root` (children, grandchildren, ...), from one /proc scan. */
export function descendantsOf(root: number): number[] {
  const byParent = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57 || !/^\d+$/.test(entry)) continue
    const stat = procStat(entry)
    if (stat === undefined || stat.state === 'Z') continue
    const list = byParent.get(stat.ppid) ?? []
    list.push(Number(entry))
    byParent.set(stat.ppid, list)
  }
  const out: number[] = []
  const walk = (pid: number) => {
    for (const child of byParent.get(pid) ?? []) {
      out.push(child)
      walk(child)
    }
  }
  walk(root)
  return out
}

/**
 * Blocks this process (no event loop turns) until `parent` has a child, polling /proc as fast as it
 * can, and returns that child's pid; undefined after `timeout` ms or once `parent` is gone. For
 * killing a server within a millisecond or two of its first fork.
 */
export function firstChildSync(parent: number, timeout = 20_000): number | undefined {
  const deadline = Date.now() + timeout
  while (Date.now() < deadline) {
    if (!isAlive(parent)) return undefined
    const [child] = childrenOf(parent)
    if (child !== undefined) return child
  }
  return undefined
}

/** Sends `signal` to `pid`; false if the process is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false
    throw error
  }
}

/** SIGCONT then SIGKILL every live pid (a stopped process must be continued to die promptly on some systems). */
export function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (!isAlive(pid)) continue
    signal(pid, 'SIGCONT')
    signal(pid, 'SIGKILL')
  }
}

/** The state letter of a process ('S', 'R', 'T' for stopped, 'Z'), or undefined once it is gone. */
export function processState(pid: number): string | undefined {
  return procStat(pid)?.state
}

/** Whether a process's command line starts with `prefix` (`forkd-worker`, `forkd-server`). */
export function hasTitle(pid: number, prefix: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(prefix)
  } catch {
    return false
  }
}

/** Open file descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

/** Descriptions of this process's open file descriptors (`socket:[123]`, `pipe:[45]`, paths), for a failure message. */
export function describeFds(): string[] {
  const out: string[] = []
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(`${fd} -> ${readlinkSync(`/proc/self/fd/${fd}`)}`)
    } catch {
      out.push(fd)
    }
  }
  return out
}

let gcFunction: (() => void) | undefined

/** A full garbage collection, with or without --expose-gc. */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc
    if (exposed !== undefined) gcFunction = exposed
    else {
      setFlagsFromString('--expose-gc')
      gcFunction = runInNewContext('gc') as () => void
    }
  }
  gcFunction()
}

/** Heap in use after full collections, bytes; waits a few turns so finalizers and timers can run. */
export async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    collectGarbage()
    await new Promise((r) => setImmediate(r))
    await new Promise((r) => setTimeout(r, 10))
  }
  collectGarbage()
  return process.memoryUsage().heapUsed
}

/** A small seeded generator (mulberry32): the same seed gives the same schedule. */
export function prng(seed: number): { next(): number; int(max: number): number; pick<T>(items: readonly T[]): T; between(min: number, max: number): number } {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (max) => Math.floor(next() * max),
    pick: (items) => items[Math.floor(next() * items.length)]!,
    between: (min, max) => min + next() * (max - min),
  }
}

/**
 * Remembers every process ever seen below some roots (servers a test started), polling /proc, so that
 * a test can prove afterwards that none is left, including spares started while a server was being
 * killed, which are reparented to init as soon as their server dies.
 */
export class ProcessTracker {
  readonly roots = new Set<number>()
  readonly seen = new Set<number>()
  /** The parent each pid had when first seen. */
  readonly parentOf = new Map<number, number>()
  #timer: NodeJS.Timeout | undefined

  constructor(readonly interval = 25) {}

  /** Starts watching below `pid` (and records it). */
  add(pid: number): void {
    this.roots.add(pid)
    this.seen.add(pid)
    this.scan()
  }

  /** Records every live descendant of every root now. */
  scan(): void {
    for (const root of this.roots) {
      if (!isAlive(root)) continue
      for (const pid of descendantsOf(root)) {
        if (this.seen.has(pid)) continue
        this.seen.add(pid)
        const ppid = procStat(pid)?.ppid
        if (ppid !== undefined) this.parentOf.set(pid, ppid)
      }
    }
  }

  start(): void {
    this.#timer ??= setInterval(() => this.scan(), this.interval)
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Pids seen at some point that are still alive. */
  alive(): number[] {
    return [...this.seen].filter(isAlive).sort((a, b) => a - b)
  }
}

/**
 * Collects every unhandled rejection and uncaught exception from now on, so a long fault run can
 * assert at its end that there were none; `cleanups` gets the step that stops collecting.
 */
export function collectUnhandled(cleanups: (() => void | Promise<void>)[]): string[] {
  const unhandled: string[] = []
  const onUnhandled = (reason: unknown) => void unhandled.push(`unhandledRejection: ${String((reason as Error)?.stack ?? reason)}`)
  const onUncaught = (error: Error) => void unhandled.push(`uncaughtException: ${error.stack ?? error.message}`)
  process.on('unhandledRejection', onUnhandled)
  process.on('uncaughtException', onUncaught)
  cleanups.push(() => {
    process.off('unhandledRejection', onUnhandled)
    process.off('uncaughtException', onUncaught)
  })
  return unhandled
}
