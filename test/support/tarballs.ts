/**
 * The packages as a user gets them: `npm pack` of every workspace package into a folder, and the
 * commands (npm, node, tsc) that install and run them in an app outside the repository. Shared by
 * the packaging tests.
 *
 * Packs the built dist folders as they are: `npm test` builds first (`tsc -b`).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root folder. */
export const repo = fileURLToPath(new URL('../..', import.meta.url))

/** The version of a package this repository installed (`npm ci`), so an app can get the same one from npm's cache. */
export const repoVersion = (pkg: string) => (JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version

/**
 * This process's environment without what `npm test` exported (npm_config_* would point npm back at
 * the repository), with `FORKD_TEST_RUN=tag` so processesTagged(tag) finds every process started with it.
 */
export function cleanEnv(tag: string): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'INIT_CWD')),
    FORKD_TEST_RUN: tag,
  }
}

export interface RunResult {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs a command to its end. Asynchronous: a synchronous spawn would stall vitest's worker RPC. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 90_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout, killSignal: 'SIGKILL' })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.once('error', reject)
    child.once('close', (status, signal) => resolve({ status: signal === null ? status : null, stdout, stderr: signal === null ? stderr : `${stderr}\n(killed by ${signal})` }))
  })
}

/** The command's stdout; fails with its whole output otherwise, so a broken install says why. */
export async function ok(result: Promise<RunResult>, what: string): Promise<string> {
  const { status, stdout, stderr } = await result
  if (status !== 0) throw new Error(`${what} failed (exit ${status}):\n${stdout}\n${stderr}`)
  return stdout
}

export interface PackResult {
  name: string
  filename: string
  files: { path: string }[]
}

/** `npm pack` of every workspace package into `destination`; npm's report of each tarball. */
export async function packWorkspaces(destination: string, env: NodeJS.ProcessEnv): Promise<PackResult[]> {
  return JSON.parse(await ok(run('npm', ['pack', '--workspaces', '--json', '--pack-destination', destination], repo, env), 'npm pack')) as PackResult[]
}
