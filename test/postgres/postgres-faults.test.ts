/**
 * Issue 12: the main use case under faults, as an operator would see them. Forty callers do bank
 * transfers (examples/postgres/bank.ts) on a real PostgreSQL through `forkd serve` (a separate
 * process, so it can be SIGKILLed and restarted on the same path) for a bounded time, while an
 * injector picks faults at random:
 *
 * - kill-mid: the worker is SIGKILLed as soon as BEGIN has replied, its statements in flight;
 * - kill-commit: the worker is SIGKILLed just after COMMIT was sent (a microtask, a turn of the
 *   event loop or a millisecond later);
 * - timeout-mid: a statement inside the transaction runs past the checkout's timeout;
 * - timeout-commit: COMMIT itself takes 0.7 to 1.3 times the timeout (a deferred trigger sleeps);
 * - abort-mid: the checkout is aborted as soon as BEGIN has replied;
 * - abort-same-tick: `commit(); abort()` in the same tick;
 * - abort-commit: the checkout is aborted just after COMMIT was sent (as kill-commit);
 * - kill-server: the server is SIGKILLed and a new one started on the path 0 to 1 s later;
 * - takeover: a new server is started on the same path and takes it over.
 *
 * The faults of the transfers are asked for every 250 to 600 ms, each of one caller's next
 * transfer; the server faults come every 1.5 to 4 s on a schedule of their own.
 *
 * Asserted: the total balance is exactly invariant and the ledger explains every balance (every
 * transfer happened entirely or not at all); no checkout starts inside a transaction (nothing
 * leaked to the next user of a worker); every transfer whose COMMIT resolved is in the ledger, and
 * none whose COMMIT was never sent (a statement failed first, or COMMIT rejected with
 * CancelledError) is; `commit(); abort()` never commits; every rejection is the class its fault
 * calls for, and transfers without a fault of their own are not disturbed by the server faults and
 * go on committing after each of them; no worker, spare or server process and no database
 * session is left after close. The transfers
 * whose COMMIT was in doubt are counted, and how many of them happened (by the transfer id, the
 * ledger's primary key). The figures are printed by fault (docs/failures.md, docs/postgres.md).
 *
 * FORKD_PG_FAULTS_SEED=N replays the same choices of faults (process timing still differs);
 * FORKD_PG_FAULTS_MS=N runs the callers for N ms instead of 20 s.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AbortedError, CancelledError, Client, TimeoutError, WorkerDiedError, WorkerError } from '@forkd/client'
import {
  audit, createBank, isCommitted, randomTransfers, sendTransfer, transferBalance,
  type PostgresCheckout, type PostgresClient, type Transfer,
} from '../../examples/postgres/bank.js'
import { requirePostgresWorker, startPostgres, type PgCluster, type PostgresWorker } from '../support/postgres.js'
import { waitFor } from '../support/harness.js'
import { faultRunScene, processesTagged, serveCli, type ServeProcess } from '../support/cli.js'
import { prng, signal, collectUnhandled } from '../support/faults.js'

const accounts = 20
const opening = 1_000
const callers = 40
/**
 * How long the callers run; the injector stops with them. 20 s keeps the file under a minute
 * in the suite; FORKD_PG_FAULTS_MS asks for a longer run (the figures in docs/postgres.md).
 */
const runMs = process.env.FORKD_PG_FAULTS_MS ? Number(process.env.FORKD_PG_FAULTS_MS) : 20_000
/**
 * Every checkout but the timeout faults': well above a server restart plus the wait of 40 callers
 * for 10 workers on a loaded machine (at a load average of 25 on two cores, restarts took up to
 * 11 s and 20 s was not always enough for that wait).
 */
const checkoutTimeout = 60_000
/** The timeout faults' checkouts (a client of their own, so they never queue behind the others). */
const shortTimeout = 1_000
/** Past this an attempt counts as hung: a wait for a worker and a few calls, each within its timeout. */
const settleDeadline = 4 * checkoutTimeout

type LoopFault = 'kill-mid' | 'kill-commit' | 'timeout-mid' | 'timeout-commit' | 'abort-mid' | 'abort-same-tick' | 'abort-commit'
type ServerFault = 'kill-server' | 'takeover'
/** A transfer's row in the figures: its fault, or none; transfers to a missing account fail by themselves. */
type Label = 'none' | 'sql-error' | LoopFault

