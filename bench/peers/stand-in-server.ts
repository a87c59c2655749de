/**
 * A minimal stand-in for `Server.start` from @forkd/server, used by serve-child only while that
 * package does not export `Server` yet. It does the server's data-path job and nothing else: keeps
 * `spares` worker processes (the real worker entry, packages/server/dist/worker/entry.js) started,
 * and hands each accepted connection, paused, to a ready spare over IPC. No heartbeat, no takeover,
 * no status. Figures measured with it say so in the report.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { unlinkSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export interface StandInOptions {
  listen: string
  worker: string
  spares: number
  execArgv?: string[]
}

export interface StandInServer {
  close(): Promise<void>
}

export async function startStandIn(options: StandInOptions): Promise<StandInServer> {
  const entry = join(dirname(fileURLToPath(import.meta.resolve('@forkd/server'))), 'worker', 'entry.js')
  const children = new Set<ChildProcess>()
  const ready: ChildProcess[] = []
  const waiting: Socket[] = []
  let booting = 0
  let nextId = 1
  let closed = false

  const refill = () => {
    while (!closed && ready.length + booting < options.spares + waiting.length) spawnSpare()
  }
  const handOut = () => {
    while (ready.length > 0 && waiting.length > 0) {
      const child = ready.shift()!
      child.send({ type: 'connection' }, waiting.shift()!)
    }
    refill()
  }
  function spawnSpare(): void {
    booting++
    const config = {
      module: pathToFileURL(options.worker).href, name: 'bench', id: nextId++, serverPid: process.pid,
      maxPayload: 64 * 1024 * 1024, handshakeTimeout: 5000,
    }
    const child = fork(entry, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: options.execArgv ?? [] })
    children.add(child)
    let isReady = false
    child.on('message', (message: { type?: string }) => {
      if (message.type !== 'ready' || isReady) return
      isReady = true
      booting--
      ready.push(child)
      handOut()
    })
    child.once('exit', () => {
      children.delete(child)
      if (!isReady) booting--
      const i = ready.indexOf(child)
      if (i !== -1) ready.splice(i, 1)
      refill()
    })
  }

  try {
    unlinkSync(options.listen)
  } catch {
    // not there
  }
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    waiting.push(socket)
    handOut()
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.listen, resolve))
  refill()
  return {
    async close() {
      closed = true
      server.close()
      for (const socket of waiting) socket.destroy()
      const exits = [...children].map((child) => new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined)
        child.once('exit', resolve)
        child.kill('SIGTERM')
      }))
      await Promise.all(exits)
    },
  }
}
