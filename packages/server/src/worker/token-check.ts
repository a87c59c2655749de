/**
 * The bearer-token check of an upgrade request. Tokens are kept as SHA-256 digests and compared
 * with `timingSafeEqual`, digest against digest (equal lengths whatever was sent), against every
 * accepted token without stopping at a match: the time taken says nothing about how close a guess
 * was, nor which token matched.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { parseBearer } from '@forkd/protocol'

/** Why a request is refused, for `X-Forkd-Error` and `WWW-Authenticate`; undefined: it may pass. */
export interface TokenRefusal {
  reason: string
  /** The `WWW-Authenticate` challenge (RFC 6750). */
  challenge: string
}

export type TokenCheck = (authorization: string | undefined) => TokenRefusal | undefined

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest()

/** A check that accepts any of `tokens`. */
export function tokenCheck(tokens: readonly string[]): TokenCheck {
  const accepted = tokens.map(digest)
  return (authorization) => {
    if (authorization === undefined)
      return { reason: 'missing bearer token: send Authorization: Bearer TOKEN', challenge: 'Bearer realm="forkd"' }
    const token = parseBearer(authorization)
    if (token === undefined)
      return { reason: 'malformed Authorization header: expected Bearer TOKEN', challenge: 'Bearer realm="forkd", error="invalid_request"' }
    const given = digest(token)
    let match = false
    for (const d of accepted) if (timingSafeEqual(given, d)) match = true
    return match ? undefined : { reason: 'invalid bearer token', challenge: 'Bearer realm="forkd", error="invalid_token"' }
  }
}
