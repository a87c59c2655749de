/**
 * Entry point of a worker process, started by the server with a WorkerBootConfig in argv[2]. The
 * worker's life is in life.ts; this file only makes the process safe before that loads.
 *
 * It imports nothing at first. Loading the rest (http, ws, the CBOR codec, the session) takes tens
 * of milliseconds, and a server that dies meanwhile closes the IPC channel while nobody listens:
 * the 'disconnect' event is gone, and a module holding a handle (a timer, a database pool) would keep
 * the spare alive forever (issue 12; test/lifecycle/spares-die-with-server.test.ts). So the loss of
 * the server is watched from the first line, and life.ts takes over the watch synchronously once
 * loaded.
 *
 * A worker whose server died must also survive writing to stdout or stderr: nobody reads those
 * pipes any more, and an EPIPE with no 'error' listener would be an uncaught exception killing the
 * connection it still serves. Its output then goes nowhere.
 *
 * The server passes SIGUSR1 and SIGUSR2 on to its workers (the module's `onSignal` gets them once
 * loaded, life.ts). Listened to from the first line, so that neither is ever left to Node: its
 * default action for SIGUSR2 ends the process, and for SIGUSR1 it opens the inspector on port 9229.
 *
 * What loads is runtime.js: life.ts with everything it imports compiled into one file by
 * scripts/bundle.mjs (`npm run build`), which spares every worker start the ES
 * module loader's work on some 40 files.
 */
const ignore = (): void => {}
process.stdout.on('error', ignore)
process.stderr.on('error', ignore)
process.on('SIGUSR1', ignore)
process.on('SIGUSR2', ignore)

const leave = (): void => process.exit(0)
process.on('disconnect', leave)
if (!process.connected) leave()

// A specifier TypeScript does not resolve: runtime.js exists only once the build has bundled life.js.
const runtime = './runtime.js'
const { runWorker } = (await import(runtime)) as typeof import('./life.js')
process.off('disconnect', leave)
void runWorker()
