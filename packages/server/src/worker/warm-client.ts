/**
 * The client end of a spare's warm-up connection (prewarm.ts), written with a bare socket: the
 * upgrade request and the frames are a few fixed bytes, and a worker never needs ws's client side,
 * whose first use (http's client request, its response parser) would otherwise be compiled in every
 * worker start for nothing. It speaks only what the warm-up needs: one upgrade, binary frames of
 * fewer than 126 bytes each way (masked with a zero key, as RFC 6455 asks of a client), a close.
 */
import { connect, type Socket } from 'node:net'
import { SUBPROTOCOL, WORKER_PATH } from '@forkd/protocol'

/** 16 zero bytes in base64: a key ws accepts; the accept value it answers is not checked here. */
const key = 'AAAAAAAAAAAAAAAAAAAAAA=='
const upgradeRequest =
  `GET ${WORKER_PATH} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${SUBPROTOCOL}\r\n\r\n`

export class WarmClient {
  readonly #socket: Socket
  #buffered = Buffer.alloc(0)
  #upgraded = false
  readonly #onPayload: (payload: Buffer) => void
  #wake: (() => void) | undefined
  #failed: Error | undefined

  /** `onPayload` gets the payload of every binary frame received, in order. */
  constructor(path: string, onPayload: (payload: Buffer) => void) {
    this.#onPayload = onPayload
    this.#socket = connect(path, () => this.#socket.write(upgradeRequest))
    this.#socket.on('data', (chunk: Buffer) => this.#read(chunk))
    const fail = (error: Error) => {
      this.#failed ??= error
      this.#wake?.()
    }
    this.#socket.on('error', fail)
    this.#socket.on('close', () => fail(new Error('warm-up connection closed')))
  }

  /** Resolves once `test` holds (checked after each read); rejects if the connection ends first. */
  until(test: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (test()) resolve()
        else if (this.#failed !== undefined) reject(this.#failed)
        else this.#wake = check
      }
      check()
    })
  }

  /** Sends one binary frame (its payload must be under 126 bytes). */
  send(payload: Buffer): void {
    if (payload.length >= 126) throw new RangeError('a warm-up frame holds fewer than 126 bytes')
    this.#socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | payload.length, 0, 0, 0, 0]), payload]))
  }

  /** A close frame (1000), then the socket is ended. */
  close(): void {
    this.#socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]))
  }

  destroy(): void {
    this.#socket.destroy()
  }

  #read(chunk: Buffer): void {
    let data = Buffer.concat([this.#buffered, chunk])
    if (!this.#upgraded) {
      const end = data.indexOf('\r\n\r\n')
      if (end < 0) return void (this.#buffered = data)
      if (!data.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 101 ')) return void this.#socket.destroy(new Error('warm-up upgrade refused'))
      this.#upgraded = true
      data = data.subarray(end + 4)
    }
    // server frames are unmasked: [FIN | opcode, length (< 126, or 126 and two bytes)]
    while (data.length >= 2) {
      let length = data[1]! & 0x7f
      let head = 2
      if (length === 126) {
        if (data.length < 4) break
        length = data.readUInt16BE(2)
        head = 4
      } else if (length === 127) return void this.#socket.destroy(new Error('warm-up frame too large'))
      if (data.length < head + length) break
      if ((data[0]! & 0x0f) === 0x2) this.#onPayload(data.subarray(head, head + length))
      data = data.subarray(head + length)
    }
    this.#buffered = data
    this.#wake?.()
  }
}
