/** `--env-file PATH`: the worker environment from dotenv files, layered over the server's own. */
import * as util from 'node:util'
import { readFlagFile } from './flag-file.js'
import { UsageError } from './usage-error.js'

/**
 * `process.env` with the variables of each file on top, later files winning; the server's own
 * environment is left as it is. Parsed by Node's own dotenv parser (`util.parseEnv`, Node 20.12+):
 * `KEY=value` lines, `#` comments, quoted values, `export ` prefixes.
 */
export function workerEnv(files: readonly string[], base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  // Looked up at run time: the type declarations know it, Node 20.0-20.11 do not.
  const parseEnv = (util as { parseEnv?: (content: string) => Record<string, string> }).parseEnv
  if (parseEnv === undefined) throw new UsageError(`--env-file needs Node.js 20.12 or later (util.parseEnv); this is ${process.version}`, 'serve')
  const env = { ...base }
  for (const file of files) {
    Object.assign(env, parseEnv(readFlagFile('--env-file', file, 'serve')))
  }
  return env
}
