/**
 * A WebSocket client written by hand over a bare socket, for fuzzing a real worker: it can send any
 * bytes before the upgrade and any frame after it (bad opcodes, reserved bits, unmasked, lying
 * lengths), and it reports exactly what came back (the HTTP answer, messages, the close code).
 */
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { Codec, SUBPROTOCOL, WORKER_PATH, type HelloInfo } from '@forkd/protocol'

const codec = new Codec()

export interface FrameSpec {
  opcode: number
  payload?: Buffer
  fin?: boolean
  /** The three reserved bits, 0-7. */
  rsv?: number
  /** Client frames must be masked; false sends an unmasked frame. */
  masked?: boolean
  /** Declare this payload length instead of the real one (the payload is still what is sent). */
  declaredLength?: number
}

/** Encodes one client frame. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.alloc(0)
  const length = spec.declaredLength ?? payload.length
  const masked = spec.masked ?? true
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | (spec.opcode & 0x0f)]
  const maskBit = masked ? 0x80 : 0
  let ext = Buffer.alloc(0)
  if (length < 126) head.push(maskBit | length)
  else if (length < 65536) {
    head.push(maskBit | 126)
    ext = Buffer.alloc(2)
    ext.writeUInt16BE(length)
  } else {
    head.push(maskBit | 127)
    ext = Buffer.alloc(8)
    ext.writeBigUInt64BE(BigInt(length))
  }
  if (!masked) return Buffer.concat([Buffer.from(head), ext, payload])
  const mask = randomBytes(4)
  const body = Buffer.from(payload)
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!
  return Buffer.concat([Buffer.from(head), ext, mask, body])
}

/** One frame read off the front of `b`: its header bits, its payload and where the next frame starts. */
export interface ReadFrame {
  fin: boolean
  opcode: number
  masked: boolean
  payload: Buffer
  /** The bytes after this frame. */
  rest: Buffer
}

/** The first frame in `b` (an unmasked one: the payload is returned as sent), or undefined while it is incomplete. */
export function readFrame(b: Buffer): ReadFrame | undefined {
  if (b.length < 2) return undefined
  let length = b[1]! & 0x7f
  let offset = 2
  if (length === 126) {
    if (b.length < 4) return undefined
    length = b.readUInt16BE(2)
    offset = 4
  } else if (length === 127) {
    if (b.length < 10) return undefined
    length = Number(b.readBigUInt64BE(2))
    offset = 10
  }
  if (b.length < offset + length) return undefined
  return { fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, masked: (b[1]! & 0x80) !== 0, payload: b.subarray(offset, offset + length), rest: b.subarray(offset + length) }
}

export function upgradeRequest(options: { path?: string; protocol?: string | null; key?: string | null; version?: string } = {}): string {
  const lines = [`GET ${options.path ?? WORKER_PATH} HTTP/1.1`, 'Host: localhost', 'Upgrade: websocket', 'Connection: Upgrade']
  if (options.key !== null) lines.push(`Sec-WebSocket-Key: ${options.key ?? randomBytes(16).toString('base64')}`)
  lines.push(`Sec-WebSocket-Version: ${options.version ?? '13'}`)
  if (options.protocol !== null) lines.push(`Sec-WebSocket-Protocol: ${options.protocol ?? SUBPROTOCOL}`)
  return lines.join('\r\n') + '\r\n\r\n'
}

export class RawWebSocket {
  readonly socket: Socket
  /** The HTTP answer's head (status line and headers), once received. */
  responseHead: string | undefined
  /** Every message the worker sent, decoded; the hello first. */
  readonly messages: unknown[] = []
  /** The code of the worker's close frame (1005 when it had none), once received. */
  closeCode: number | undefined
  /** Set when the socket has closed. */
  ended = false
  /** Bytes received: the HTTP answer, then frames. */
  #buffer: Buffer<ArrayBufferLike> = Buffer.alloc(0)
  readonly #watchers = new Set<() => void>()

  constructor(path: string) {
    this.socket = connect(path)
    this.socket.on('error', () => {})
    this.socket.on('data', (data) => this.#onData(data))
    this.socket.on('close', () => {
      this.ended = true
      this.#notify()
    })
  }

  /** Connects, upgrades and resolves once the hello has arrived. */
  static async open(path: string): Promise<RawWebSocket & { hello: HelloInfo }> {
    const ws = new RawWebSocket(path)
    ws.write(upgradeRequest())
    await ws.until(() => ws.messages.length > 0, 'the hello')
    const hello = ws.messages[0] as [0, HelloInfo]
    if (!Array.isArray(hello) || hello[0] !== 0) throw new Error(`expected a hello, got ${JSON.stringify(hello)}`)
    return Object.assign(ws, { hello: hello[1] })
  }

  write(data: Buffer | string): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data)
  }

  send(spec: FrameSpec): void {
    this.write(encodeFrame(spec))
  }

  /** Resolves once `check()` is true; rejects after `timeout` ms, or if the socket ended first. */
  until(check: () => boolean, what: string, timeout = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#watchers.delete(watch)
        reject(new Error(`timed out waiting for ${what}; close code ${this.closeCode}, ${this.messages.length} messages, head ${JSON.stringify(this.responseHead?.split('\r\n')[0])}`))
      }, timeout)
      const watch = () => {
        if (check()) {
          clearTimeout(timer)
          this.#watchers.delete(watch)
          resolve()
        } else if (this.ended) {
          clearTimeout(timer)
          this.#watchers.delete(watch)
          reject(new Error(`the connection ended while waiting for ${what}; close code ${this.closeCode}, head ${JSON.stringify(this.responseHead?.split('\r\n')[0])}`))
        }
      }
      this.#watchers.add(watch)
      watch()
    })
  }

  /** Resolves once the socket has closed (the worker's side, or ours after its close frame). */
  closed(timeout = 20_000): Promise<void> {
    return this.until(() => this.ended, 'the connection to close', timeout).catch((error: Error) => {
      if (!this.ended) throw error
    })
  }

  destroy(): void {
    this.socket.destroy()
  }

  #notify(): void {
    for (const watch of [...this.#watchers]) watch()
  }

  #onData(data: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? data : Buffer.concat([this.#buffer, data])
    if (this.responseHead === undefined) {
      const end = this.#buffer.indexOf('\r\n\r\n')
      if (end === -1) return
      this.responseHead = this.#buffer.subarray(0, end).toString('latin1')
      this.#buffer = this.#buffer.subarray(end + 4)
      if (!this.responseHead.startsWith('HTTP/1.1 101 ')) {
        this.#buffer = Buffer.alloc(0)
        this.#notify()
        return
      }
    }
    this.#parseFrames()
    this.#notify()
  }

  #parseFrames(): void {
    for (;;) {
      const frame = readFrame(this.#buffer)
      if (frame === undefined) return
      const { opcode, payload } = frame
      this.#buffer = frame.rest
      if (opcode === 0x2) this.messages.push(...codec.decodeFrame(payload))
      else if (opcode === 0x8 && this.closeCode === undefined) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
        // Answer like a well-behaved client: a close frame back, then our end of the socket.
        this.write(encodeFrame({ opcode: 0x8, payload: payload.subarray(0, 2) }))
        this.socket.end()
      }
    }
  }
}
