/** The one WebSocket frame the server ever writes: a close frame telling the client why its worker died. */

/** Longest close reason: a control frame's payload is at most 125 bytes, 2 of which are the code. */
const maxReasonBytes = 123

/**
 * An unmasked (server → client) close frame with `code` and `reason`. The reason is cut at a UTF-8
 * character boundary if it is longer than 123 bytes.
 */
export function closeFrame(code: number, reason: string): Buffer {
  let text = Buffer.from(reason, 'utf8')
  if (text.length > maxReasonBytes) {
    let cut = maxReasonBytes
    while (cut > 0 && (text[cut]! & 0xc0) === 0x80) cut--
    text = text.subarray(0, cut)
  }
  return Buffer.concat([Buffer.from([0x88, 2 + text.length, code >> 8, code & 0xff]), text])
}
