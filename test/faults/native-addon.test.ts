/**
 * Issue 12, review: a native addon from the registry (@node-rs/crc32, a Node-API addon shipped as
 * prebuilt binaries inside registry packages) loads in worker processes and is called through
 * forkd like any other code: each worker process maps its own copy of the shared object. A crash
 * of the process (SIGSEGV, as a fault in native code ends it) costs that worker only.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkerDiedError } from '@forkd/client'
import { startEnv, waitForExit, warm, type TestEnv } from '../support/harness.js'

/** The standard table-driven CRC-32 (IEEE), as a reference the addon's results are checked against. */
const table = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

describe('a native addon in worker processes', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('addon-worker.mjs', { spares: 2 })
  })
  afterAll(() => env.cleanup())

  it('is loaded in each worker process and answers through forkd', async () => {
    const client = env.client({ minWorkers: 2, maxWorkers: 2, timeout: 10_000 })
    await warm(client, 2)
    const [a, b] = await Promise.all([client.checkout(), client.checkout()])
    try {
      expect(a.worker.pid).not.toBe(b.worker.pid)
      for (const c of [a, b]) {
        env.pids.add(c.worker.pid)
        // The addon's shared object is mapped into the worker process, not into this one.
        const modules = (await c.nativeModules()) as string[]
        expect(modules.some((p) => /crc32\.linux-x64-(gnu|musl)\.node$/.test(p))).toBe(true)
        // The check values of CRC-32 and CRC-32C ("123456789").
        expect(await c.crc32('123456789')).toBe(0xcbf43926)
        expect(await c.crc32c('123456789')).toBe(0xe3069283)
        expect(await c.crc32('hello')).toBe(crc32(Buffer.from('hello')))
        // Continuing from an earlier state: crc32(ab) = crc32(b, crc32(a)).
        expect(await c.crc32('world', await c.crc32('hello '))).toBe(crc32(Buffer.from('hello world')))
        const bytes = randomBytes(1 << 20)
        expect(await c.crc32OfBytes(bytes)).toBe(crc32(bytes))
      }
    } finally {
      a.release()
      b.release()
    }
  })

  it('costs one worker when the process crashes (SIGSEGV): the caller is told the signal, the next worker has the addon', async () => {
    const client = env.client({ minWorkers: 1, maxWorkers: 1, timeout: 10_000 })
    const c = await client.checkout()
    const crashed = c.worker.pid
    env.pids.add(crashed)
    const error = await c.crash().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerDiedError)
    expect((error as WorkerDiedError).signal).toBe('SIGSEGV')
    expect((error as Error).message).toBe(`worker connection died (pid ${crashed}): worker killed by SIGSEGV`)
    c.release()
    await waitForExit([crashed])
    const next = await client.checkout()
    try {
      env.pids.add(next.worker.pid)
      expect(next.worker.pid).not.toBe(crashed)
      expect(await next.crc32('123456789')).toBe(0xcbf43926)
    } finally {
      next.release()
    }
  })
})
