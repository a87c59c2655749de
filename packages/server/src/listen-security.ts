/**
 * Who may reach a listener, decided before anything is served: the rules of docs/security.md as one
 * pure function. A Unix socket is guarded by its file mode; a TCP port by authentication (bearer
 * tokens or mutual TLS), unless the operator says `insecure: true`.
 */
import { isIP } from 'node:net'

/** What the listener is, as far as the rules care. */
export type ListenerKind = { transport: 'unix' } | { transport: 'tcp'; host: string; port: number }

export interface SecuritySettings {
  tls: { requestCert: boolean } | undefined
  auth: { tokens: readonly string[] } | undefined
  insecure: boolean
}

/** Whether `host` can only be reached from this machine: 127.0.0.0/8, ::1 (also IPv4-mapped), localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return isIP(v4) === 4 && v4.startsWith('127.')
}

function describe(kind: ListenerKind): string {
  return kind.transport === 'unix' ? 'a Unix socket' : `TCP ${kind.host.includes(':') ? `[${kind.host}]` : kind.host}:${kind.port}`
}

/**
 * Throws a TypeError when the settings break a rule for this listener; returns the warning to log
 * when `insecure: true` let a listener through that the rules would refuse, else undefined.
 *
 * - TLS is for TCP: `tls` on a Unix socket is refused.
 * - A TCP listener needs bearer tokens or mutual TLS (`tls.requestCert`).
 * - Bearer tokens in clear text are refused on a non-loopback address: anyone on the path reads them.
 */
/** Which rule a refusal broke, for callers that say it in their own terms (the CLI's flags). */
export type SecurityRule = 'tlsOnUnixSocket' | 'noAuthentication' | 'clearTextTokens'

function refusal(rule: SecurityRule, message: string): TypeError {
  return Object.assign(new TypeError(message), { securityRule: rule })
}

export function checkListenSecurity(kind: ListenerKind, settings: SecuritySettings): string | undefined {
  const where = describe(kind)
  if (kind.transport === 'unix') {
    if (settings.tls !== undefined)
      throw refusal('tlsOnUnixSocket', `forkd Server: option "tls" must be absent when listening on ${where} (TLS is for TCP listeners; a socket file is guarded by its mode), got { key, cert, ... }`)
    return undefined
  }
  const mutualTls = settings.tls?.requestCert === true
  if (!mutualTls && settings.auth === undefined) {
    if (!settings.insecure)
      throw refusal('noAuthentication', `forkd Server: option "insecure" must be true to listen on ${where} with no authentication ` +
        '(anyone who reaches the port could run worker code: set auth tokens, or tls with requestCert and ca for mutual TLS), got false')
    return `listening on ${where} with no authentication (insecure): anyone who can reach this port can run worker code`
  }
  if (settings.tls === undefined && !isLoopback(kind.host)) {
    if (!settings.insecure)
      throw refusal('clearTextTokens', `forkd Server: option "tls" must be set to accept bearer tokens on ${where}, which is not a loopback address ` +
        '(a token sent in clear text protects nothing on a network; or set insecure: true), got undefined')
    return `accepting bearer tokens in clear text on ${where}, which is not a loopback address (insecure): anyone on the network path can read them`
  }
  return undefined
}
