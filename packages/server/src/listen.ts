/**
 * Binding the listening socket.
 *
 * Unix sockets are bound atomically: listen on a socket in a private temporary folder beside the
 * path, set its mode, then rename() it over the path. The rename replaces a stale socket left by a
 * crashed server, and takes over a live server's path with no moment where nothing listens. The old
 * server notices that the path's inode changed ('replaced') and winds down.
 *
 * An inherited listening socket (`{ fd }`, socket activation) is already bound: the server listens
 * on it as it is, learns from it whether it is TCP or a Unix socket, and never unlinks anything.
 *
 * libuv unlinks a pipe server's bound path when the server closes. Because we always bind the
 * temporary path, closing never unlinks the live path; `release()` unlinks it only while its inode
 * is still ours, so a server never removes a path that now belongs to a newer server.
 */
import { accessSync, constants as fsConstants, lstatSync, mkdtempSync, rmdirSync, renameSync, chmodSync, statSync, unlinkSync, watch, type FSWatcher } from 'node:fs'
import type { AddressInfo, Server as NetServer } from 'node:net'
import { userInfo } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { SocketPathError } from './errors.js'
import type { ListenTarget } from './options.js'

/** How often the path is re-checked, in case fs.watch misses an event (it does on some filesystems). */
const pollInterval = 250

export interface Binding {
  /** The socket path, or the TCP address actually bound (port 0 becomes the real port). */
  readonly address: string | { host: string; port: number }
  /** The transport, known for an inherited fd only once it is wrapped. */
  readonly transport: 'unix' | 'tcp'
  /** Stops watching and, for a Unix socket, unlinks the path if it is still ours. Idempotent. */
  release(): void
}

function listenOn(server: NetServer, target: ListenTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    const done = () => {
      server.off('error', onError)
      resolve()
    }
    if (typeof target === 'string') server.listen(target, done)
    else if ('fd' in target) server.listen({ fd: target.fd }, done)
    else server.listen({ host: target.host, port: target.port }, done)
  })
}

function describeFileType(path: string): string | undefined {
  let stat
  try {
    stat = lstatSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // ENOTDIR: a part of the folder is a file; the folder check says which
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
    throw error
  }
  if (stat.isSocket()) return undefined
  if (stat.isDirectory()) return 'a directory'
  if (stat.isSymbolicLink()) return 'a symbolic link'
  if (stat.isFIFO()) return 'a FIFO'
  return stat.isFile() ? 'a regular file' : 'a special file'
}

/** Who this process runs as, for a message about permissions: `user app (uid 1000)`. */
function describeUser(): string {
  const uid = process.getuid?.()
  let name: string | undefined
  try {
    name = userInfo().username
  } catch {
    // no passwd entry for this uid (common in containers): the uid alone says it
  }
  return uid === undefined ? `user ${name ?? 'unknown'}` : name === undefined ? `uid ${uid}` : `user ${name} (uid ${uid})`
}

/** The nearest ancestor of `dir` (itself included) that exists, when it is not a folder. */
function blockingAncestor(dir: string): { path: string; what: string } | undefined {
  for (let path = dir; ; path = dirname(path)) {
    let stat
    try {
      stat = statSync(path)
    } catch {
      if (dirname(path) === path) return undefined
      continue
    }
    if (stat.isDirectory()) return undefined
    return { path, what: stat.isFile() ? 'a regular file' : stat.isSocket() ? 'a socket' : 'a special file' }
  }
}

/**
 * Turns a failure to create files in the socket's folder into a SocketPathError that names the
 * folder and the way out. The raw error (`ENOENT: no such file or directory, mkdtemp
 * '/run/app/.fd-XXXXXX'`) names a temporary folder the user never asked for.
 */
function folderError(path: string, error: unknown): SocketPathError {
  const dir = dirname(path)
  const code = (error as NodeJS.ErrnoException).code
  const cannot = `cannot listen on ${path}`
  let message: string
  const blocker = code === 'ENOENT' || code === 'ENOTDIR' ? blockingAncestor(dir) : undefined
  if (blocker !== undefined) message = `${cannot}: ${blocker.path} is ${blocker.what}, not a folder`
  else if (code === 'ENOENT') message = `${cannot}: the folder ${dir} does not exist (forkd does not create it: create it first, writable by the server's user)`
  else if (code === 'EACCES' || code === 'EPERM')
    message = `${cannot}: permission denied: the server runs as ${describeUser()}, who may not create files in ${dir} (make the folder writable by that user, or listen somewhere else)`
  else if (code === 'EROFS') message = `${cannot}: the folder ${dir} is on a read-only file system`
  else message = `${cannot}: cannot create a socket in ${dir}: ${(error as Error)?.message ?? String(error)}`
  return new SocketPathError(path, message, { cause: error })
}

