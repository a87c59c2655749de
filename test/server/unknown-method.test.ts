/**
 * Issue 18 (5): a call of a method a map interface does not have, and a call of the checkout itself
 * (null method) on a map interface, both answer an error UnknownMethodError /
 * FORKD_ERR_UNKNOWN_METHOD of kind 'throw', whose message names the methods there are.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Codec } from '@forkd/protocol'
import { startEnv, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

describe('calls of no method of a map interface', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('answer UnknownMethodError naming the known methods, for an unknown name and for null', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1 })
    const conn = await connectRaw(env.path)
    const unknown = await conn.call('nope')
    expect(unknown).toEqual([3, 1, {
      name: 'UnknownMethodError',
      code: 'FORKD_ERR_UNKNOWN_METHOD',
      kind: 'throw',
      message: 'unknown method "nope" (this worker has: echo, pid)',
      stack: expect.stringContaining('UnknownMethodError: unknown method "nope"'),
    }])
    // The error moved the worker's epoch to 1: a call of epoch 1 runs.
    conn.ws.send(new Codec().encode([1, 2, 1, null, [], 0]))
    const nullMethod = await conn.waitFor((m) => Array.isArray(m) && m[1] === 2)
    expect(nullMethod).toEqual([3, 2, {
      name: 'UnknownMethodError',
      code: 'FORKD_ERR_UNKNOWN_METHOD',
      kind: 'throw',
      message: 'this worker has a map interface: call one of its methods (it has: echo, pid), not the checkout itself',
      stack: expect.any(String),
    }])
    conn.ws.close()
  })
})
