/**
 * An event listener that throws never breaks the pool (it is called in the middle of a pool step)
 * and never becomes an 'error' event or an uncaught exception: it is reported once as a process
 * warning, FORKD_WARN_EVENT_LISTENER, and the pool keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEnv, waitFor, type TestEnv } from '../../support/harness.js'
import { captureWarnings } from '../../support/warnings.js'

describe('an event listener that throws', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('is reported as a process warning FORKD_WARN_EVENT_LISTENER, and every checkout is still served and released', async () => {
    const captured = captureWarnings()
    try {
      const client = env.client({ minWorkers: 0, maxWorkers: 2, timeout: 10_000 })
      let thrown = 0
      for (const event of ['connect', 'acquire', 'release', 'remove'] as const)
        client.on(event, () => {
          thrown++
          throw new Error(`listener for ${event} broke`)
        })
      const errorEvents: unknown[] = []
      const emit = client.emit.bind(client)
      client.emit = ((event: string, ...args: unknown[]) => {
        if (event === 'error') errorEvents.push(args[0])
        return (emit as (event: string, ...args: unknown[]) => boolean)(event, ...args)
      }) as typeof client.emit

      const pids = await Promise.all(Array.from({ length: 6 }, (_, i) => client.run(async (c) => {
        env.pids.add(c.worker.pid)
        return i % 2 === 0 ? c.pid() : c.echo(c.worker.pid)
      })))
      // A release with an error retires the worker: 'remove' throws too.
      const c = await client.checkout()
      c.release(new Error('retire it'))
      await waitFor(() => client.stats().retired.error === 1, 'the retirement')
      expect(await client.run((d) => d.echo('still served'))).toBe('still served')

      expect(pids.every((pid) => typeof pid === 'number')).toBe(true)
      expect(thrown).toBeGreaterThanOrEqual(6 * 2 + 2)
      expect(client.stats()).toMatchObject({ busy: 0, pending: 0, checkouts: 8 })
      expect(errorEvents).toEqual([])
      await waitFor(() => captured.withCode('FORKD_WARN_EVENT_LISTENER').length > 0, 'the warning')
      const warnings = captured.withCode('FORKD_WARN_EVENT_LISTENER')
      // Once per process, naming the event and the listener's error.
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.message).toBe("a forkd client 'connect' listener threw: listener for connect broke")
    } finally {
      captured.stop()
    }
  })
})
