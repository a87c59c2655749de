/**
 * `@forkd/client` as it was at another commit, built into a folder of the run, so that one workload
 * can time it against the current client in the same run (`--baseline REF`). The old client runs
 * against the current `@forkd/protocol` and the repository's node_modules: only the client's own
 * code differs.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, symlinkSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type * as ClientModule from '@forkd/client'

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url))

/** Builds the client of git revision `ref` under `dir` and imports it. Throws with git's or tsc's message. */
export async function loadBaselineClient(ref: string, dir: string): Promise<typeof ClientModule> {
  const root = join(dir, 'baseline')
  const entry = join(root, 'packages/client/dist/index.js')
  // A workload repeated because it was noisy loads the client built by its first attempt.
  if (existsSync(entry)) return (await import(pathToFileURL(entry).href)) as typeof ClientModule
  mkdirSync(root, { recursive: true })
  const archive = execFileSync('git', ['-C', repoRoot, 'archive', '--format=tar', ref, 'packages/client', 'packages/protocol', 'tsconfig.base.json'], { maxBuffer: 256 * 1024 * 1024 })
  execFileSync('tar', ['-x', '-C', root], { input: archive })
  symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'))
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-b', join(root, 'packages/client')], { stdio: ['ignore', 'inherit', 'inherit'] })
  return (await import(pathToFileURL(entry).href)) as typeof ClientModule
}
