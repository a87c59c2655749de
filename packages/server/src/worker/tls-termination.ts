/**
 * TLS on a handed-off socket, in the worker: the server hands the socket over unread, and the
 * worker performs the TLS handshake itself, so the server never sees a key or a plaintext byte.
 *
 * The secure context is built once per process, while it is a spare (`prepareTls` makes the
 * `tls.Server`, which loads the key and certificates), so a connection never waits for them. Per
 * connection:
 *
 * - the first byte says whether the peer speaks TLS at all (a handshake record starts with 0x16):
 *   a plaintext client gets a plaintext `400` saying so, instead of a stream it cannot read;
 * - the handshake runs in a `tls.Server` that never listens (its public connection path: the
 *   same code https uses), bounded by the worker's handshake deadline;
 * - with `requestCert` (mutual TLS) a client whose certificate `ca` did not sign, or that sent
 *   none, is answered `403` inside TLS once the handshake ends, before a byte of its request is
 *   read. Node checks client certificates after the handshake, not inside it; answering (rather
 *   than hanging up) lets the client report an AuthError instead of a lost connection.
 */
import type { Socket } from 'node:net'
import { createServer, type Server as TlsServer, type TLSSocket } from 'node:tls'
import { writeRefusal } from '@forkd/protocol'
import type { TlsMaterial } from '../security-options.js'

/** A record of type handshake(22): how every TLS connection begins. */
const handshakeRecord = 0x16

export interface TlsTermination {
  /** Never listens: sockets are given to it with `emit('connection')`. */
  readonly server: TlsServer
  readonly requestCert: boolean
}

export interface TlsHandlers {
  /** The handshake succeeded (and the client certificate, with mutual TLS, is signed by `ca`). */
  secure(socket: TLSSocket): void
  /** The peer was refused (plaintext, a failed handshake, a refused certificate). Called at most once. */
  refused(why: string): void
}

/** Loads the key and certificates once, while the worker is a spare. */
export function prepareTls(material: TlsMaterial): TlsTermination {
  const server = createServer({
    key: material.key,
    cert: material.cert,
    ...(material.ca.length > 0 ? { ca: material.ca } : {}),
    requestCert: material.requestCert,
    // Refused certificates are answered below rather than cut off.
    rejectUnauthorized: false,
  })
  return { server, requestCert: material.requestCert }
}

/** Runs the TLS handshake on `socket`; exactly one of the handlers follows (unless the socket just closes). */
export function terminateTls(socket: Socket, tls: TlsTermination, handlers: TlsHandlers): void {
  const onReadable = () => {
    const chunk = socket.read() as Buffer | null
    if (chunk === null) return
    socket.off('readable', onReadable)
    if (chunk[0] !== handshakeRecord) {
      writeRefusal(socket, 400, 'this forkd server speaks TLS only: connect with TLS (wss://, the client option tls)', () => handlers.refused('plaintext on a TLS port'))
      return
    }
    socket.unshift(chunk)
    handshake(socket, tls, handlers)
  }
  socket.on('readable', onReadable)
}

/** A worker serves one connection: the server's listeners are this connection's. */
function handshake(socket: Socket, tls: TlsTermination, handlers: TlsHandlers): void {
  const { server } = tls
  const done = () => {
    server.off('tlsClientError', onError)
    server.off('secureConnection', onSecure)
  }
  const onError = (error: NodeJS.ErrnoException, tlsSocket: TLSSocket) => {
    done()
    tlsSocket.destroy()
    handlers.refused(`TLS handshake failed (${error.code ?? error.message})`)
  }
  const onSecure = (tlsSocket: TLSSocket) => {
    done()
    if (tls.requestCert && !tlsSocket.authorized) {
      const reason = Object.keys(tlsSocket.getPeerCertificate()).length === 0
        ? 'client certificate required (mutual TLS): connect with a certificate signed by the server\'s CA'
        : `client certificate refused (${String(tlsSocket.authorizationError)}): the server's CA did not sign it`
      tlsSocket.on('error', () => {})
      writeRefusal(tlsSocket, 403, reason, () => handlers.refused('client certificate refused'))
      return
    }
    handlers.secure(tlsSocket)
  }
  server.on('tlsClientError', onError)
  server.on('secureConnection', onSecure)
  server.emit('connection', socket)
}
