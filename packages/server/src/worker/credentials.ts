/**
 * A starting worker's credentials: it asks the server over IPC (never argv or the environment,
 * which other processes could read) and turns the answer into what checks connections: the TLS
 * server holding the loaded key and certificates, and the token check. Done while the worker
 * loads, before it says `ready`, so a connection never waits for a key to load.
 */
import type { Credentials, ServerToWorker, WorkerToServer } from '../ipc.js'
import { prepareTls, type TlsTermination } from './tls-termination.js'
import { toServer } from './to-server.js'
import { tokenCheck, type TokenCheck } from './token-check.js'

export interface ConnectionSecurity {
  tls: TlsTermination | undefined
  checkToken: TokenCheck | undefined
}

/** Asks the server for the credentials; resolves once they are ready for use. */
export function fetchCredentials(): Promise<ConnectionSecurity> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ServerToWorker) => {
      if (message?.type !== 'credentials') return
      process.off('message', onMessage)
      try {
        resolve(prepare(message.credentials))
      } catch (error) {
        reject(error)
      }
    }
    process.on('message', onMessage)
    const request: WorkerToServer = { type: 'credentials-request' }
    toServer(request)
  })
}

function prepare(credentials: Credentials): ConnectionSecurity {
  return {
    tls: credentials.tls === null ? undefined : prepareTls(credentials.tls),
    checkToken: credentials.tokens === null ? undefined : tokenCheck(credentials.tokens),
  }
}