/**
 * Throws SocketPathError when `path` cannot be listened on for a reason that is known before any
 * worker starts: it exists and is not a socket, or its folder is missing, not a folder, or not
 * writable by this process. Called
 * by `Server.start` first, and by `bind` again (the file system may change in between).
 */
export function checkSocketPath(path: string): void {
  let what: string | undefined
  try {
    what = describeFileType(path)
  } catch (error) {
    throw folderError(path, error)
  }
  if (what !== undefined)
    throw new SocketPathError(path, `cannot listen on ${path}: it exists and is ${what}, not a socket (forkd never deletes it)`)
  const dir = dirname(path)
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' })
    accessSync(dir, fsConstants.W_OK | fsConstants.X_OK)
  } catch (error) {
    throw folderError(path, error)
  }
}

/**
 * Binds `server` to `target`. For a Unix socket, `onReplaced` is called once if another process
 * replaces or removes the path while we hold it.
 */
export async function bind(server: NetServer, target: ListenTarget, socketMode: number, onReplaced: () => void): Promise<Binding> {
  if (typeof target !== 'string') {
    await listenOn(server, target).catch((error: NodeJS.ErrnoException) => {
      if (!('fd' in target)) throw error
      throw new SocketPathError(`fd ${target.fd}`, `cannot listen on inherited file descriptor ${target.fd}: ${error.code === 'EBADF' ? 'not open' : error.code === 'ENOTSOCK' ? 'not a socket' : error.message}`, { cause: error })
    })
    const info = server.address()
    // A Unix socket reports its path (a string); TCP an AddressInfo.
    if (typeof info === 'string' || info === null) return { address: info ?? `fd ${(target as { fd: number }).fd}`, transport: 'unix', release() {} }
    return { address: { host: (info as AddressInfo).address, port: (info as AddressInfo).port }, transport: 'tcp', release() {} }
  }

  const path = target
  checkSocketPath(path)

  // mkdtemp creates the folder with mode 0700, so nobody can connect to the socket before chmod.
  let tmpDir: string
  try {
    tmpDir = mkdtempSync(join(dirname(path), '.fd-'))
  } catch (error) {
    throw folderError(path, error)
  }
  const tmpPath = join(tmpDir, 's')
  let inode: { dev: number; ino: number }
  try {
    await listenOn(server, tmpPath)
    chmodSync(tmpPath, socketMode)
    const st = statSync(tmpPath)
    inode = { dev: st.dev, ino: st.ino }
    renameSync(tmpPath, path)
  } catch (error) {
    if (server.listening) server.close()
    try {
      unlinkSync(tmpPath)
    } catch {
      // never created, or already renamed
    }
    throw error
  } finally {
    try {
      rmdirSync(tmpDir)
    } catch {
      // not empty only if unlinking the socket failed above; leave it rather than hide the real error
    }
  }

  const ours = (): boolean => {
    try {
      const st = statSync(path)
      return st.dev === inode.dev && st.ino === inode.ino
    } catch {
      return false
    }
  }

  let watcher: FSWatcher | undefined
  let poll: NodeJS.Timeout | undefined
  let done = false
  const stopWatching = () => {
    done = true
    watcher?.close()
    if (poll !== undefined) clearInterval(poll)
  }
  const check = () => {
    if (done || ours()) return
    stopWatching()
    onReplaced()
  }
  try {
    const name = basename(path)
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || file === name) check()
    })
    watcher.on('error', () => watcher?.close())
  } catch {
    // inotify limits reached or an unusual filesystem: the poll below still notices a takeover
  }
  poll = setInterval(check, pollInterval).unref()

  return {
    address: path,
    transport: 'unix',
    release() {
      stopWatching()
      // A takeover between this check and the unlink would lose the new server's path; the window is
      // a few microseconds and only exists while both servers shut down and start at the same time.
      if (ours()) {
        try {
          unlinkSync(path)
        } catch {
          // already gone
        }
      }
    },
  }
}
