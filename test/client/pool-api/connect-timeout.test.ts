/**
 * `connectTimeout`: a connection attempt that has not completed the forkd handshake by then is
 * abandoned (a ConnectError naming the option, reported as 'connectError') and retried, so a
 * worker that never answers (here: every spare SIGSTOPped) does not hold a waiting checkout until
 * its timeout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectError } from '@forkd/client'
import { startEnv, waitFor, workerChildren, type TestEnv } from '../../support/harness.js'
import { processState, signal } from '../../support/faults.js'

describe('connectTimeout', () => {
  const cleanups: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  it('abandons an attempt that reached a stopped worker after connectTimeout, and serves the checkout with a healthy one', async () => {
    const env: TestEnv = await startEnv('echo-worker.mjs', { spares: 2 })
    cleanups.push(() => env.cleanup())
    await waitFor(() => env.server.status().spares === 2, 'two spares')
    // Both spares stop: the server hands the client's first connections to them, and nobody answers.
    const stopped = workerChildren()
    expect(stopped).toHaveLength(2)
    for (const pid of stopped) {
      env.pids.add(pid)
      signal(pid, 'SIGSTOP')
      // Continued before the server's cleanup, so that they can see their connection gone and exit.
      cleanups.push(() => void signal(pid, 'SIGCONT'))
    }
    await waitFor(() => stopped.every((pid) => processState(pid) === 'T'), 'the spares to stop')

    const client = env.client({ minWorkers: 0, maxWorkers: 2, connectTimeout: 500, timeout: 15_000 })
    const connectErrors: Error[] = []
    client.on('connectError', (error) => connectErrors.push(error))
    const started = Date.now()
    const c = await client.checkout()
    const waited = Date.now() - started
    env.pids.add(c.worker.pid)
    expect(stopped).not.toContain(c.worker.pid)
    expect(await c.pid()).toBe(c.worker.pid)
    c.release()
    // At least the first attempt, held by a stopped spare, was abandoned at connectTimeout.
    expect(connectErrors.length).toBeGreaterThanOrEqual(1)
    expect(connectErrors[0]).toBeInstanceOf(ConnectError)
    expect(connectErrors[0]!.message).toBe(`cannot connect to the forkd server at ${env.path}: no forkd handshake within 500 ms (connectTimeout)`)
    // Loose: far sooner than the checkout's timeout (15 s); a loaded machine starts processes slowly.
    expect(waited).toBeLessThan(10_000)
    // Both stuck attempts are gone, not left connecting.
    await waitFor(() => client.stats().connecting === 0, 'no attempt left connecting')
  }, 30_000)
})
