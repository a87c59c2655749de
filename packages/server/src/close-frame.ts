/**
 * The one WebSocket frame the server ever writes: a close frame telling the client why its worker
 * died. ws builds it (its `Sender.frame`, the framing every ws connection uses), so the server does
 * not carry framing code of its own.
 */
import { ws } from '@forkd/protocol/ws'
import { truncateUtf8 } from '@forkd/protocol'

/** The part of ws's Sender this file uses; @types/ws does not declare the class. */
interface FrameBuilder {
  frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[]
}

const { Sender } = ws as unknown as { Sender: FrameBuilder }
const closeOpcode = 0x8

/**
 * An unmasked (server → client) close frame with `code` and `reason`. The reason is cut at a UTF-8
 * character boundary if it is longer than a control frame allows (123 bytes).
 */
export function closeFrame(code: number, reason: string): Buffer {
  const text = truncateUtf8(reason)
  const payload = Buffer.allocUnsafe(2 + Buffer.byteLength(text))
  payload.writeUInt16BE(code, 0)
  payload.write(text, 2, 'utf8')
  return Buffer.concat(Sender.frame(payload, { fin: true, opcode: closeOpcode, mask: false, readOnly: false, rsv1: false }))
}
