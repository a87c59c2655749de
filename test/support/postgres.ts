/**
 * A throwaway PostgreSQL cluster for one test file: `initdb` into a temporary folder, a postmaster
 * that listens only on a Unix socket in that folder, and `stop()` that shuts it down and removes
 * everything.
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
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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

const installHint = 'install the PostgreSQL server (Debian: .ci/install-postgres.sh, i.e. apt-get install -y postgresql)'

/** Finds the newest `/usr/lib/postgresql/<major>/bin` that has initdb and postgres (or $FORKD_PG_BINDIR). */
export function findPostgresBinaries(): { bindir: string; version: number } {
  const override = process.env.FORKD_PG_BINDIR
  if (override) {
    if (!existsSync(join(override, 'initdb')) || !existsSync(join(override, 'postgres')))
      throw new Error(`FORKD_PG_BINDIR=${override} has no initdb and postgres binaries`)
    const out = spawnSync(join(override, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout ?? ''
    return { bindir: override, version: Number(/(\d+)/.exec(out)?.[1] ?? 0) }
  }
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  const newest = versions[0]
  if (newest === undefined)
    throw new Error(`PostgreSQL server binaries not found: no ${root}/*/bin/initdb and postgres (a psql client alone is not enough); ${installHint}`)
  return { bindir: join(root, newest, 'bin'), version: Number(newest) }
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

// Postmasters started by this process, shut down if the test process exits without stop().
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT')
})

/** Starts a throwaway cluster; see the file comment. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PgCluster> {
  const { bindir, version } = findPostgresBinaries()
  const identity = clusterIdentity()
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
