/**
 * Bearer tokens (RFC 6750) as forkd carries them: `Authorization: Bearer TOKEN` on the upgrade
 * request. One syntax check for the server's `auth.tokens`, the client's `auth.token` and the
 * lines of `--auth-token-file`, so a token either side accepts is one the other can send.
 */

/** The header a client sends its token in. */
export const AUTHORIZATION_HEADER = 'Authorization'

/** Shortest token accepted: a guessable token protects nothing. */
export const minTokenLength = 16
/** Longest token accepted: it travels in one HTTP header line. */
export const maxTokenLength = 4096

/** RFC 6750's `b64token`: letters, digits and `-._~+/`, then optional `=` padding. */
const b64token = /^[A-Za-z0-9\-._~+/]+=*$/

/** What a token must be, as the tail of an option error ("must be ..."). */
export const tokenRule = `a bearer token of ${minTokenLength} to ${maxTokenLength} characters from A-Z a-z 0-9 - . _ ~ + / (then optional = padding)`

/** Whether `token` is a string a forkd peer accepts as a bearer token. */
export function isBearerToken(token: unknown): token is string {
  return typeof token === 'string' && token.length >= minTokenLength && token.length <= maxTokenLength && b64token.test(token)
}

/** The Authorization header value for `token`. */
export function bearerHeader(token: string): string {
  return `Bearer ${token}`
}

/** The token of an Authorization header value (`Bearer TOKEN`, the scheme in any case), or undefined. */
export function parseBearer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const match = /^Bearer +(\S+) *$/i.exec(header)
  return match === null ? undefined : match[1]
}

/**
 * The tokens of a token file: one per line; blank lines and lines starting with `#` are skipped,
 * spaces around a token are ignored. Throws an Error naming the line of a malformed token (never
 * quoting it: the file holds secrets).
 */
export function parseTokenFile(text: string): string[] {
  const tokens: string[] = []
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    if (!isBearerToken(line)) throw new Error(`line ${index + 1} is not ${tokenRule}`)
    tokens.push(line)
  }
  return tokens
}
