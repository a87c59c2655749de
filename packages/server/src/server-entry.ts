/**
 * Entry point of a server started by `Server.fork`: receives its options over IPC, starts, reports
 * `ready` (or `failed`), and exits when its parent goes away (IPC disconnect) or it is closed.
 */
import type { FromForkedServer, ToForkedServer } from './fork.js'
import { Server } from './server.js'
import { handleSignals } from './signals.js'

let server: Server | undefined
let starting: Promise<Server | undefined> | undefined

/** Sends to the parent; `then` runs once the message is handed to the OS (or at once if the parent is gone). */
const send = (message: FromForkedServer, then?: () => void) => {
  if (process.connected) process.send!(message, undefined, {}, () => then?.())
  else then?.()
}

async function start(options: ToForkedServer['options']): Promise<Server | undefined> {
  process.title = options.name ? `forkd-server:${options.name}` : 'forkd-server'
  try {
    server = await Server.start(options)
  } catch (error) {
    const e = error as Error & { code?: string; path?: string }
    // Exit only once the message is out: process.exit() would drop a queued IPC message.
    send({ type: 'failed', error: { name: e.name, message: e.message, code: e.code, path: e.path } }, () => process.exit(1))
    return undefined
  }
  handleSignals(server, (code) => process.exit(code))
  void server.closed.then(() => process.exit(0))
  const address = server.address!
  send({ type: 'ready', address })
  return server
}

process.on('message', (message: ToForkedServer) => {
  if (message?.type === 'start' && starting === undefined) starting = start(message.options)
})

// The parent exited, was killed, or called close(): the server follows it.
process.on('disconnect', () => {
  if (starting === undefined) process.exit(0)
  void starting.then((s) => s?.close()).then(() => process.exit(0))
})
