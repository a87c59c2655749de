/**
 * The socket a spare's warm-up listens on (worker/prewarm.ts): named after the worker's pid, in the
 * temporary directory of the worker's environment. A worker killed while it warms up leaves the
 * file behind; the server removes it when such a worker exits, and a later worker that gets the same
 * pid removes it before it listens (it can only be a dead process's: no live one has that pid).
 */
import { unlinkSync } from 'node:fs'
import { join } from 'node:path'

/** The warm-up socket of the worker `pid` whose environment is `env`. */
export function warmSocketPath(pid: number, env: NodeJS.ProcessEnv = process.env): string {
  // os.tmpdir()'s rule on POSIX, applied to the worker's environment rather than to this process's.
  let dir = env.TMPDIR || env.TMP || env.TEMP || '/tmp'
  if (dir.length > 1 && dir.endsWith('/')) dir = dir.slice(0, -1)
  return join(dir, `forkd-warm-${pid}.sock`)
}

/** Removes the socket at `path` if it is there; never throws. */
export function removeWarmSocket(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // not there, or not ours to remove: nothing to clean up
  }
}
