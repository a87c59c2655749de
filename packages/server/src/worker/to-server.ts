/**
 * A worker's messages to its server over IPC. `process.connected` is still true for a moment after
 * the server died: the write then fails with EPIPE, which `process.send` reports to its callback,
 * or, without one, as an 'error' event on `process` that nobody listens to: an uncaught exception
 * that would kill a worker still serving its client (seen in the chaos test, with the server
 * killed). Every send therefore goes through here, with a callback.
 */
import type { WorkerToServer } from '../ipc.js'

/** A send that failed: the server is gone, and its channel's 'disconnect' follows. */
function serverGone(): void {}

/** Tells the server, if it is there. */
export function toServer(message: WorkerToServer): void {
  if (process.connected) process.send!(message, undefined, {}, serverGone)
}

/** Sends `message`, then runs `then` once it is written out (or at once when the server is gone). */
export function toServerThen(message: WorkerToServer, then: () => void): void {
  if (process.connected) process.send!(message, undefined, {}, () => then())
  else then()
}
