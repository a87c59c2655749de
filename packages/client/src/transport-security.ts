/**
 * The client's side of a secured TCP listener: the `tls` and `auth` options, checked and read once
 * (PEM files are read at construction, so a missing file is an option error, not a failure on every
 * connection attempt), and the rule that says which connection failures are refusals of the
 * client's credentials (AuthError) rather than a server that is not there.
 */
import { isBearerToken, tokenRule } from '@forkd/protocol'
import { isPemSource, readPem, type OptionChecks, type PemSource } from '@forkd/protocol/internal'

/**
 * TLS for TCP endpoints (`tls` client option). Each key or certificate is PEM text, a Buffer
 * holding PEM, or the path of a PEM file (read when the client is made).
 */
export interface ClientTlsOptions {
  /** The CA certificate(s) the server's certificate must chain to. Default: the system's CAs. */
  ca?: PemSource | readonly PemSource[]
  /** A client certificate chain, for a server with mutual TLS (`requestCert`); with `key`. */
  cert?: PemSource
  /** The private key of `cert`. */
  key?: PemSource
  /**
   * The name the server's certificate must carry, when it is not the host connected to (e.g. the
   * Service name while connecting to a pod's address found by DNS). Also sent as SNI.
   */
  servername?: string
}

/** Bearer-token authentication (`auth` client option), for a server started with `auth.tokens`. */
export interface ClientAuthOptions {
  /**
   * The token sent as `Authorization: Bearer TOKEN` with every new worker connection, or a
   * function returning the current one (called for each new connection, so a rotated token is
   * picked up without a new client).
   */
  token: string | (() => string)
}

/**
 * `tls` and `auth` as the client keeps them (`client.options.security`): PEM read, the token as a
 * function. What every connection uses; undefined parts are not used.
 */
export interface TransportSecurity {
  /** Options for `tls.connect`, PEM already read. */
  tls: {
    /** The CA certificates, PEM. */
    ca?: string[]
    /** The client certificate, PEM. */
    cert?: string
    /** Its private key, PEM. */
    key?: string
    /** The name the server's certificate must carry. */
    servername?: string
  } | undefined
  /** The current token. */
  token: (() => string) | undefined
}

/** Checks and reads `tls` and `auth`; an option error (TypeError) names the option and the rule. */
export function normalizeSecurity(tls: unknown, auth: unknown, fail: OptionChecks['fail']): TransportSecurity {
  return { tls: tls === undefined ? undefined : readTls(tls, fail), token: auth === undefined ? undefined : tokenSource(auth, fail) }
}

function readTls(tls: unknown, fail: OptionChecks['fail']): NonNullable<TransportSecurity['tls']> {
  const rule = 'an object with ca, cert, key (PEM text, a Buffer or a file path) and servername'
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) fail('tls', rule, tls)
  const given = tls as Record<string, unknown>
  for (const key of Object.keys(given)) if (!['ca', 'cert', 'key', 'servername'].includes(key)) fail('tls', `${rule} (unknown key "${key}")`, tls)
  const pem = (name: string, value: unknown): string => {
    if (!isPemSource(value)) fail(`tls.${name}`, 'PEM text, a Buffer holding PEM, or the path of a PEM file', value)
    try {
      return readPem(value as PemSource)
    } catch (error) {
      return fail(`tls.${name}`, `PEM text, a Buffer holding PEM, or the path of a readable PEM file (${(error as Error).message})`, value)
    }
  }
  const out: NonNullable<TransportSecurity['tls']> = {}
  if (given.ca !== undefined) out.ca = (Array.isArray(given.ca) ? given.ca : [given.ca]).map((c, i) => pem(Array.isArray(given.ca) ? `ca[${i}]` : 'ca', c))
  if (given.cert !== undefined) out.cert = pem('cert', given.cert)
  if (given.key !== undefined) out.key = pem('key', given.key)
  if ((out.cert === undefined) !== (out.key === undefined)) fail(out.cert === undefined ? 'tls.cert' : 'tls.key', 'given with the other (a client certificate needs its key)', undefined)
  if (given.servername !== undefined) {
    if (typeof given.servername !== 'string' || given.servername === '') fail('tls.servername', 'a non-empty host name', given.servername)
    out.servername = given.servername as string
  }
  return out
}

function tokenSource(auth: unknown, fail: OptionChecks['fail']): () => string {
  if (typeof auth !== 'object' || auth === null || !('token' in auth) || Object.keys(auth).length !== 1)
    fail('auth', '{ token } with a token or a function returning one', auth)
  const token = (auth as { token: unknown }).token
  if (typeof token === 'function') return token as () => string
  if (!isBearerToken(token)) fail('auth.token', `${tokenRule}, or a function returning one`, '(a value that is not shown)')
  return () => token as string
}

/**
 * TLS errors that say the server's certificate was not accepted by this client: a wrong `ca`, a
 * name mismatch, an expired certificate. Retrying does not change them.
 */
const certificateErrors = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
  'CERT_REJECTED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH',
])

/** Whether a socket or TLS error is a refusal of credentials (either side's certificate). */
export function isCredentialRefusal(error: Error | undefined): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === undefined) return false
  // The server refused this client's certificate (or the lack of one) during the handshake.
  return certificateErrors.has(code) || /^ERR_SSL_.*ALERT_(CERTIFICATE|BAD_CERTIFICATE|UNKNOWN_CA|HANDSHAKE_FAILURE)/.test(code)
}