type Outcome =
  /** COMMIT resolved. */
  | 'committed'
  /** Rolled back by the caller: the source account would have gone negative. */
  | 'overdraft'
  /** PostgreSQL refused a statement (WorkerError); rolled back by the caller. */
  | 'sql-error'
  /** A statement rejected with a fatal error (or CancelledError) before COMMIT was made, or COMMIT failed in PostgreSQL: certainly not committed. */
  | 'failed'
  /** COMMIT rejected with CancelledError: never sent, certainly not committed. */
  | 'commit-cancelled'
  /** COMMIT rejected with the checkout's fatal error: it may have run. */
  | 'in-doubt'
  /** checkout() itself failed (a timeout fault's short wait during a server restart): nothing was sent. */
  | 'no-checkout'

interface Attempt {
  id: number
  label: Label
  outcome: Outcome
  /** The first rejection the caller saw (a statement's, COMMIT's or checkout()'s), if any. */
  error: unknown
  /** When COMMIT resolved (outcome 'committed'). */
  committedAt?: number
}

/** Relative weights of the transfers' faults. */
const faultWeights: [LoopFault, number][] = [
  ['kill-mid', 2], ['kill-commit', 3], ['timeout-mid', 2], ['timeout-commit', 3],
  ['abort-mid', 2], ['abort-same-tick', 3], ['abort-commit', 3],
]
const serverFaults: ServerFault[] = ['kill-server', 'takeover']
const labels: Label[] = ['none', 'sql-error', 'kill-mid', 'kill-commit', 'timeout-mid', 'timeout-commit', 'abort-mid', 'abort-same-tick', 'abort-commit']

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
/** 0: the next microtask; 1: the next turn of the event loop; 2: a millisecond. */
const justAfter = (how: number) => (how === 0 ? Promise.resolve() : how === 1 ? new Promise<void>((r) => setImmediate(r)) : sleep(1))
const className = (error: unknown) => (error instanceof Error ? error.constructor.name : typeof error)

/** `error` is of `cls`, or a CancelledError caused by one (a call that was not sent). */
function isOrCancelledBy(error: unknown, cls: abstract new (...args: never[]) => Error): boolean {
  return error instanceof cls || (error instanceof CancelledError && error.cause instanceof cls)
}

/** Whether `error` is what the transfer's fault calls for. */
function expected(label: Label, error: unknown): boolean {
  switch (label) {
    case 'none':
      return false
    case 'sql-error':
      return error instanceof WorkerError && error.remote.code === '23503'
    case 'kill-mid':
    case 'kill-commit':
      return isOrCancelledBy(error, WorkerDiedError)
    case 'timeout-mid':
    case 'timeout-commit':
      return isOrCancelledBy(error, TimeoutError)
    case 'abort-mid':
    case 'abort-same-tick':
    case 'abort-commit':
      return isOrCancelledBy(error, AbortedError)
  }
}

// COMMIT takes as long as the transaction's forkd_test.commit_delay says (ms): a deferred trigger
// on the ledger sleeps at commit time. Unset, it costs a function call.
const commitDelaySql = `
  create function forkd_bank.commit_delay() returns trigger language plpgsql as $$
  begin
    perform pg_sleep(coalesce(nullif(current_setting('forkd_test.commit_delay', true), '')::float, 0) / 1000);
    return null;
  end $$;
  create constraint trigger commit_delay after insert on forkd_bank.ledger
    deferrable initially deferred for each row execute function forkd_bank.commit_delay();
`

