/**
 * Issue 12: forkd's own fault-injection suite. A steady load of concurrent checkouts runs against a
 * real `forkd serve` (a separate process, so it can be SIGKILLed and restarted on the same path)
 * while an injector picks faults at random: SIGKILL of a worker in the middle of a call, SIGSTOP of
 * a worker past the checkout's timeout (then SIGCONT), SIGKILL of the server and a restart after a
 * random delay, a takeover by a new server, `abort()` in the middle of a call, a call past its
 * timeout, `process.exit()` in a call, an uncaught exception from a timer in the worker.
 *
 * Every fault is asked of one loop, which knows what it asked for and checks that its checkout
 * settles with the error that fault calls for; faults of the server itself must cost no call at all
 * (workers outlive their server; checkouts wait for the next one within their timeout).
 *
 * Asserted: every promise settles; every rejection is of the expected class (none unexpected); no
 * unhandled rejection or uncaught exception here; after close no forkd process is left (servers,
 * workers, spares started while a server was being killed); this process's open file descriptors
 * are back to their starting count; its heap after GC does not grow from the first half of the run
 * to the second. The figures are printed as a table.
 *
 * Seeded: the seed is printed; FORKD_CHAOS_SEED=N replays the same schedule of faults and delays
 * (the timing of processes still differs from run to run).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { AbortedError, CancelledError, Client, TimeoutError, WorkerDiedError, type Checkout } from '@forkd/client'
import { fixture, isAlive, procStat, waitFor } from '../support/harness.js'
import { cliPath, faultRunScene, processesTagged } from '../support/cli.js'
import { describeFds, heapAfterGc, killAll, openFds, prng, signal, collectUnhandled } from '../support/faults.js'

/** Timeout of every checkout but the 'timeout' fault's: well above a server's restart on a loaded machine. */
const checkoutTimeout = 20_000
/** A worker is stopped for longer than that, so the call on it times out first. */
const stopFor = checkoutTimeout + 1_000
/** The 'timeout' fault: a checkout with this timeout calls a method that takes much longer. */
const shortTimeout = 400
/**
 * Longest one loop iteration may take to settle, whatever happened (a wait for a worker and a call,
 * each up to the timeout, and a margin); past it the promise counts as hung.
 */
const settleDeadline = 3 * checkoutTimeout
const loopCount = 16
const phaseMs = 20_000

type LoopFault = 'abort' | 'timeout' | 'exit' | 'throw' | 'kill-worker' | 'stop-worker'
type ServerFault = 'kill-server' | 'takeover'
type Kind = 'ok' | LoopFault

/** Relative weights of the faults the injector picks. */
const faultWeights: [LoopFault | ServerFault, number][] = [
  ['kill-worker', 2], ['stop-worker', 1], ['kill-server', 1], ['takeover', 1],
  ['abort', 2], ['timeout', 2], ['exit', 2], ['throw', 2],
]

interface Request {
  kind: LoopFault
  /** For external faults: done by the loop's checkout once its worker is busy, with that worker's pid. */
  inject?: (pid: number) => void
}

interface ServeProcess {
  child: ChildProcess
  pid: number
  startedAt: number
  listening: Promise<number>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  done: boolean
  tail(): string
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Settles `p`, or gives up waiting after `ms`. */
async function settle(p: Promise<unknown>, ms: number): Promise<{ ok: true } | { ok: false; error: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), ms)))
  try {
    return await Promise.race([p.then(() => ({ ok: true as const }), (error: unknown) => ({ ok: false as const, error })), deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Whether `error` is what fault `kind` calls for. */
function expected(kind: Kind, error: unknown): boolean {
  switch (kind) {
    case 'ok':
      return false
    case 'abort':
      return (error instanceof AbortedError && error.message === 'chaos abort') ||
        (error instanceof CancelledError && error.cause instanceof AbortedError)
    case 'timeout':
    case 'stop-worker':
      return error instanceof TimeoutError
    case 'exit':
      return error instanceof WorkerDiedError && error.exitCode === 7
    case 'throw':
      return error instanceof WorkerDiedError && /uncaught exception/.test(error.message)
    case 'kill-worker':
      return error instanceof WorkerDiedError
  }
}

function readTitle(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '?'
  } catch {
    return '?'
  }
}

/** Open sockets of a process (for telling a leaked spare from a worker that still has a connection). */
function socketCount(pid: number): number | string {
  try {
    return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')
      } catch {
        return false
      }
    }).length
  } catch {
    return '?'
  }
}

