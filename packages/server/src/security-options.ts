/**
 * The `tls` and `auth` server options: their shapes, checked without touching the file system
 * (files named in `tls` are read by `loadTls`, when the server starts and on reload). Error
 * messages never quote a key, a certificate or a token.
 */
import { createSecureContext } from 'node:tls'
import { isBearerToken, tokenRule } from '@forkd/protocol'
import { isPemSource, readPem, type PemSource } from '@forkd/protocol/internal'

/** TLS on a TCP listener. Each of `key`, `cert` and `ca` is PEM text, a Buffer, or a PEM file's path. */
export interface ServerTlsOptions {
  /** The server's private key. */
  key: PemSource
  /** The server's certificate (chain). */
  cert: PemSource
  /** The CA(s) that sign client certificates; required with `requestCert`. */
  ca?: PemSource | readonly PemSource[]
  /** Mutual TLS: refuse, during the handshake, a client without a certificate signed by `ca`. Default false. */
  requestCert?: boolean
}

/** Bearer-token authentication. */
export interface ServerAuthOptions {
  /** The tokens accepted (any of them), each 16 to 4096 characters of RFC 6750's token alphabet. */
  tokens: readonly string[]
}

/** `tls` after checks: the sources as given (a path is read again on reload). */
export interface NormalizedTls {
  key: PemSource
  cert: PemSource
  ca: PemSource[]
  requestCert: boolean
}

/** The PEM text a worker builds its secure context from; what crosses the IPC channel. */
export interface TlsMaterial {
  key: string
  cert: string
  ca: string[]
  requestCert: boolean
}

const pemRule = 'PEM text, a Buffer or the path of a PEM file'

/** A TypeError in the wording of every forkd option error, with `given` already described. */
function optionError(option: string, expected: string, given: string): TypeError {
  return new TypeError(`forkd Server: option "${option}" must be ${expected}, got ${given}`)
}

/** What was given, told without its content: it may be a secret. */
function shapeOf(value: unknown): string {
  if (value === undefined || value === null) return String(value)
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`
  if (typeof value === 'string') return value === '' ? 'an empty string' : `a string of ${value.length} characters`
  if (Array.isArray(value)) return `an array of ${value.length}`
  return typeof value === 'object' ? 'an object' : typeof value === 'function' ? 'a function' : `${typeof value} ${String(value)}`
}

export function normalizeTls(tls: unknown): NormalizedTls | undefined {
  if (tls === undefined) return undefined
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) throw optionError('tls', '{ key, cert, ca?, requestCert? }', shapeOf(tls))
  const t = tls as Record<string, unknown>
  for (const key of Object.keys(t))
    if (!['key', 'cert', 'ca', 'requestCert'].includes(key)) throw optionError(`tls.${key}`, 'one of key, cert, ca, requestCert', JSON.stringify(key))
  for (const key of ['key', 'cert'] as const) if (!isPemSource(t[key])) throw optionError(`tls.${key}`, pemRule, shapeOf(t[key]))
  const ca = t.ca === undefined ? [] : Array.isArray(t.ca) ? t.ca : [t.ca]
  for (const [i, source] of ca.entries())
    if (!isPemSource(source)) throw optionError(Array.isArray(t.ca) ? `tls.ca[${i}]` : 'tls.ca', pemRule, shapeOf(source))
  if (t.requestCert !== undefined && typeof t.requestCert !== 'boolean') throw optionError('tls.requestCert', 'a boolean', shapeOf(t.requestCert))
  const requestCert = t.requestCert === true
  if (requestCert && ca.length === 0)
    throw optionError('tls.ca', 'the CA that signs the clients\' certificates when tls.requestCert is true', 'undefined')
  return { key: t.key as PemSource, cert: t.cert as PemSource, ca: ca as PemSource[], requestCert }
}

export function normalizeAuth(auth: unknown): { tokens: string[] } | undefined {
  if (auth === undefined) return undefined
  if (typeof auth !== 'object' || auth === null || Array.isArray(auth)) throw optionError('auth', '{ tokens: [...] }', shapeOf(auth))
  const a = auth as Record<string, unknown>
  for (const key of Object.keys(a)) if (key !== 'tokens') throw optionError(`auth.${key}`, 'tokens (the only auth option)', JSON.stringify(key))
  if (!Array.isArray(a.tokens) || a.tokens.length === 0) throw optionError('auth.tokens', 'a non-empty array of tokens', shapeOf(a.tokens))
  for (const [i, token] of (a.tokens as unknown[]).entries())
    if (!isBearerToken(token)) throw optionError(`auth.tokens[${i}]`, tokenRule, shapeOf(token))
  return { tokens: [...new Set(a.tokens as string[])] }
}

/**
 * Reads the files `tls` names and proves the key and certificates load (a key that does not match
 * its certificate, a file that is not PEM), so that a mistake fails the start, not every worker.
 * Throws a TypeError naming the option.
 */
export function loadTls(tls: NormalizedTls): TlsMaterial {
  const read = (option: string, source: PemSource): string => {
    try {
      return readPem(source)
    } catch (error) {
      throw optionError(option, pemRule, `${JSON.stringify(source)} (${(error as Error).message.replace(/^cannot read [^:]*: /, '')})`)
    }
  }
  const material: TlsMaterial = {
    key: read('tls.key', tls.key),
    cert: read('tls.cert', tls.cert),
    ca: tls.ca.map((source, i) => read(tls.ca.length === 1 ? 'tls.ca' : `tls.ca[${i}]`, source)),
    requestCert: tls.requestCert,
  }
  try {
    createSecureContext({ key: material.key, cert: material.cert, ...(material.ca.length > 0 ? { ca: material.ca } : {}) })
  } catch (error) {
    throw optionError('tls', 'a private key and certificate that load and match (PEM)', `an error from OpenSSL: ${(error as Error).message}`)
  }
  return material
}
