/**
 * Errors the server raises. Each class has its own stable `code`; match on the class or the code,
 * not on the message. `instanceof` holds across two copies of the package (see ForkdError).
 */
import { ForkdError, type ForkdErrorOptions } from '@forkd/protocol'

/**
 * The worker module is missing, cannot be imported, or does not default-export a worker definition.
 * The message names the path and the underlying problem (the import error, or what is wrong with the
 * export). For a syntax error it ends with the place, `at FILE:LINE:COLUMN`, then two more lines:
 * the source line and a caret under the column. `cause` is what the worker threw while importing
 * the module, when it threw: a plain Error with the worker's name (`SyntaxError`...), message,
 * `code` and stack.
 */
export class WorkerModuleError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_WORKER_MODULE'
  static override readonly defaultMessage: string = 'the worker module cannot be loaded'

  /**
   * @param module The module path or URL as given.
   * @param message Must name the module and say what is wrong with it.
   */
  constructor(readonly module: string, message?: string, options?: ForkdErrorOptions) {
    super(message ?? `${WorkerModuleError.defaultMessage}: ${module}`, options)
  }
}

/**
 * The server cannot listen on the socket path: it exists and is not a socket, or its folder does
 * not exist, is not a folder, or is not writable by the server's user. The message names the path
 * and the folder or file at fault; `cause` is the file system's error, when there is one. forkd
 * never deletes such a file (it is most likely a mistake in the path, and the file may matter to
 * someone) and never creates the folder (its owner and mode decide who may reach the socket).
 */
export class SocketPathError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_SOCKET_PATH'
  static override readonly defaultMessage: string = 'cannot listen on this socket path'

  /**
   * @param path The socket path, or the folder that is wrong.
   * @param message Must name the path and say what is wrong with it.
   */
  constructor(
    /** The socket path, or the folder that is wrong. */
    readonly path: string,
    message?: string,
    options?: ForkdErrorOptions,
  ) {
    super(message ?? `${SocketPathError.defaultMessage}: ${path}`, options)
  }
}

/** The server is closing or closed: the operation cannot proceed. */
export class ServerClosedError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_SERVER_CLOSED'
  static override readonly defaultMessage: string = 'the server is closed'
}

/**
 * Thrown in a worker for a call of a method its interface does not have, or of the checkout itself
 * (a null method) on a map interface. It reaches the caller as a WorkerError whose `remote` has name
 * `UnknownMethodError`, code `FORKD_ERR_UNKNOWN_METHOD` and a message naming the methods there are.
 */
export class UnknownMethodError extends ForkdError {
  static override readonly code: string = 'FORKD_ERR_UNKNOWN_METHOD'
  static override readonly defaultMessage: string = 'unknown method'
}
