/**
 * A worker retired while its client's handshake was under way (a reload or takeover at that moment)
 * sends its hello and its retire notice in one frame. The client must not grant that connection to
 * a waiting checkout: it closes it as serverReplaced and serves the checkout on the next connection.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Client } from '@forkd/client'
import { MessageType, PROTOCOL_VERSION } from '@forkd/protocol'
import { startFakeWorker, type FakeWorker } from '../support/fake-worker.js'
import { waitFor } from '../support/harness.js'

describe('a retire notice in the frame of the hello', () => {
  let fake: FakeWorker | undefined
  let client: Client | undefined
  afterEach(async () => {
    await client?.close()
    await fake?.close()
  })

  it('keeps the connection from serving any checkout: the waiting checkout gets the next worker', async () => {
    fake = await startFakeWorker({}, { sendHello: false })
    const f = fake
    let connections = 0
    f.nextConnection().then(function greet(conn) {
      connections++
      const hello = [MessageType.Hello, { v: PROTOCOL_VERSION, pid: 800_000 + connections, id: connections, name: 'fake', serverPid: process.pid, checkoutDone: false }]
      if (connections === 1) conn.send(hello, [MessageType.Retire, 'reload'])
      else conn.send(hello)
      void f.nextConnection().then(greet)
    })
    client = new Client({ connect: f.path, minWorkers: 0, maxWorkers: 1, timeout: 10_000 })
    const c = await client.checkout()
    expect(c.worker.pid).toBe(800_002)
    c.release()
    expect(client.stats().retired).toMatchObject({ serverReplaced: 1 })
    await waitFor(() => f.connections[0]!.ws.readyState === f.connections[0]!.ws.CLOSED, 'the retired connection to be closed')
    // Nothing of a checkout (no call, no done) ever reached the retired worker.
    expect(f.connections[0]!.received).toEqual([])
  })
})
