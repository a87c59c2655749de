/** Asking a running server for its status, through a worker (what `forkd status` does). */
import { Codec, MessageType, STATUS_PATH, SUBPROTOCOL, bearerHeader, endpointUrl } from '@forkd/protocol'
import { readPem, type PemSource } from '@forkd/protocol/internal'
import { ws as wsPackage } from '@forkd/protocol/ws'

/** How `fetchStatus` reaches a server that uses TLS or tokens. */
export interface FetchStatusOptions {
  /** How long to wait for the answer, ms. Default 5 000. */
  timeout?: number
  /**
   * Connect with TLS (TCP only): `ca` (PEM text, a Buffer or a file path; default the system's
   * CAs), a client certificate `cert` and `key` for mutual TLS, and `servername`, the name the
   * server's certificate must carry when it is not the host connected to.
   */
  tls?: {
    /** The CA certificate that signed the server's certificate. */
    ca?: PemSource
    /** A client certificate, for a server with mutual TLS; with `key`. */
    cert?: PemSource
    /** The client certificate's private key. */
    key?: PemSource
    /** The name the server's certificate must carry. */
    servername?: string
  }
  /** The bearer token, for a server with `auth`. */
  token?: string
}

/**
 * Connects to the server at `target` (a socket path or `{ host, port }`), asks for its status and
 * resolves with it. The server hands the status connection to a spare worker, which forwards the
 * question to the server over IPC and answers with one `[11, status]` message. A server with
 * `auth` needs the token here too; one with TLS needs `tls`. A refusal (401, 403) rejects with an
 * Error saying why.
 *
 * @example
 * ```ts
 * const status = await fetchStatus('/run/app/forkd.sock')
 * const remote = await fetchStatus({ host: '10.0.0.5', port: 7400 }, { tls: { ca: '/etc/forkd/ca.pem' }, token })
 * console.log(status.active, status.spares)
 * ```
 */
export function fetchStatus(target: string | { host: string; port: number }, options: number | FetchStatusOptions = {}): Promise<Record<string, unknown>> {
  const o: FetchStatusOptions = typeof options === 'number' ? { timeout: options } : options
  const timeout = o.timeout ?? 5_000
  const secure = o.tls !== undefined && typeof target !== 'string'
  const url = endpointUrl(target, STATUS_PATH, secure)
  return new Promise((resolve, reject) => {
    let ws: InstanceType<typeof wsPackage.WebSocket>
    try {
      ws = new wsPackage.WebSocket(url, SUBPROTOCOL, {
        perMessageDeflate: false,
        ...(o.token === undefined ? {} : { headers: { Authorization: bearerHeader(o.token) } }),
        ...(secure ? tlsOptions(o.tls!) : {}),
      })
    } catch (error) {
      return reject(error)
    }
    const timer = setTimeout(() => fail(new Error(`no status from ${url} within ${timeout} ms`)), timeout)
    const fail = (error: Error) => {
      clearTimeout(timer)
      ws.terminate()
      reject(error)
    }
    ws.on('unexpected-response', (_req, res) => {
      const why = res.headers['x-forkd-error']
      fail(new Error(`the server refused the status query: HTTP ${res.statusCode}${why === undefined ? '' : `: ${String(why)}`}`))
    })
    ws.on('error', (error) => fail(new Error(`cannot get the status of ${typeof target === 'string' ? target : url}: ${error.message}`, { cause: error })))
    ws.on('message', (data) => {
      let messages: unknown[]
      try {
        messages = new Codec().decodeFrame(data as Buffer)
      } catch (error) {
        return fail(error as Error)
      }
      const status = messages.find((m): m is [number, Record<string, unknown>] => Array.isArray(m) && m[0] === MessageType.Status)
      if (status === undefined) return
      clearTimeout(timer)
      ws.close()
      resolve(status[1])
    })
    ws.on('close', (code, reason) => fail(new Error(`status connection closed (${code} ${String(reason)}) before an answer`)))
  })
}

function tlsOptions(tls: NonNullable<FetchStatusOptions['tls']>): Record<string, unknown> {
  return {
    ...(tls.ca === undefined ? {} : { ca: readPem(tls.ca) }),
    ...(tls.cert === undefined ? {} : { cert: readPem(tls.cert) }),
    ...(tls.key === undefined ? {} : { key: readPem(tls.key) }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
  }
}