const className = (error: unknown) => (error instanceof Error ? error.constructor.name : typeof error)

describe('chaos: steady checkout load under injected faults', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('settles every checkout with the error its fault calls for, and leaves no process, descriptor or heap behind', async () => {
    const seed = process.env.FORKD_CHAOS_SEED ? Number(process.env.FORKD_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31)
    console.log(`chaos seed ${seed} (replay: FORKD_CHAOS_SEED=${seed})`)
    const random = prng(seed)

    const unhandled = collectUnhandled(cleanups)

    const fdsAtStart = openFds()
    const fdListAtStart = describeFds()
    const { path, tag, tracker } = faultRunScene(cleanups)

    // ---- servers: `forkd serve` processes on one path; only the last bytes of their logs are kept
    const servers: ServeProcess[] = []
    const startServer = (): ServeProcess => {
      const startedAt = Date.now()
      const child = spawn(process.execPath, [cliPath, 'serve', '--listen', path, '--spares', '2', fixture('fault-worker.mjs')], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, FORKD_TEST_RUN: tag },
      })
      let tail = ''
      let listened: ((at: number) => void) | undefined
      const listening = new Promise<number>((resolve) => (listened = resolve))
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        tail = (tail + d).slice(-4096)
        if (listened !== undefined && / info: listening on /.test(tail)) {
          listened(Date.now())
          listened = undefined
        }
      })
      const server: ServeProcess = {
        child,
        pid: child.pid!,
        startedAt,
        listening,
        done: false,
        exited: new Promise((resolve) => child.once('exit', (code, sig) => {
          server.done = true
          resolve({ code, signal: sig })
        })),
        tail: () => tail,
      }
      tracker.add(server.pid)
      servers.push(server)
      return server
    }
    cleanups.push(() => {
      for (const s of servers) if (!s.done) s.child.kill('SIGKILL')
    })
    let current = startServer()
    await current.listening

    const client = new Client({ connect: path, minWorkers: 4, maxWorkers: 8, timeout: checkoutTimeout })
    cleanups.push(() => client.close())
    // A second client, with no idle workers, measures how soon a new connection is served after a
    // server fault: the time a caller that needs a new worker waits.
    const probe = new Client({ connect: path, minWorkers: 0, maxWorkers: 1, timeout: settleDeadline })
    cleanups.push(() => probe.close())

    // ---- bookkeeping: counters only, so the heap reflects forkd, not this test
    const outcomes = new Map<string, Map<string, number>>()
    const count = (kind: string, what: string) => {
      const row = outcomes.get(kind) ?? new Map<string, number>()
      row.set(what, (row.get(what) ?? 0) + 1)
      outcomes.set(kind, row)
    }
    const unexpected: string[] = []
    let unexpectedCount = 0
    let hung = 0
    let calls = 0
    let checkouts = 0
    const injected = new Map<string, number>()
    const recovery: { kind: ServerFault; listening: number; served: number; delay: number }[] = []
    /** Stopped workers and the timers that will continue them. */
    const stopped = new Map<number, NodeJS.Timeout>()
    let serverFaultInProgress: ServerFault | undefined

    // ---- the load
    const requests: (Request | undefined)[] = new Array(loopCount).fill(undefined)
    let running = false

    async function iteration(loop: number, n: number, kind: Kind, request: Request | undefined, rnd: ReturnType<typeof prng>): Promise<void> {
      const c: Checkout = await client.checkout({ timeout: kind === 'timeout' ? shortTimeout : checkoutTimeout })
      checkouts++
      try {
        switch (kind) {
          case 'ok': {
            if ((await c.echo(n)) !== n) throw new Error(`loop ${loop}: echo ${n} came back wrong`)
            if ((await c.sleep(rnd.int(15))) === undefined) throw new Error('sleep returned nothing')
            if ((await c.pid()) !== c.worker.pid) throw new Error(`loop ${loop}: pid came back wrong`)
            calls += 3
            return
          }
          case 'abort': {
            const running = c.sleep(2_000)
            await sleep(1 + rnd.int(50))
            c.abort('chaos abort')
            await running
            return
          }
          case 'timeout':
            await c.sleep(5_000)
            return
          case 'exit':
            await c.exit(7)
            return
          case 'throw':
            await c.throwLater('chaos throw')
            return
          case 'kill-worker': {
            const running = c.sleep(3_000)
            await sleep(20)
            request!.inject!(c.worker.pid)
            await running
            return
          }
          case 'stop-worker': {
            // The worker has answered; stopped now, it cannot answer the next call.
            await c.pid()
            request!.inject!(c.worker.pid)
            await c.echo('after the stop')
            return
          }
        }
      } finally {
        c.release()
      }
    }

    async function loop(index: number): Promise<void> {
      const rnd = prng(seed + 1000 + index)
      for (let n = 0; running; n++) {
        const request = requests[index]
        requests[index] = undefined
        const kind: Kind = request?.kind ?? 'ok'
        if (request !== undefined) injected.set(kind, (injected.get(kind) ?? 0) + 1)
        const during = serverFaultInProgress
        const outcome = await settle(iteration(index, n, kind, request, rnd), settleDeadline)
        if (outcome === 'hung') {
          hung++
          count(kind, 'hung')
          continue
        }
        if (outcome.ok) {
          count(kind, 'ok')
          if (kind !== 'ok') {
            unexpectedCount++
            if (unexpected.length < 20) unexpected.push(`${kind}: resolved, but the fault calls for an error`)
          }
          continue
        }
        const error = outcome.error
        count(kind, className(error))
        if (!expected(kind, error)) {
          unexpectedCount++
          const where = during ?? serverFaultInProgress
          if (unexpected.length < 20) unexpected.push(`${kind}${where ? ` (during ${where})` : ''}: ${className(error)}: ${(error as Error)?.message ?? String(error)}`)
        }
      }
    }

    // ---- the injector
    const pickFault = (): LoopFault | ServerFault => {
      const total = faultWeights.reduce((sum, [, w]) => sum + w, 0)
      let r = random.next() * total
      for (const [fault, w] of faultWeights) if ((r -= w) < 0) return fault
      return faultWeights[0]![0]
    }

    async function probeCheckout(expectServer: ServeProcess): Promise<number> {
      const c = await probe.checkout()
      const pid = await c.pid()
      c.abort('probe done: the next probe needs a new connection')
      c.release()
      const parent = procStat(pid)?.ppid
      if (parent !== undefined && parent !== expectServer.pid && isAlive(parent)) {
        unexpectedCount++
        unexpected.push(`probe after a server fault was served by a worker of server ${parent}, not of the new server ${expectServer.pid}`)
      }
      return Date.now()
    }

    const killedServers = new Set<ServeProcess>()
    async function serverFault(kind: ServerFault): Promise<void> {
      serverFaultInProgress = kind
      try {
        const at = Date.now()
        let delay = 0
        if (kind === 'kill-server') {
          killedServers.add(current)
          current.child.kill('SIGKILL')
          await current.exited
          delay = random.int(1_000)
          await sleep(delay)
        }
        current = startServer()
        // After a kill the probe starts at once and waits for the new server; after a takeover it
        // starts once the new server listens.
        const served = kind === 'kill-server' ? probeCheckout(current) : current.listening.then(() => probeCheckout(current))
        const listening = await current.listening
        const servedAt = await served
        recovery.push({ kind, listening: listening - at, served: servedAt - (kind === 'kill-server' ? at : listening), delay })
      } catch (error) {
        unexpectedCount++
        unexpected.push(`${kind}: the probe checkout failed: ${className(error)}: ${(error as Error)?.message ?? String(error)}`)
      } finally {
        serverFaultInProgress = undefined
      }
    }

    async function injector(until: number): Promise<void> {
      // Each phase begins with every kind of fault once: a stopped worker first (its checkout then
      // takes a whole timeout), the others in a random order; then random picks.
      const firsts: (LoopFault | ServerFault)[] = faultWeights.map(([fault]) => fault).filter((f) => f !== 'stop-worker')
      for (let i = firsts.length - 1; i > 0; i--) {
        const j = random.int(i + 1)
        ;[firsts[i], firsts[j]] = [firsts[j]!, firsts[i]!]
      }
      firsts.unshift('stop-worker')
      while (Date.now() < until) {
        await sleep(random.between(200, 800))
        const forced = firsts.shift()
        const fault = forced ?? pickFault()
        // A stop late in the phase would make the phase last a whole checkout timeout longer.
        if (forced === undefined && fault === 'stop-worker' && Date.now() > until - checkoutTimeout) continue
        if (fault === 'kill-server' || fault === 'takeover') {
          injected.set(fault, (injected.get(fault) ?? 0) + 1)
          await serverFault(fault)
          continue
        }
        if (fault === 'stop-worker' && stopped.size >= 2) continue
        const free = requests.map((r, i) => (r === undefined ? i : -1)).filter((i) => i >= 0)
        if (free.length === 0) continue
        const target = random.pick(free)
        if (fault === 'kill-worker') requests[target] = { kind: fault, inject: (pid) => void signal(pid, 'SIGKILL') }
        else if (fault === 'stop-worker') {
          requests[target] = {
            kind: fault,
            inject: (pid) => {
              if (!signal(pid, 'SIGSTOP')) return
              stopped.set(pid, setTimeout(() => {
                signal(pid, 'SIGCONT')
                stopped.delete(pid)
              }, stopFor))
            },
          }
        } else requests[target] = { kind: fault }
      }
    }

    async function phase(): Promise<{ ms: number; checkouts: number; calls: number }> {
      const began = Date.now()
      const before = { checkouts, calls }
      running = true
      const loops = Array.from({ length: loopCount }, (_, i) => loop(i))
      await injector(began + phaseMs)
      running = false
      const all = await settle(Promise.all(loops), settleDeadline * 2)
      if (all === 'hung') hung++
      // Every checkout has settled: the stopped workers' calls have timed out. Continue them now.
      for (const [pid, timer] of stopped) {
        clearTimeout(timer)
        signal(pid, 'SIGCONT')
      }
      stopped.clear()
      requests.fill(undefined)
      return { ms: Date.now() - began, checkouts: checkouts - before.checkouts, calls: calls - before.calls }
    }

    // ---- run: two halves, the heap measured after each
    await waitFor(() => client.stats().idle >= 4, 'the pool to fill', 20_000)
    const first = await phase()
    expect(client.stats()).toMatchObject({ busy: 0, pending: 0 })
    const heap1 = await heapAfterGc()
    const second = await phase()
    expect(client.stats()).toMatchObject({ busy: 0, pending: 0 })
    const heap2 = await heapAfterGc()
    tracker.scan()

    // ---- close everything
    await client.close()
    await probe.close()
    current.child.kill('SIGTERM')
    const lastExit = await Promise.race([current.exited, sleep(20_000).then(() => 'still running')])
    const oldExits = await Promise.race([Promise.all(servers.filter((s) => s !== current).map((s) => s.exited)), sleep(20_000).then(() => 'still running')])
    let left: number[] = []
    try {
      await waitFor(() => processesTagged(tag).length === 0 && tracker.alive().length === 0, 'every process of the run to exit', 10_000)
    } catch {
      left = [...new Set([...processesTagged(tag), ...tracker.alive()])].sort((a, b) => a - b)
    }
    const serverRole = (pid: number | undefined) => {
      const server = servers.find((s) => s.pid === pid)
      return server === undefined ? `pid ${pid}` : `${killedServers.has(server) ? 'SIGKILLed' : server === current ? 'last' : 'taken-over'} server ${pid}`
    }
    const leftDetail = left.map((pid) => `${pid} ${readTitle(pid)} (state ${procStat(pid)?.state}, ${socketCount(pid)} sockets, first seen under ${serverRole(tracker.parentOf.get(pid))})`)
    killAll(left)
    tracker.stop()
    let fdsAtEnd = openFds()
    try {
      await waitFor(() => (fdsAtEnd = openFds()) === fdsAtStart, 'the open descriptors to return to their start count', 5_000)
    } catch {
      // reported below
    }
    const fdListAtEnd = describeFds()

    // ---- figures
    const classes = [...new Set([...outcomes.values()].flatMap((row) => [...row.keys()]))].sort((a, b) => (a === 'ok' ? -1 : b === 'ok' ? 1 : a.localeCompare(b)))
    const kinds: string[] = ['ok', 'abort', 'timeout', 'exit', 'throw', 'kill-worker', 'stop-worker']
    const pad = (s: string | number, w: number) => String(s).padStart(w)
    const lines = [
      `chaos: seed ${seed}, ${loopCount} loops, maxWorkers 8, checkout timeout ${checkoutTimeout} ms, 2 phases of ${phaseMs} ms`,
      `phase 1: ${first.ms} ms, ${first.checkouts} checkouts, ${first.calls} calls; phase 2: ${second.ms} ms, ${second.checkouts} checkouts, ${second.calls} calls`,
      '',
      `${'fault'.padEnd(12)} ${pad('injected', 8)} ${classes.map((c) => pad(c, Math.max(c.length, 5))).join(' ')}`,
      ...kinds.map((k) => `${k.padEnd(12)} ${pad(k === 'ok' ? '-' : injected.get(k) ?? 0, 8)} ${classes.map((c) => pad(outcomes.get(k)?.get(c) ?? 0, Math.max(c.length, 5))).join(' ')}`),
      `${'kill-server'.padEnd(12)} ${pad(injected.get('kill-server') ?? 0, 8)}`,
      `${'takeover'.padEnd(12)} ${pad(injected.get('takeover') ?? 0, 8)}`,
      '',
      `unexpected: ${unexpectedCount}; hung: ${hung}; unhandled in the client: ${unhandled.length}`,
      ...recovery.map((r, i) => r.kind === 'kill-server'
        ? `restart ${i + 1}: SIGKILL, new server started ${r.delay} ms later; listening ${r.listening} ms after the kill; a new connection served ${r.served} ms after the kill (${r.served - r.listening} ms after listening)`
        : `takeover ${i + 1}: new server listening ${r.listening} ms after its start; a new connection served ${r.served} ms after that`),
      `processes: ${servers.length} servers, ${tracker.seen.size - servers.length} worker processes seen; left after close: ${left.length}${left.length ? ` (${leftDetail.join(', ')})` : ''}`,
      `descriptors: ${fdsAtStart} at start, ${fdsAtEnd} at end; heap after GC: ${(heap1 / 2 ** 20).toFixed(1)} MiB after phase 1, ${(heap2 / 2 ** 20).toFixed(1)} MiB after phase 2`,
    ]
    console.log(lines.join('\n'))

    // ---- assertions
    expect(unhandled).toEqual([])
    expect(hung).toBe(0)
    expect(unexpected).toEqual([])
    expect(unexpectedCount).toBe(0)
    // Every kind of fault happened at least once (the schedule is long enough for that).
    for (const [k] of faultWeights) expect(injected.get(k) ?? 0, k).toBeGreaterThan(0)
    expect(first.calls).toBeGreaterThan(0)
    expect(second.calls).toBeGreaterThan(0)
    expect(lastExit).toEqual({ code: 0, signal: null })
    // Servers taken over drained and exited 0.
    expect(oldExits).not.toBe('still running')
    const takenOver = servers.filter((s) => s !== current && !killedServers.has(s))
    expect(await Promise.all(takenOver.map((s) => s.exited))).toEqual(takenOver.map(() => ({ code: 0, signal: null })))
    expect(left, `processes left after close: ${leftDetail.join(', ')}`).toEqual([])
    expect(fdsAtEnd, `descriptors at start:\n${fdListAtStart.join('\n')}\nat end:\n${fdListAtEnd.join('\n')}`).toBe(fdsAtStart)
    // The second half must not hold more heap than the first, beyond noise.
    expect(heap2).toBeLessThan(heap1 * 1.1 + 2 * 2 ** 20)
  }, 240_000)
})
