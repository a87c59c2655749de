/**
 * Errors the server raises. Each has a stable `code`; match on the class or the code, not on the
 * message. Classes are branded so `instanceof` holds across two copies of the package.
 */
import { ForkdError, brand } from '@forkd/protocol'

/**
 * The worker module is missing, cannot be imported, or does not default-export a worker definition.
 * The message names the path and the underlying problem (the import error, or what is wrong with the
 * export).
 */
export class WorkerModuleError extends ForkdError {
  /** The module path or URL as given. */
  readonly module: string

  /** `message` must name the module and say what is wrong with it. */
  constructor(module: string, message: string, options?: { cause?: unknown }) {
    super(message, 'FORKD_ERR_WORKER_MODULE', options)
    this.module = module
  }
}
brand(WorkerModuleError, 'WorkerModuleError')

/**
 * The listen path exists and is not a socket. forkd never deletes such a file: it is most likely a
 * mistake in the path, and the file may matter to someone.
 */
export class SocketPathError extends ForkdError {
  readonly path: string

  /** `message` must name the path and say what it is. */
  constructor(path: string, message: string) {
    super(message, 'FORKD_ERR_SOCKET_PATH')
    this.path = path
  }
}
brand(SocketPathError, 'SocketPathError')

/** The server is closing or closed: the operation cannot proceed. */
export class ServerClosedError extends ForkdError {
  constructor(message = 'the server is closed') {
    super(message, 'FORKD_ERR_SERVER_CLOSED')
  }
}
brand(ServerClosedError, 'ServerClosedError')
