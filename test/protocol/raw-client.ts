/**
 * The conformance runner's WebSocket client, written over a bare Unix socket so that it can send
 * any bytes and record exactly what comes back: the HTTP answer, every message with its bytes (a
 * frame is split into its CBOR items), the close frame's code and reason, or the stream ending
 * without one (1006).
 */
import { connect, type Socket } from 'node:net'
import { encodeFrame, readFrame, type FrameSpec } from '../support/raw-websocket.js'
import { parseSequence, type Item } from './cbor-model.js'

export interface HttpAnswer {
  status: number
  /** Header names in lower case. */
  headers: Record<string, string>
  head: string
}

export class RawClient {
  readonly socket: Socket
  http: HttpAnswer | undefined
  /** Messages received, in order, across frames. */
  readonly messages: Item[] = []
  /** Index of the next message an expectation consumes. */
  next = 0
  /** The peer's close frame; undefined until one arrives. */
  close: { code: number; reason: string } | undefined
  /** Set once the stream has ended, with or without a close frame. */
  ended = false
  /** Text frames, pings and other non-binary data frames received, by opcode. */
  readonly otherFrames: number[] = []
  /** What the stream held that is not WebSocket (bytes after an HTTP error answer, a bad frame). */
  problem: string | undefined
  #buffer: Buffer = Buffer.alloc(0)
  #fragments: Buffer[] | undefined
  #sentClose = false
  readonly #watchers = new Set<() => void>()

  constructor(path: string) {
    this.socket = connect(path)
    this.socket.on('error', () => {})
    this.socket.on('data', (data: Buffer) => this.#onData(data))
    this.socket.on('close', () => {
      this.ended = true
      this.#notify()
    })
  }

  write(data: Buffer | string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data)
  }

  send(spec: FrameSpec): void {
    if (spec.opcode === 0x8) this.#sentClose = true
    this.write(encodeFrame(spec))
  }

  /** Resolves once `check()` is true; rejects after `timeout` ms, or when the stream ended first. */
  until(check: () => boolean, what: string, timeout: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const watch = () => {
        let done: boolean
        try {
          done = check()
        } catch (error) {
          finish()
          reject(error as Error)
          return
        }
        if (done) {
          finish()
          resolve()
        } else if (this.ended) {
          finish()
          reject(new Error(`the connection ended while waiting for ${what}; ${this.describe()}`))
        }
      }
      const timer = setTimeout(() => {
        finish()
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}; ${this.describe()}`))
      }, timeout)
      const finish = () => {
        clearTimeout(timer)
        this.#watchers.delete(watch)
      }
      this.#watchers.add(watch)
      watch()
    })
  }

  /** A summary for failure messages: the HTTP status, the messages so far, how it ended. */
  describe(): string {
    const status = this.http === undefined ? 'no HTTP answer' : `HTTP ${this.http.status}`
    const close = this.close === undefined ? (this.ended ? 'ended without a close frame' : 'open') : `closed ${this.close.code} ${JSON.stringify(this.close.reason)}`
    return `${status}, ${this.messages.length} messages (${this.next} consumed), ${close}${this.problem ? `, ${this.problem}` : ''}`
  }

  destroy(): void {
    this.socket.destroy()
  }

  #notify(): void {
    for (const watch of [...this.#watchers]) watch()
  }

  #onData(data: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data])
    if (this.http === undefined) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      const head = this.#buffer.subarray(0, end).toString('latin1')
      this.#buffer = this.#buffer.subarray(end + 4)
      const [statusLine, ...lines] = head.split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(':')
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      this.http = { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN), headers, head }
      if (this.http.status !== 101) {
        // an error answer's body is not WebSocket
        this.#buffer = Buffer.alloc(0)
        this.#notify()
        return
      }
    } else if (this.http.status !== 101) {
      this.#notify()
      return
    }
    try {
      this.#parseFrames()
    } catch (error) {
      this.problem = (error as Error).message
      this.socket.destroy()
    }
    this.#notify()
  }

  #parseFrames(): void {
    for (;;) {
      const frame = readFrame(this.#buffer)
      if (frame === undefined) {
        // A masked header is refused as soon as it is there, not once its payload has arrived.
        if (this.#buffer.length >= 2 && (this.#buffer[1]! & 0x80) !== 0) throw new Error('the worker sent a masked frame')
        return
      }
      const { fin, opcode, payload } = frame
      if (frame.masked) throw new Error('the worker sent a masked frame')
      this.#buffer = frame.rest
      if (opcode === 0x8) {
        this.#onClose(payload)
        continue
      }
      if (opcode === 0x9) {
        this.write(encodeFrame({ opcode: 0xa, payload }))
        continue
      }
      if (opcode === 0xa) continue
      if (opcode === 0x0 || opcode === 0x2) {
        if (opcode === 0x2 && this.#fragments !== undefined) throw new Error('a new message inside a fragmented one')
        if (opcode === 0x0 && this.#fragments === undefined) throw new Error('a continuation frame with no message to continue')
        const parts = [...(this.#fragments ?? []), payload]
        if (!fin) {
          this.#fragments = parts
          continue
        }
        this.#fragments = undefined
        this.messages.push(...parseSequence(Buffer.concat(parts)))
        continue
      }
      this.otherFrames.push(opcode)
    }
  }

  #onClose(payload: Buffer): void {
    if (this.close !== undefined) return
    this.close = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') }
    // Answer like a client that follows RFC 6455: a close frame back (unless we sent the first), then our end.
    if (!this.#sentClose) this.write(encodeFrame({ opcode: 0x8, payload: payload.subarray(0, 2) }))
    this.socket.end()
  }
}
