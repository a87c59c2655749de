import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CloseCode } from '@forkd/protocol'
import { connectRaw } from '../support/raw-connection.js'
import { startEnv, waitForExit, type TestEnv } from '../support/harness.js'

describe('a bad frame from a client', () => {
  let env: TestEnv
  beforeAll(async () => {
    env = await startEnv('echo-worker.mjs', { maxPayload: 64 * 1024 })
  })
  afterAll(() => env.cleanup())

  async function expectServerStillServes() {
    const client = env.client({ minWorkers: 1, maxWorkers: 1 })
    const c = await client.checkout()
    env.pids.add(c.worker.pid)
    expect(await c.echo('still serving')).toBe('still serving')
    c.release()
    await client.close()
  }

  it('that is not CBOR closes that connection with a protocol error naming the defect; the server keeps serving', async () => {
    const other = await connectRaw(env.path)
    const bad = await connectRaw(env.path)
    env.pids.add(other.hello.pid).add(bad.hello.pid)
    bad.ws.send(Buffer.from([0xff, 0xfe, 0xfd]))
    const { code, reason } = await bad.closed
    expect(code).toBe(CloseCode.ProtocolError)
    expect(reason).toMatch(/^malformed frame: /)
    await waitForExit([bad.hello.pid])
    // a connection that was open at the same time is untouched
    expect(await other.call('echo', 'fine')).toEqual([2, 1, 'fine'])
    other.ws.close()
    await expectServerStillServes()
  })

  it('of the wrong shape closes that connection with a protocol error', async () => {
    const bad = await connectRaw(env.path)
    env.pids.add(bad.hello.pid)
    const { Codec } = await import('@forkd/protocol')
    bad.ws.send(new Codec().encode([1, 'not an id', 0, 'echo', [], 0]))
    const { code, reason } = await bad.closed
    expect(code).toBe(CloseCode.ProtocolError)
    expect(reason).toContain('malformed message: call must be')
    await waitForExit([bad.hello.pid])
  })

  it('larger than maxPayload is refused before it is buffered (close 1009); the server keeps serving', async () => {
    const bad = await connectRaw(env.path)
    env.pids.add(bad.hello.pid)
    bad.ws.send(Buffer.alloc(65 * 1024, 1))
    const { code } = await bad.closed
    expect(code).toBe(CloseCode.TooBig)
    await waitForExit([bad.hello.pid])
    await expectServerStillServes()
  })

  it('as text closes the connection with a protocol error', async () => {
    const bad = await connectRaw(env.path)
    env.pids.add(bad.hello.pid)
    bad.ws.send('hello?')
    const { code, reason } = await bad.closed
    expect(code).toBe(CloseCode.ProtocolError)
    expect(reason).toContain('text frames')
  })
})
