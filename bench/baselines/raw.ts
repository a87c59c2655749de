/**
 * Raw-transport baseline, client side: a `ws` client over a Unix socket sending one CBOR frame per
 * call to bench/peers/raw-peer.ts. Given the options forkd's own connection uses (no compression,
 * zero mask, no UTF-8 check), so it is the floor of forkd's transport.
 */
import { Decoder, Encoder } from 'cbor-x'
import WebSocket from 'ws'
import { benchFile, type BenchContext } from '../lib/context.js'
import { startPeerClient, type PeerClient } from '../lib/processes.js'

const zeroMask = (mask: Buffer) => mask.fill(0)

export class RawClient {
  readonly #ws: WebSocket
  readonly #encoder = new Encoder({ useRecords: false, tagUint8Array: false })
  readonly #decoder = new Decoder({ useRecords: false })
  readonly #pending = new Map<number, (value: unknown) => void>()
  #nextId = 1

  private constructor(ws: WebSocket) {
    this.#ws = ws
    ws.on('message', (data) => {
      const [type, id, value] = this.#decoder.decode(data as Buffer) as [string, number, unknown]
      const resolve = this.#pending.get(id)
      if (type !== 'ok' || resolve === undefined) throw new Error(`raw peer sent an unexpected message: ${type} ${id}`)
      this.#pending.delete(id)
      resolve(value)
    })
  }

  static connect(path: string): Promise<RawClient> {
    const ws = new WebSocket(`ws+unix://${path}:/`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      maxPayload: 64 * 1024 * 1024,
      generateMask: zeroMask,
    })
    ws.binaryType = 'nodebuffer'
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawClient(ws)))
      ws.once('error', reject)
    })
  }

  /** One `['call', id, 'echo', x]` frame; resolves with x from `['ok', id, x]`. */
  echo(x: unknown): Promise<unknown> {
    const id = this.#nextId++
    this.#ws.send(this.#encoder.encode(['call', id, 'echo', x]))
    return new Promise((resolve) => this.#pending.set(id, resolve))
  }

  close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    return new Promise((resolve) => {
      this.#ws.once('close', () => resolve())
      this.#ws.close()
    })
  }
}

/** The raw peer and the client connected to it. */
export type RawBaseline = PeerClient<RawClient>

/** Starts the raw peer (pinned like every peer) and connects to it. */
export function startRaw(ctx: BenchContext): Promise<RawBaseline> {
  return startPeerClient(benchFile('peers/raw-peer.js'), ctx.socket('raw'), ctx.options.peerCpus, (path) => RawClient.connect(path))
}
