/**
 * The client's events, in order, with their arguments: 'connect', 'acquire', 'release' (with the
 * error or undefined), 'remove' (with its reason), 'acquireError', 'connectError'. They are
 * observational: the client never emits 'error'.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, ConnectError, TimeoutError, WorkerDiedError, type ClientEvents } from '@forkd/client'
import { startEnv, tempDir, waitFor, type TestEnv } from '../../support/harness.js'

/** Records every event of `client` as a line, and every event name emitted (to prove 'error' never is). */
function record(client: Client, pids: Map<number, string>) {
  const lines: string[] = []
  const names: string[] = []
  const emit = client.emit.bind(client)
  client.emit = ((event: string, ...args: unknown[]) => {
    names.push(event)
    return (emit as (event: string, ...args: unknown[]) => boolean)(event, ...args)
  }) as typeof client.emit
  const who = (w: ClientEvents['connect'][0]) => {
    if (!pids.has(w.pid)) pids.set(w.pid, `w${pids.size + 1}`)
    return `${pids.get(w.pid)}`
  }
  const what = (e: Error | undefined) => (e === undefined ? 'undefined' : `${e.constructor.name}: ${e.message}`)
  const workers: ClientEvents['connect'][0][] = []
  client.on('connect', (w) => (workers.push(w), lines.push(`connect ${who(w)}`)))
  client.on('acquire', (w) => lines.push(`acquire ${who(w)}`))
  client.on('release', (w, error) => lines.push(`release ${who(w)} ${what(error)}`))
  client.on('remove', (w, reason) => lines.push(`remove ${who(w)} ${reason}`))
  client.on('acquireError', (error) => lines.push(`acquireError ${error.constructor.name}`))
  client.on('connectError', (error) => lines.push(`connectError ${error.constructor.name}`))
  return { lines, names, workers }
}

describe("the client's events", () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it("are emitted in order with their arguments through a worker's life: connect, acquire, release, remove", async () => {
    const client = env.client({ minWorkers: 0, maxWorkers: 1, timeout: 10_000 })
    const pids = new Map<number, string>()
    const { lines, names, workers } = record(client, pids)

    await client.run((c) => c.echo('first'))
    const released = new Error('released with this')
    const c = await client.checkout()
    await c.echo('second')
    c.release(released)
    await waitFor(() => lines.includes('remove w1 error'), 'the first worker to be removed')

    const held = await client.checkout()
    const timedOut = await client.checkout({ timeout: 100 }).catch((e: unknown) => e)
    expect(timedOut).toBeInstanceOf(TimeoutError)
    // The worker dies during a call: it is removed as 'died'; its checkout, released after, carries WorkerDiedError.
    const died = await held.exit(3).catch((e: unknown) => e)
    expect(died).toBeInstanceOf(WorkerDiedError)
    await waitFor(() => lines.includes('remove w2 died'), 'the second worker to be removed')
    held.release()

    await client.run((d) => d.echo('third'))
    await client.close()

    expect(lines).toEqual([
      'connect w1', 'acquire w1', 'release w1 undefined',
      'acquire w1', 'release w1 Error: released with this', 'remove w1 error',
      'connect w2', 'acquire w2', 'acquireError TimeoutError',
      // Removed when it died; released when the caller let go of its checkout.
      'remove w2 died', `release w2 WorkerDiedError: ${(died as Error).message}`,
      'connect w3', 'acquire w3', 'release w3 undefined', 'remove w3 clientClosed',
    ])
    // A worker's info: its pid, its number within the server, the endpoint.
    for (const [pid] of pids) env.pids.add(pid)
    expect(workers).toHaveLength(3)
    for (const w of workers) {
      expect(Object.keys(w).sort()).toEqual(['endpoint', 'id', 'pid'])
      expect(w.endpoint).toBe(env.path)
      expect(w.id).toBeGreaterThanOrEqual(1)
    }
    expect(names).not.toContain('error')
  })

  it("'release' carries the worker error of a failed call, then 'remove' says 'error' (refork after error)", async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const pids = new Map<number, string>()
    const { lines } = record(client, pids)
    await client.ready()
    const error = await client.run((c) => c.fail('bad input')).catch((e: unknown) => e)
    await waitFor(() => lines.some((l) => l.startsWith('remove')), 'the worker to be removed')
    for (const [pid] of pids) env.pids.add(pid)
    expect(lines.slice(0, 4)).toEqual(['connect w1', 'acquire w1', `release w1 WorkerError: ${(error as Error).message}`, 'remove w1 error'])
  })

  it("'connectError' with the ConnectError of each failed attempt, and 'acquireError' for the checkout that gave up; never 'error'", async () => {
    const dir = tempDir()
    try {
      const client = new Client({ connect: join(dir, 'nobody.sock'), minWorkers: 0, maxWorkers: 1 })
      const { lines, names } = record(client, new Map())
      const errors: Error[] = []
      client.on('connectError', (error) => errors.push(error))
      const gaveUp = await client.checkout({ timeout: 300 }).catch((e: unknown) => e)
      expect(gaveUp).toBeInstanceOf(TimeoutError)
      await client.close()
      expect(errors.length).toBeGreaterThanOrEqual(1)
      expect(errors[0]).toBeInstanceOf(ConnectError)
      expect(errors[0]!.message).toContain(join(dir, 'nobody.sock'))
      expect(new Set(lines.slice(0, -1))).toEqual(new Set(['connectError ConnectError']))
      expect(lines.at(-1)).toBe('acquireError TimeoutError')
      expect(names).not.toContain('error')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
