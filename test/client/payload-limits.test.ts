/**
 * Message sizes against maxPayload, both ways: a call larger than the worker accepts is refused on
 * the client before it is sent (PayloadTooLargeError, only that call), calls that each fit are
 * never joined into a frame the worker refuses, and a reply larger than the client accepts names
 * the client's limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PayloadTooLargeError, ProtocolError } from '@forkd/client'
import { outcomes, startEnv, type TestEnv } from '../support/harness.js'

const KiB = 1024

describe('payload limits', () => {
  describe('a worker with maxPayload 64 KiB', () => {
    let env: TestEnv
    beforeAll(async () => {
      env = await startEnv('echo-worker.mjs', { maxPayload: 64 * KiB, spares: 1 })
    })
    afterAll(() => env.cleanup())

    it('refuses a larger call on the client, with the size, the limit and the option in the message; the checkout goes on', async () => {
      const client = env.client({ name: 'big', minWorkers: 1 })
      const removed: string[] = []
      client.on('remove', (_worker, reason) => removed.push(reason))
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      const before = await c.echo('before')
      const error = await c.echo(Buffer.alloc(100 * KiB)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PayloadTooLargeError)
      expect(error).toMatchObject({ name: 'PayloadTooLargeError', code: 'FORKD_ERR_PAYLOAD_TOO_LARGE', limit: 64 * KiB })
      const size = (error as PayloadTooLargeError).size
      expect(size).toBeGreaterThan(100 * KiB)
      expect(size).toBeLessThan(100 * KiB + 64)
      expect((error as Error).message).toBe(`big -> echo: the call encodes to ${size} bytes (${(size / KiB).toFixed(1)} KiB), more than the 65536 bytes (64 KiB) ` +
        'the worker accepts in one message; it was not sent (the server\'s maxPayload option, forkd serve --max-payload, sets the limit)')
      // Only that call failed: the same worker answers the next one, and nothing was removed.
      expect(await c.pid()).toBe(c.worker.pid)
      expect(before).toBe('before')
      expect(await c.echo(Buffer.alloc(60 * KiB))).toHaveLength(60 * KiB)
      c.release()
      expect(removed).toEqual([])
    })

    it('fails only the call that is too large among pipelined ones', async () => {
      const client = env.client()
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      const results = await outcomes([c.echo(1), c.echo(Buffer.alloc(65 * KiB)), c.echo(3)])
      expect(results[0]).toBe('ok 1')
      expect(results[1]).toMatch(/^PayloadTooLargeError: -> echo: the call encodes to \d+ bytes \(65\.0 KiB\), more than the 65536 bytes \(64 KiB\) the worker accepts/)
      expect(results[2]).toBe('ok 3')
      c.release()
    })

    it('sends pipelined calls that each fit in frames the worker accepts, though together they would not fit in one', async () => {
      const client = env.client()
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      const pid = c.worker.pid
      // Made in one tick: without the limit they would share one frame of about 120 KiB (close 1009).
      const sizes = await Promise.all([c.echo(Buffer.alloc(40 * KiB)), c.echo(Buffer.alloc(40 * KiB)), c.echo(Buffer.alloc(40 * KiB))])
      expect(sizes.map((b) => (b as Buffer).length)).toEqual([40 * KiB, 40 * KiB, 40 * KiB])
      expect(await c.pid()).toBe(pid)
      c.release()
    })
  })

  describe('a worker with the default maxPayload (64 MiB)', () => {
    let env: TestEnv
    beforeAll(async () => {
      env = await startEnv('echo-worker.mjs', { spares: 1 })
    })
    afterAll(() => env.cleanup())

    it('refuses a 100 MB argument on the client, naming the 64 MiB limit', async () => {
      const client = env.client()
      const c = await client.checkout()
      env.pids.add(c.worker.pid)
      const error = await c.echo(Buffer.alloc(100_000_000)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PayloadTooLargeError)
      expect((error as Error).message).toMatch(/^-> echo: the call encodes to 1000000\d\d bytes \(95\.4 MiB\), more than the 67108864 bytes \(64 MiB\) the worker accepts in one message; it was not sent/)
      expect(await c.echo('still here')).toBe('still here')
      c.release()
    })

    it('names the client\'s maxPayload when a reply is larger than it', async () => {
      const client = env.client({ maxPayload: 1024 })
      const removed: string[] = []
      client.on('remove', (_worker, reason) => removed.push(reason))
      const c = await client.checkout()
      const pid = c.worker.pid
      env.pids.add(pid)
      const error = await c.echo(Buffer.alloc(2 * KiB)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ProtocolError)
      expect((error as Error).message).toBe(`worker ${pid}: a reply was larger than this client's maxPayload (1024 bytes); ` +
        'the connection is closed (the Client\'s maxPayload option raises the limit)')
      expect((error as Error).cause).toMatchObject({ code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' })
      // Fatal for the checkout, like any protocol error.
      await expect(c.echo('x')).rejects.toBe(error)
      c.release()
      expect(removed).toEqual(['fatal'])
      const next = await client.checkout()
      env.pids.add(next.worker.pid)
      expect(next.worker.pid).not.toBe(pid)
      expect(await next.echo('small')).toBe('small')
      next.release()
    })
  })
})
