import { connect, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { startEnv, waitFor, workerChildren, type TestEnv } from '../support/harness.js'
import { connectRaw } from '../support/raw-connection.js'

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    socket.on('data', (d) => (text += d))
    socket.on('close', () => resolve(text))
    socket.on('error', () => {})
  })
}

describe('Server at capacity', () => {
  let env: TestEnv | undefined
  afterEach(async () => {
    await env?.cleanup()
    env = undefined
    expect(workerChildren()).toEqual([])
  })

  it('queues connections beyond maxWorkers and answers 503 once maxPendingConnections are waiting', async () => {
    env = await startEnv('plain-worker.mjs', { spares: 1, maxWorkers: 1, maxPendingConnections: 1 })
    const busy = await connectRaw(env.path)

    // The only worker is taken: the next connection waits for one...
    const waiting = connectRaw(env.path)
    await waitFor(() => env!.server.status().pending === 1, 'a pending connection')
    expect(env.server.status()).toMatchObject({ active: 1, starting: 0, spares: 0 })

    // ...and the one after that is refused, with a reason.
    const refused = connect(env.path)
    const response = await readAll(refused)
    expect(response).toBe('HTTP/1.1 503 Service Unavailable\r\nX-Forkd-Error: server at capacity\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n\r\nserver at capacity')
    expect(env.server.status().refused).toBe(1)

    // When the busy worker's connection ends, the waiting connection gets a new worker.
    busy.ws.close()
    const served = await waiting
    expect(served.hello.pid).not.toBe(busy.hello.pid)
    expect(await served.call('echo', 'finally')).toEqual([2, 1, 'finally'])
    served.ws.close()
  })
})
