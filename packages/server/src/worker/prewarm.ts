/**
 * Runs one connection's upgrade and a short checkout over a throwaway local socket, while the
 * worker is still a spare. A fresh Node process compiles its code lazily, function by function, on first
 * use: without this the first (and only, with `maxCheckouts: 1`) client of every worker would wait
 * for the compilation of the http, ws, CBOR and session paths its connection runs through. Measured
 * on a 2-core machine, the first call on a fresh worker took about 2 ms against 0.1 ms for a warm
 * one when only the upgrade was warmed.
 *
 * The server side is the real one (the client side is a bare socket, warm-client.ts): the upgrade
 * goes through acceptUpgrade (without TLS or a token,
 * whose branches stay cold), and the checkout through a real WorkerSession serving a method of its
 * own (never the module's: a worker module's methods may have effects), in the same call scope as
 * the real sessions: its hello, two frames of calls and the release. Best effort: any failure or a
 * slow machine just skips it.
 */
import type { AsyncLocalStorage } from 'node:async_hooks'
import { createServer } from 'node:net'
import { Codec, MessageType, type HelloInfo } from '@forkd/protocol'
import { currentSink, installSink } from './context.js'
import { WorkerSession, type CallScope, type SetupState } from './session.js'
import { acceptUpgrade } from './upgrade.js'
import { WarmClient } from './warm-client.js'
import { removeWarmSocket, warmSocketPath } from '../warm-socket.js'

const warmDefinition = { interface: { warm: (x: unknown) => x } }
const noSetup: SetupState = { done: Promise.resolve(), settled: true, failed: false, error: undefined }

export interface PrewarmOptions {
  hello: HelloInfo
  maxPayload: number
  handshakeTimeout: number
  callScope: AsyncLocalStorage<CallScope> | undefined
}

/** Resolves with why the warm-up did not complete, or undefined when it did; never rejects. */
export async function prewarm({ hello, maxPayload, handshakeTimeout, callScope }: PrewarmOptions): Promise<string | undefined> {
  const path = warmSocketPath(process.pid)
  // left by a dead process that had this pid, killed while it warmed up
  removeWarmSocket(path)
  // A worker that exits during the warm-up (its server gone, a retire) never reaches `finally`.
  const removeOnExit = () => removeWarmSocket(path)
  process.once('exit', removeOnExit)
  // With one connection per process a session installs itself as the sink of `log` and `emit`;
  // the real sessions must find the process as it was.
  const sinkBefore = currentSink()
  const server = createServer((socket) =>
    acceptUpgrade(socket, { maxPayload, handshakeTimeout }, {
      upgraded(ws) {
        new WorkerSession(ws, { definition: warmDefinition, setup: noSetup, hello, onEnd: () => {}, onBusy: () => {}, callScope }, new Codec())
      },
      gone() {},
    }))
  const codec = new Codec()
  let client: WarmClient | undefined
  const deadline = new Promise<string>((resolve) => setTimeout(() => resolve('it took more than 2 s'), 2_000).unref())
  let frames = 0
  let oks = 0
  const onPayload = (payload: Buffer) => {
    frames++
    for (const m of codec.decodeFrame(payload) as unknown[][]) if (m[0] === MessageType.Ok) oks++
  }
  try {
    return await Promise.race([
      (async () => {
        await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve))
        client = new WarmClient(path, onPayload)
        await client.until(() => frames >= 1) // the hello
        client.send(codec.frame([codec.encode([MessageType.Call, 1, 0, 'warm', ['warm'], 0])]))
        await client.until(() => oks >= 1)
        client.send(codec.frame([codec.encode([MessageType.Call, 2, 0, 'warm', [2], 0]), codec.encode([MessageType.Call, 3, 0, 'warm', [{ warm: true }], 0])]))
        await client.until(() => oks >= 3)
        client.send(codec.frame([codec.encode([MessageType.Done])]))
        client.close()
        return undefined
      })(),
      deadline,
    ])
  } catch (error) {
    // nothing to warm is no reason to fail
    return (error as Error)?.message ?? String(error)
  } finally {
    client?.destroy()
    server.close()
    installSink(sinkBefore)
    process.off('exit', removeOnExit)
    removeWarmSocket(path)
  }
}
