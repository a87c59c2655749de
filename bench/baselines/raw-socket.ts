/**
 * Raw Unix socket baseline, client side: CBOR messages with a length prefix over a plain socket
 * (bench/peers/raw-socket-peer.ts), every call made in one tick sent in one write. No WebSocket,
 * no protocol: the most a pipelined burst can get through a socket between two Node processes.
 */
import { connect, type Socket } from 'node:net'
import { Decoder, Encoder } from 'cbor-x'
import { benchFile, type BenchContext } from '../lib/context.js'
import { startPeerClient, type PeerClient } from '../lib/processes.js'
import { LengthPrefixed, lengthPrefix } from './length-prefixed.js'

export class RawSocketClient {
  readonly #socket: Socket
  readonly #encoder = new Encoder({ useRecords: false, tagUint8Array: false })
  readonly #decoder = new Decoder({ useRecords: false })
  readonly #pending = new Map<number, (value: unknown) => void>()
  readonly #frames = new LengthPrefixed()
  #outgoing: Buffer[] = []
  #nextId = 1

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.on('data', (chunk) => {
      for (const body of this.#frames.push(chunk)) {
        const [type, id, value] = this.#decoder.decode(body) as [string, number, unknown]
        const resolve = this.#pending.get(id)
        if (type !== 'ok' || resolve === undefined) throw new Error(`raw socket peer sent an unexpected message: ${type} ${id}`)
        this.#pending.delete(id)
        resolve(value)
      }
    })
  }

  static connect(path: string): Promise<RawSocketClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path, () => resolve(new RawSocketClient(socket)))
      socket.once('error', reject)
    })
  }

  /** Queues one call; the calls of this tick leave in one write. */
  echo(x: unknown): Promise<unknown> {
    const id = this.#nextId++
    if (this.#outgoing.length === 0) process.nextTick(() => this.#flush())
    this.#outgoing.push(...lengthPrefix(this.#encoder.encode(['call', id, 'echo', x])))
    return new Promise((resolve) => this.#pending.set(id, resolve))
  }

  #flush(): void {
    const buffers = this.#outgoing
    this.#outgoing = []
    this.#socket.write(Buffer.concat(buffers))
  }

  close(): Promise<void> {
    if (this.#socket.destroyed) return Promise.resolve()
    return new Promise((resolve) => this.#socket.end(() => resolve()))
  }
}

/** The raw socket peer and the client connected to it. */
export type RawSocketBaseline = PeerClient<RawSocketClient>

/** Starts the raw socket peer (pinned like every peer) and connects to it. */
export function startRawSocket(ctx: BenchContext): Promise<RawSocketBaseline> {
  return startPeerClient(benchFile('peers/raw-socket-peer.js'), ctx.socket('sock'), ctx.options.peerCpus, (path) => RawSocketClient.connect(path))
}
