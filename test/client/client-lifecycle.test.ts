import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CancelledError, CheckoutReleasedError, ClientClosedError, QueueFullError } from '@forkd/client'
import { startEnv, waitFor, waitForExit, type TestEnv } from '../support/harness.js'

describe('Client', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  describe('#checkout', () => {
    it('connects minWorkers at start', async () => {
      const client = env.client({ minWorkers: 3, maxWorkers: 5 })
      await waitFor(() => client.stats().idle === 3, 'three idle workers')
      expect(client.stats()).toMatchObject({ workers: 3, idle: 3, connecting: 0, busy: 0 })
    })

    it('gives the worker identity from the handshake', async () => {
      const client = env.client()
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      expect(c.worker.pid).toBe(await c.pid())
      expect(c.worker.id).toBeGreaterThan(0)
      c.release()
    })

    it('resolves to a checkout that is not a thenable', async () => {
      const client = env.client()
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      expect((c as unknown as { then?: unknown }).then).toBeUndefined()
      c.release()
    })

    it('rejects at once with QueueFullError past maxPendingCheckouts, leaving the queue untouched', async () => {
      const client = env.client({ maxWorkers: 1, minWorkers: 1, maxPendingCheckouts: 2 })
      const holder = await client.checkout()
      env.pids.add(holder.worker.pid)
      const a = client.checkout()
      const b = client.checkout()
      const error = await client.checkout().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(QueueFullError)
      expect((error as QueueFullError).code).toBe('FORKD_ERR_QUEUE_FULL')
      expect(client.stats().pending).toBe(2)
      holder.release()
      ;(await a).release()
      ;(await b).release()
    })
  })

  describe('#release', () => {
    it('is harmless when called twice, and calls after it reject with CheckoutReleasedError', async () => {
      const client = env.client({ name: 'rel', maxWorkers: 1, minWorkers: 1 })
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      c.release()
      c.release()
      const error = await c.echo(1).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(CheckoutReleasedError)
      expect((error as Error).message).toBe('rel -> echo: this checkout was released')
      expect(c.released).toBe(true)
      const next = await client.checkout()
      expect(next.worker.pid).toBe(c.worker.pid)
      next.release()
      expect(client.stats()).toMatchObject({ workers: 1, busy: 0 })
    })

    it('happens with await using', async () => {
      const client = env.client({ maxWorkers: 1, minWorkers: 1 })
      let pid = 0
      {
        await using c = await client.checkout()
        pid = c.worker.pid
        env.pids.add(pid)
        expect(client.stats().busy).toBe(1)
      }
      expect(client.stats().busy).toBe(0)
      const next = await client.checkout()
      expect(next.worker.pid).toBe(pid)
      next.release()
    })
  })

  describe('#close', () => {
    it('rejects pending checkouts and running calls with ClientClosedError and closes every worker', async () => {
      const client = env.client({ name: 'closing', maxWorkers: 1, minWorkers: 1 })
      const c = await client.checkout()
      const pid = c.worker.pid
      env.pids.add(pid)
      const running = c.sleep(5_000)
      // Let the call leave this process (calls made in one tick go out at its end).
      await new Promise((resolve) => setImmediate(resolve))
      const unsent = c.echo('never sent')
      const pending = client.checkout()
      const closed = client.close()
      await expect(pending).rejects.toBeInstanceOf(ClientClosedError)
      await expect(running).rejects.toBeInstanceOf(ClientClosedError)
      // A call still in this process when the client closed is never sent: certainly not run.
      const notSent = await unsent.catch((e: unknown) => e)
      expect(notSent).toBeInstanceOf(CancelledError)
      expect((notSent as CancelledError).cause).toBeInstanceOf(ClientClosedError)
      await closed
      await expect(client.close()).resolves.toBeUndefined()
      await expect(client.checkout()).rejects.toBeInstanceOf(ClientClosedError)
      await waitForExit([pid])
      expect(client.stats()).toMatchObject({ workers: 0, pending: 0 })
    })
  })
})
