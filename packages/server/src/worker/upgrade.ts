/**
 * The HTTP side of a handed-off socket: the TLS handshake when the server uses TLS
 * (tls-termination.ts), the WebSocket upgrade, with the handshake deadline over both, and the
 * refusals (401 a missing or wrong bearer token, 404 unknown path, 426 no forkd subprotocol or no
 * upgrade at all, 400 a malformed request or upgrade, 400 plaintext on a TLS port, 403 a refused
 * client certificate), each an HTTP answer with `X-Forkd-Error` (writeRefusal). The token is
 * checked first: an unauthenticated peer learns nothing else. Past the upgrade the connection
 * belongs to a WorkerSession (or a status answer); before it, a socket that ends in any way leaves
 * the worker nothing to serve.
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { STATUS_PATH, SUBPROTOCOL, WORKER_PATH, writeRefusal } from '@forkd/protocol'
import type { WebSocket } from 'ws'
import { ws as wsPackage } from '@forkd/protocol/ws'
import { terminateTls, type TlsTermination } from './tls-termination.js'
import type { TokenCheck } from './token-check.js'

export interface UpgradeOptions {
  maxPayload: number
  handshakeTimeout: number
  /** Set when the server listens with TLS: the worker terminates it. */
  tls?: TlsTermination | undefined
  /** Set when the server has `auth`: every request must carry an accepted token. */
  checkToken?: TokenCheck | undefined
}

/** `/forkd/status?interval=MS`: a status every MS ms, within these bounds. */
export const statusIntervalRange = { min: 100, max: 3_600_000 }

export interface UpgradeHandlers {
  /**
   * The client completed the upgrade on `path` (WORKER_PATH or STATUS_PATH); `statusInterval` is the
   * `interval` of a status connection that asked for one status every so many ms.
   */
  upgraded(ws: WebSocket, path: string, statusInterval: number | undefined): void
  /** The socket ended before an upgrade: refused, timed out or hung up. Called once. */
  gone(why: string): void
}

/** Serves the HTTP upgrade on `socket`; exactly one of the handlers' outcomes follows. */
export function acceptUpgrade(socket: Socket, options: UpgradeOptions, handlers: UpgradeHandlers): void {
  let settled = false
  const gone = (why: string) => {
    if (settled) return
    settled = true
    clearTimeout(deadline)
    handlers.gone(why)
  }
  const refuse = (target: Socket, status: number, why: string, headers?: Record<string, string>) => {
    writeRefusal(target, status, why, () => gone('refused'), headers)
  }
  /** Refuses `req` with 401 when its token is missing or wrong; true when it did. */
  const unauthorized = (req: IncomingMessage, target: Socket): boolean => {
    const refusal = options.checkToken?.(req.headers.authorization)
    if (refusal === undefined) return false
    refuse(target, 401, refusal.reason, { 'WWW-Authenticate': refusal.challenge })
    return true
  }
  const http = createServer((req) => {
    if (!unauthorized(req, req.socket)) refuse(req.socket, 426, 'a forkd worker speaks WebSocket only')
  })
  // Bytes Node's HTTP parser cannot read: answered here rather than by Node, so the answer carries
  // the reason like every other refusal.
  http.on('clientError', (error: NodeJS.ErrnoException, target: Socket) => {
    if (!target.writable || error.code === 'ECONNRESET') return void target.destroy()
    refuse(target, error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400, `malformed HTTP request (${error.code ?? error.message})`)
  })
  const wss = new wsPackage.WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    perMessageDeflate: false,
    clientTracking: false,
    handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  })
  // An upgrade ws refuses (no key, a wrong version...): with this listener ws leaves the answer to us.
  wss.on('wsClientError', (error: Error, target: Socket, req: IncomingMessage) =>
    refuse(target, req.method === 'GET' ? 400 : 405, `bad WebSocket upgrade: ${error.message}`))
  const deadline = setTimeout(() => {
    process.stderr.write(`forkd worker: no forkd handshake within ${options.handshakeTimeout} ms, closing\n`)
    socket.destroy()
    gone('handshake timeout')
  }, options.handshakeTimeout)

  http.on('upgrade', (req: IncomingMessage, upgradeSocket: Socket, head: Buffer) => {
    if (unauthorized(req, upgradeSocket)) return
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    const [path = '', query = ''] = (req.url ?? '').split('?', 2)
    if (path !== WORKER_PATH && path !== STATUS_PATH) return refuse(upgradeSocket, 404, `no such forkd endpoint: ${path}`)
    let statusInterval: number | undefined
    const interval = path === STATUS_PATH ? new URLSearchParams(query).get('interval') : null
    if (interval !== null) {
      statusInterval = Number(interval)
      if (!/^\d+$/.test(interval) || statusInterval < statusIntervalRange.min || statusInterval > statusIntervalRange.max)
        return refuse(upgradeSocket, 400, `status interval must be an integer from ${statusIntervalRange.min} to ${statusIntervalRange.max} ms, got ${JSON.stringify(interval)}`)
    }
    if (!offered.split(',').map((s) => s.trim()).includes(SUBPROTOCOL))
      return refuse(upgradeSocket, 426, `protocol version mismatch: this worker speaks ${SUBPROTOCOL}, the client offered ${offered || 'nothing'}`)
    wss.handleUpgrade(req, upgradeSocket, head, (ws) => {
      if (settled) return
      settled = true
      clearTimeout(deadline)
      handlers.upgraded(ws, path, statusInterval)
    })
  })
  // A peer that hangs up before the upgrade (or whose upgrade was refused) has left this worker
  // nothing to serve: end now rather than hold a maxWorkers slot until the deadline
  // (test/server/handshake-timeout.test.ts, test/server/connection-flood.test.ts). After the
  // upgrade the session owns the socket.
  socket.once('close', () => gone('hung up'))
  if (options.tls === undefined) {
    http.emit('connection', socket)
    return
  }
  terminateTls(socket, options.tls, {
    secure(tlsSocket) {
      tlsSocket.once('close', () => gone('hung up'))
      http.emit('connection', tlsSocket)
    },
    refused: gone,
  })
}
