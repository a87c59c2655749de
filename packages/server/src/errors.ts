/**
 * Errors the server raises. Each class has its own stable `code`; match on the class or the code,
 * not on the message. `instanceof` holds across two copies of the package (see ForkdError).
 */
import { ForkdError, type ForkdErrorOptions } from '@forkd/protocol'

/**
 * The worker module is missing, cannot be imported, or does not default-export a worker definition.
 * The message names the path and the underlying problem (the import error, or what is wrong with the
 * export).
 */
export class WorkerModuleError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_WORKER_MODULE'
  static override readonly defaultMessage: string = 'the worker module cannot be loaded'
  /** The module path or URL as given. */
  readonly module: string

  /** `message` must name the module and say what is wrong with it. */
  constructor(module: string, message?: string, options?: ForkdErrorOptions) {
    super(message ?? `${WorkerModuleError.defaultMessage}: ${module}`, options)
    this.module = module
  }
}

/**
 * The listen path exists and is not a socket, or its folder does not exist. forkd never deletes
 * such a file: it is most likely a mistake in the path, and the file may matter to someone.
 */
export class SocketPathError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_SOCKET_PATH'
  static override readonly defaultMessage: string = 'cannot listen on this socket path'
  readonly path: string

  /** `message` must name the path and say what is wrong with it. */
  constructor(path: string, message?: string, options?: ForkdErrorOptions) {
    super(message ?? `${SocketPathError.defaultMessage}: ${path}`, options)
    this.path = path
  }
}

/** The server is closing or closed: the operation cannot proceed. */
export class ServerClosedError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_SERVER_CLOSED'
  static override readonly defaultMessage: string = 'the server is closed'
}
