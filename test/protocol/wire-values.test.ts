import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Limits, UnencodableError } from '@forkd/protocol'
import { RawWebSocket, encodeFrame } from '../support/raw-websocket.js'
import { startEnv, type TestEnv } from '../support/harness.js'

/** `levels` nested one-element arrays around 0. */
const nested = (levels: number): unknown => {
  let value: unknown = 0
  for (let i = 0; i < levels; i++) value = [value]
  return value
}

describe('values on the wire, between a JavaScript client and worker', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('carries integers beyond 2^32 as numbers both ways: a worker adds 1 to 2^40', async () => {
    const c = await env.client().checkout()
    env.pids.add(c.worker.pid)
    const sum = await c.add(2 ** 40, 1)
    expect(sum).toBe(2 ** 40 + 1)
    expect(typeof sum).toBe('number')
    expect(await c.add(-(2 ** 50), -1)).toBe(-(2 ** 50) - 1)
    expect(await c.echo(Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER)
    expect(await c.echo(1_763_900_000_123)).toBe(1_763_900_000_123)
    c.release()
  })

  it('keeps a bigint a bigint whatever its size, and 2^53 and above stay numbers as floats when sent as numbers', async () => {
    const c = await env.client().checkout()
    env.pids.add(c.worker.pid)
    expect(await c.echo([0n, 5n, -1n, 2n ** 40n, 2n ** 64n, -(2n ** 70n)])).toEqual([0n, 5n, -1n, 2n ** 40n, 2n ** 64n, -(2n ** 70n)])
    expect(await c.echo(2 ** 53)).toBe(2 ** 53)
    expect(await c.add(5n, 1n)).toBe(6n)
    c.release()
  })

  it('sends a lone surrogate as U+FFFD, in values and in map keys', async () => {
    const c = await env.client().checkout()
    env.pids.add(c.worker.pid)
    expect(await c.echo({ ['k\udc00']: 'a\ud800b', long: 'x'.repeat(100) + '\ud800' })).toEqual({ 'k\ufffd': 'a\ufffdb', long: 'x'.repeat(100) + '\ufffd' })
    const error = await c.fail('bad \ud800 input').catch((e: unknown) => e as Error)
    expect(error.message).toBe('-> fail: bad \ufffd input')
    c.release()
  })

  it(`lets a call nest its arguments to level ${Limits.maxDepth} of the message and refuses one more before sending`, async () => {
    const c = await env.client().checkout()
    env.pids.add(c.worker.pid)
    // the message is level 1, the arguments array level 2
    expect(await c.echo(nested(Limits.maxDepth - 2))).toEqual(nested(Limits.maxDepth - 2))
    const error = await c.echo(nested(Limits.maxDepth - 1)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnencodableError)
    // nothing was sent: the worker is still there and answers
    expect(await c.pid()).toBe(c.worker.pid)
    c.release()
  })
})

describe('an 8-byte integer from a client that is not forkd\'s', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs')
  })
  afterAll(() => env.cleanup())

  it('arrives in the worker as a number: x + 1 works, and the reply is an integer', async () => {
    const ws = await RawWebSocket.open(env.path)
    env.pids.add(ws.hello.pid)
    // [1, 1, 0, "add", [2^40 as an 8-byte integer, 1], 0], as a CBOR library writes 2^40
    const call = Buffer.from('86 01 01 00 63 616464 82 1b0000010000000000 01 00'.replace(/ /g, ''), 'hex')
    ws.send({ opcode: 2, payload: call })
    await ws.until(() => ws.messages.length >= 2, 'the reply')
    expect(ws.messages[1]).toEqual([2, 1, 2 ** 40 + 1])
    ws.write(encodeFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }))
    await ws.closed()
    expect(ws.closeCode).toBe(1000)
  })
})