describe('PostgreSQL under faults: concurrent transfers while workers, calls, checkouts and servers fail', () => {
  let cluster: PgCluster
  beforeAll(async () => {
    cluster = await startPostgres()
  })
  afterAll(() => cluster?.stop())
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('keeps the money exact, commits nothing that was never sent, and says which outcomes were in doubt', async () => {
    const seed = process.env.FORKD_PG_FAULTS_SEED ? Number(process.env.FORKD_PG_FAULTS_SEED) : Math.floor(Math.random() * 2 ** 31)
    console.log(`postgres faults seed ${seed} (replay: FORKD_PG_FAULTS_SEED=${seed})`)
    // One generator per schedule, so that each replays from the seed whatever the other does.
    const random = prng(seed)
    const serverRandom = prng(seed ^ 0x5eed)

    const unhandled = collectUnhandled(cleanups)

    const worker = requirePostgresWorker()
    const { path, tag, tracker } = faultRunScene(cleanups)

    // ---- servers: `forkd serve` processes on one path, each tracked with every process below it
    const servers: ServeProcess[] = []
    const killedServers = new Set<ServeProcess>()
    const startServer = (): ServeProcess => {
      const server = serveCli(path, worker, { env: { ...cluster.env, FORKD_TEST_RUN: tag }, args: ['--name', 'bank', '--spares', '2'] })
      tracker.add(server.pid)
      servers.push(server)
      return server
    }
    cleanups.push(() => {
      for (const s of servers) s.kill()
    })
    let current = startServer()
    await current.listening()

    const client: PostgresClient = new Client<PostgresWorker>({ connect: path, name: 'bank', minWorkers: 4, maxWorkers: 10, timeout: checkoutTimeout })
    cleanups.push(() => client.close())
    const shortClient: PostgresClient = new Client<PostgresWorker>({ connect: path, name: 'bank-short', minWorkers: 2, maxWorkers: 3, timeout: shortTimeout })
    cleanups.push(() => shortClient.close())

    await createBank(client, accounts, opening)
    await cluster.query(commitDelaySql)
    const transfers = randomTransfers({ count: 100_000, accounts, maxAmount: 300, missingRate: 0.005, seed })

    // ---- the callers
    const attempts: Attempt[] = []
    const injected = new Map<string, number>()
    let leaked = 0
    let hung = 0
    let next = 0
    let running = true
    const requests: (LoopFault | undefined)[] = new Array(callers).fill(undefined)

    async function attempt(t: Transfer, fault: LoopFault | undefined, rnd: ReturnType<typeof prng>): Promise<Attempt> {
      const record: Attempt = { id: t.id, label: fault ?? (t.to > accounts ? 'sql-error' : 'none'), outcome: 'failed', error: undefined }
      const timeoutFault = fault === 'timeout-mid' || fault === 'timeout-commit'
      let c: PostgresCheckout
      try {
        // The timeout faults are about a call's timeout, not the wait for a worker: they start
        // once their client has an idle one (a worker it lost to an earlier fault is replaced).
        if (timeoutFault) await waitFor(() => shortClient.stats().idle > 0, 'an idle worker for a timeout fault', checkoutTimeout).catch(() => {})
        c = await (timeoutFault ? shortClient : client).checkout()
      } catch (error) {
        return { ...record, outcome: 'no-checkout', error }
      }
      const pid = c.worker.pid
      try {
        // Pipelined ahead of the transfer: PostgreSQL's own transaction status when the checkout began.
        const fresh = c.inTransaction().then((inside) => {
          if (inside) leaked++
        }, () => {})
        const calls = sendTransfer(c, t)
        if (fault === 'kill-mid') void calls[0]!.then(() => signal(pid, 'SIGKILL'), () => {})
        if (fault === 'abort-mid') void calls[0]!.then(() => c.abort('caller gave up mid-transaction'), () => {})
        if (fault === 'timeout-mid') calls.push(c.query('select pg_sleep(5)'))
        if (fault === 'timeout-commit') {
          const delay = Math.round(shortTimeout * rnd.between(0.7, 1.3))
          calls.push(c.query("select set_config('forkd_test.commit_delay', $1, true)", [String(delay)]))
        }
        let balance: number
        try {
          balance = await transferBalance(calls)
        } catch (error) {
          record.error = error
          if (error instanceof WorkerError) {
            await c.rollback()
            record.outcome = 'sql-error'
          }
          return record
        } finally {
          await fresh
        }
        if (balance < 0) {
          await c.rollback()
          record.outcome = 'overdraft'
          return record
        }
        const commit = c.commit()
        if (fault === 'abort-same-tick') c.abort('request cancelled')
        else if (fault === 'abort-commit' || fault === 'kill-commit') {
          // COMMIT's frame is written to the socket in a microtask: after this await it is sent.
          await justAfter(rnd.int(3))
          if (fault === 'abort-commit') c.abort('request cancelled after COMMIT was sent')
          else signal(pid, 'SIGKILL')
        }
        try {
          await commit
          record.outcome = 'committed'
          record.committedAt = Date.now()
        } catch (error) {
          record.error = error
          // A WorkerError: COMMIT ran and PostgreSQL refused it, so nothing was committed.
          record.outcome = error instanceof CancelledError ? 'commit-cancelled' : error instanceof WorkerError ? 'failed' : 'in-doubt'
        }
        return record
      } catch (error) {
        // A rollback that failed: the transaction was not committed either way.
        record.error ??= error
        return record
      } finally {
        c.release()
      }
    }

    async function caller(index: number): Promise<void> {
      const rnd = prng(seed + 1000 + index)
      while (running && next < transfers.length) {
        const t = transfers[next++]!
        // A transfer to a missing account fails by itself: the loop's fault waits for the next one.
        const fault = t.to <= accounts ? requests[index] : undefined
        if (fault !== undefined) {
          requests[index] = undefined
          injected.set(fault, (injected.get(fault) ?? 0) + 1)
        }
        let timer: NodeJS.Timeout | undefined
        const outcome = await Promise.race([
          attempt(t, fault, rnd),
          new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), settleDeadline))),
        ])
        clearTimeout(timer)
        if (outcome === 'hung') hung++
        else attempts.push(outcome)
      }
    }

    // ---- the injector
    const pickFault = (): LoopFault => {
      const total = faultWeights.reduce((sum, [, w]) => sum + w, 0)
      let r = random.next() * total
      for (const [fault, w] of faultWeights) if ((r -= w) < 0) return fault
      return faultWeights[0]![0]
    }

    const serverTimes: string[] = []
    /** When each server fault was over (the new server listening). */
    const serverFaultsDone: number[] = []
    const committedAfter = (t: number) => attempts.filter((a) => a.label === 'none' && a.committedAt !== undefined && a.committedAt > t).length
    async function serverFault(kind: ServerFault): Promise<void> {
      injected.set(kind, (injected.get(kind) ?? 0) + 1)
      const at = Date.now()
      let delay = 0
      if (kind === 'kill-server') {
        killedServers.add(current)
        current.child.kill('SIGKILL')
        await current.exited
        delay = serverRandom.int(1_000)
        await sleep(delay)
      }
      current = startServer()
      await current.listening()
      serverFaultsDone.push(Date.now())
      serverTimes.push(kind === 'kill-server'
        ? `SIGKILL, restarted ${delay} ms later, listening ${Date.now() - at} ms after the kill`
        : `takeover, the new server listening ${Date.now() - at} ms after its start`)
    }

    async function loopInjector(until: number): Promise<void> {
      // Every kind of fault once, in a random order, then random picks.
      const firsts = faultWeights.map(([fault]) => fault)
      for (let i = firsts.length - 1; i > 0; i--) {
        const j = random.int(i + 1)
        ;[firsts[i], firsts[j]] = [firsts[j]!, firsts[i]!]
      }
      while (Date.now() < until) {
        await sleep(random.between(250, 600))
        const fault = firsts.shift() ?? pickFault()
        const free = requests.map((r, i) => (r === undefined ? i : -1)).filter((i) => i >= 0)
        if (free.length > 0) requests[random.pick(free)] = fault
      }
    }

    async function serverInjector(until: number): Promise<void> {
      // Both kinds once, in a random order, even if that takes longer than the run (on a loaded
      // machine a takeover's new server took 10 s to listen; the callers go on until the injectors
      // are done); then random picks, none that could outlast the run.
      const order = serverRandom.next() < 0.5 ? [...serverFaults] : [...serverFaults].reverse()
      for (;;) {
        await sleep(serverRandom.between(1_500, 4_000))
        if (order.length === 0 && Date.now() > until - 4_000) return
        await serverFault(order.shift() ?? serverRandom.pick(serverFaults))
      }
    }

    await waitFor(() => client.stats().idle >= 4 && shortClient.stats().idle >= 2, 'the pools to fill', 30_000)
    const began = Date.now()
    const loops = Array.from({ length: callers }, (_, i) => caller(i))
    await Promise.all([loopInjector(began + runMs), serverInjector(began + runMs)])
    running = false
    await Promise.all(loops)
    const ranMs = Date.now() - began

    // ---- the ledger: the in-doubt transfers one by one (each check waits for its transaction to
    // end, should PostgreSQL still be finishing it), then one snapshot of balances and ledger rows
    const inDoubt = attempts.filter((a) => a.outcome === 'in-doubt')
    const inDoubtCommitted = new Set<number>()
    for (const a of inDoubt) if (await isCommitted(client, transfers[a.id - 1]!)) inDoubtCommitted.add(a.id)
    const result = await audit(client)

    // ---- close everything
    await client.close()
    await shortClient.close()
    current.child.kill('SIGTERM')
    const lastExit = await Promise.race([current.exited, sleep(30_000).then(() => 'still running' as const)])
    const takenOver = servers.filter((s) => s !== current && !killedServers.has(s))
    const takenOverExits = await Promise.race([Promise.all(takenOver.map((s) => s.exited)), sleep(30_000).then(() => 'still running' as const)])
    let left: number[] = []
    try {
      await waitFor(() => processesTagged(tag).length === 0 && tracker.alive().length === 0, 'every process of the run to exit', 15_000)
    } catch {
      left = [...new Set([...processesTagged(tag), ...tracker.alive()])].sort((a, b) => a - b)
    }
    tracker.stop()
    const sessionsOf = async () => Number((await cluster.query(
      "select count(*)::int as n from pg_stat_activity where application_name like 'forkd-worker pid %'")).rows[0]!.n)
    let sessionsLeft = await sessionsOf()
    try {
      await waitFor(async () => (sessionsLeft = await sessionsOf()) === 0, 'the workers\' database sessions to end', 10_000)
    } catch {
      // reported below
    }

    // ---- figures
    const rows = labels.map((label) => {
      const of = attempts.filter((a) => a.label === label)
      const n = (outcome: Outcome) => of.filter((a) => a.outcome === outcome).length
      return {
        label,
        attempted: of.length,
        committed: n('committed'),
        overdraft: n('overdraft'),
        sqlError: n('sql-error'),
        failed: n('failed'),
        cancelled: n('commit-cancelled'),
        noCheckout: n('no-checkout'),
        inDoubt: n('in-doubt'),
        inDoubtCommitted: of.filter((a) => a.outcome === 'in-doubt' && inDoubtCommitted.has(a.id)).length,
        classes: [...new Set(of.filter((a) => a.error !== undefined).map((a) => className(a.error)))].sort().join(', '),
      }
    })
    const total = (key: 'attempted' | 'committed' | 'overdraft' | 'sqlError' | 'failed' | 'cancelled' | 'noCheckout' | 'inDoubt' | 'inDoubtCommitted') =>
      rows.reduce((sum, r) => sum + r[key], 0)
    const commitRejections = new Map<string, { n: number; committed: number }>()
    for (const a of attempts) {
      if (a.outcome !== 'in-doubt' && a.outcome !== 'commit-cancelled') continue
      const key = a.outcome === 'commit-cancelled' ? `CancelledError <- ${className((a.error as CancelledError).cause)}` : className(a.error)
      const entry = commitRejections.get(key) ?? { n: 0, committed: 0 }
      entry.n++
      if (inDoubtCommitted.has(a.id)) entry.committed++
      commitRejections.set(key, entry)
    }
    const pad = (s: string | number, w: number) => String(s).padStart(w)
    const header = ['attempted', 'committed', 'overdraft', 'sql-error', 'failed', 'cancelled', 'in-doubt', 'of-which-committed', 'no-checkout']
    const line = (name: string, values: (string | number)[]) => `${name.padEnd(16)} ${values.map((v, i) => pad(v, header[i]!.length)).join(' ')}`
    const lines = [
      `postgres faults: seed ${seed}, ${callers} callers for ${ranMs} ms, maxWorkers 10 (+3 for the timeout faults), checkout timeout ${checkoutTimeout} ms (${shortTimeout} ms for the timeout faults)`,
      `transfers attempted ${attempts.length}; server faults: kill-server ${injected.get('kill-server') ?? 0}, takeover ${injected.get('takeover') ?? 0}; ${servers.length} servers, ${tracker.seen.size - servers.length} worker processes`,
      '',
      line('fault', header),
      ...rows.map((r) => line(r.label, [r.attempted, r.committed, r.overdraft, r.sqlError, r.failed, r.cancelled, r.inDoubt, r.inDoubtCommitted, r.noCheckout])),
      line('total', [total('attempted'), total('committed'), total('overdraft'), total('sqlError'), total('failed'), total('cancelled'), total('inDoubt'), total('inDoubtCommitted'), total('noCheckout')]),
      '',
      'rejection classes by fault:',
      ...rows.filter((r) => r.classes).map((r) => `  ${r.label}: ${r.classes}`),
      'COMMIT rejected with:',
      ...[...commitRejections].sort(([a], [b]) => a.localeCompare(b)).map(([key, e]) => `  ${key}: ${e.n}, committed ${e.committed}`),
      '',
      `ledger: total ${result.total} (expected ${accounts * opening}), ${result.ledgerRows} rows, mismatched accounts ${result.mismatched.length}, negative ${result.negative}; checkouts that began inside a transaction: ${leaked}`,
      ...serverTimes.map((t, i) => `server fault ${i + 1}: ${t}; transfers without a fault committed after it: ${committedAfter(serverFaultsDone[i]!)}`),
      `left after close: ${left.length} processes, ${sessionsLeft} database sessions; unhandled in the client: ${unhandled.length}; hung: ${hung}`,
    ]
    console.log(lines.join('\n'))

    // ---- assertions
    const context = `seed ${seed}`
    expect(unhandled, context).toEqual([])
    expect(hung, context).toBe(0)
    // The money: exact, and explained by the ledger row by row (no transfer half done).
    expect(result.total, context).toBe(accounts * opening)
    expect(result.negative, context).toBe(0)
    expect(result.mismatched, context).toEqual([])
    expect(leaked, context).toBe(0)
    // Certain outcomes are what the ledger says.
    const ids = new Map(attempts.map((a) => [a.id, a]))
    expect([...result.ledgerIds].filter((id) => !ids.has(id)), context).toEqual([])
    const committedMissing = attempts.filter((a) => a.outcome === 'committed' && !result.ledgerIds.has(a.id)).map((a) => a.id)
    expect(committedMissing, context).toEqual([])
    const certainlyNot = attempts.filter((a) => a.outcome !== 'committed' && a.outcome !== 'in-doubt')
    expect(certainlyNot.filter((a) => result.ledgerIds.has(a.id)).map((a) => `${a.id} ${a.label} ${a.outcome} ${className(a.error)}`), context).toEqual([])
    expect(inDoubt.filter((a) => inDoubtCommitted.has(a.id) !== result.ledgerIds.has(a.id)).map((a) => a.id), context).toEqual([])
    // Every rejection is the class its fault calls for; transfers without a fault of their own (the
    // server faults included) commit or roll back as the caller decided.
    const unexpected = attempts
      .filter((a) => a.error !== undefined && !expected(a.label, a.error))
      .map((a) => `${a.label} ${a.outcome}: ${className(a.error)}: ${(a.error as Error)?.message ?? String(a.error)}`)
    expect(unexpected.slice(0, 20), context).toEqual([])
    expect(attempts.filter((a) => a.label === 'none' && a.outcome !== 'committed' && a.outcome !== 'overdraft').length, context).toBe(0)
    expect(attempts.filter((a) => a.label === 'sql-error' && a.outcome !== 'sql-error').length, context).toBe(0)
    // commit(); abort() in the same tick: COMMIT is never sent, whenever the transfer got that far.
    const sameTick = attempts.filter((a) => a.label === 'abort-same-tick' && a.outcome !== 'overdraft')
    expect(sameTick.length, context).toBeGreaterThan(0)
    expect(sameTick.map((a) => `${a.outcome} ${className(a.error)} <- ${className((a.error as { cause?: unknown })?.cause)}`), context)
      .toEqual(sameTick.map(() => 'commit-cancelled CancelledError <- AbortedError'))
    // A fault before COMMIT leaves the transfer certainly not done.
    for (const label of ['kill-mid', 'abort-mid', 'timeout-mid'] as const)
      expect(attempts.filter((a) => a.label === label && a.outcome === 'committed').length, `${context}: ${label}`).toBe(0)
    // Every kind of fault happened, and the load ran throughout.
    for (const fault of [...faultWeights.map(([f]) => f), ...serverFaults]) expect(injected.get(fault) ?? 0, `${context}: ${fault}`).toBeGreaterThan(0)
    // Transfers of their own kept committing after each server fault (no bound on how many: the
    // throughput of a loaded machine is no pass/fail matter).
    expect(serverFaultsDone.map((t) => committedAfter(t) > 0), context).toEqual(serverFaultsDone.map(() => true))
    // Nothing is left: no process below any server, no database session of a worker.
    expect(lastExit, context).toEqual({ code: 0, signal: null })
    expect(takenOverExits, context).toEqual(takenOver.map(() => ({ code: 0, signal: null })))
    expect(left, context).toEqual([])
    expect(sessionsLeft, context).toBe(0)
  }, runMs + settleDeadline + 60_000)
})
