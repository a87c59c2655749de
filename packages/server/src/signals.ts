/**
 * Process signals for a server that owns its process (the CLI and the forked server entry):
 * SIGTERM/SIGINT close gracefully (a second one exits at once), SIGHUP reloads, SIGUSR1 and SIGUSR2
 * are passed on to every worker (`server.signal`). A library user embedding a Server in a bigger
 * program wires its own signals instead. (Listening to SIGUSR1 also keeps Node from opening the
 * server's inspector on it: start the server with `--inspect` to debug it.)
 */
import type { Server } from './server.js'

/** `reload` runs on SIGHUP; by default `server.reload()`. */
export function handleSignals(server: Server, exit: (code: number) => void, reload: () => void = () => server.reload()): void {
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // Active workers keep serving their clients; spares exit on their own when IPC disconnects.
      exit(signal === 'SIGINT' ? 130 : 143)
      return
    }
    stopping = true
    void server.close().then(() => exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () => {
    try {
      reload()
    } catch (error) {
      // Server.reload refuses TLS files it cannot read; the server serves on with what it had.
      process.stderr.write(`forkd: reload refused, nothing changed: ${(error as Error).message}\n`)
    }
  })
  process.on('SIGUSR1', () => server.signal('SIGUSR1'))
  process.on('SIGUSR2', () => server.signal('SIGUSR2'))
}
