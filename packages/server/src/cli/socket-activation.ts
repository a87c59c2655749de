/**
 * `--listen systemd`: the listening socket a supervisor (systemd, or any launcher following its
 * protocol) opened and passed on, read as `sd_listen_fds(3)` does: `LISTEN_PID` must be this
 * process, `LISTEN_FDS` the number of sockets, which start at file descriptor 3. The variables are
 * removed from the environment at once, so that worker processes do not inherit them and no
 * child of a worker takes the sockets for its own.
 */
import { UsageError } from './usage-error.js'

/** The first passed file descriptor (SD_LISTEN_FDS_START). */
export const listenFdsStart = 3

/** The variables of the protocol, unset after reading. */
const variables = ['LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES'] as const

/** The one listening fd passed to this process; UsageError when there is none, or several. */
export function listenFdFromEnvironment(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number {
  const given = { pid: env.LISTEN_PID, fds: env.LISTEN_FDS }
  for (const name of variables) delete env[name]
  const hint = 'start forkd from a systemd socket unit (deploy/systemd/forkd.socket), or from a launcher that passes a listening socket as fd 3 with LISTEN_FDS=1 and LISTEN_PID set to the server\'s pid'
  if (given.pid === undefined || given.fds === undefined)
    throw new UsageError(`--listen systemd: ${given.pid === undefined ? 'LISTEN_PID' : 'LISTEN_FDS'} is not set: ${hint}`, 'serve')
  if (!/^\d+$/.test(given.pid) || Number(given.pid) !== pid)
    throw new UsageError(`--listen systemd: LISTEN_PID is ${JSON.stringify(given.pid)}, this process is ${pid}: the sockets were passed to another process (${hint})`, 'serve')
  if (!/^\d+$/.test(given.fds) || Number(given.fds) === 0)
    throw new UsageError(`--listen systemd: LISTEN_FDS must be the number of sockets passed, at least 1, got ${JSON.stringify(given.fds)}`, 'serve')
  if (Number(given.fds) > 1)
    throw new UsageError(`--listen systemd: forkd listens on one socket, got LISTEN_FDS=${given.fds} (give the socket unit one ListenStream=)`, 'serve')
  return listenFdsStart
}
