// Starts the reference forkd server for the conformance suite (README.md, "Running the suite").
// usage: node serve.mjs SOCKET_PATH WORKER [OPTIONS_JSON]
//   WORKER: a fixture name (echo, function, plain, done-fails, setup-fails) or a module path.
//   OPTIONS_JSON: server options of the case, e.g. '{"maxWorkers":1,"maxPendingConnections":0}'.
// Prints one JSON line {"listening": SOCKET_PATH, "pid": PID} once it accepts connections (and
// sends the same object over IPC when started with an IPC channel). SIGHUP reloads, SIGTERM closes
// gracefully, SIGINT closes at once; the process exits when the server has closed, also after
// another server took its socket over.
import { isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Server } from '@forkd/server'

const [path, worker, json] = process.argv.slice(2)
if (path === undefined || worker === undefined) {
  process.stderr.write('usage: node serve.mjs SOCKET_PATH WORKER [OPTIONS_JSON]\n')
  process.exit(2)
}
const workers = fileURLToPath(new URL('./workers/', import.meta.url))
const module = /^[a-z-]+$/.test(worker) ? resolve(workers, `${worker}.mjs`) : isAbsolute(worker) ? worker : resolve(worker)
const quiet = { debug() {}, info() {}, warn() {}, error() {} }
const server = await Server.start({ listen: path, worker: module, logger: quiet, ...JSON.parse(json ?? '{}') })
process.on('SIGHUP', () => server.reload())
process.on('SIGTERM', () => void server.close())
process.on('SIGINT', () => void server.close({ drain: false }))
void server.closed.then(() => process.exit(0))
const ready = { listening: path, pid: process.pid }
process.stdout.write(`${JSON.stringify(ready)}\n`)
process.send?.(ready)
