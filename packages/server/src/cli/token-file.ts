/** `--auth-token-file PATH`: the accepted tokens, one per line, read at start and on every SIGHUP. */
import { parseTokenFile } from '@forkd/protocol/internal'
import { readFlagFile } from './flag-file.js'
import { UsageError } from './usage-error.js'

/**
 * The tokens in `path` (one per line; blank lines and `#` comments skipped). UsageError naming the
 * flag and the file when it cannot be read, a line is no token, or there is none; a message never
 * quotes the file's content.
 */
export function readTokenFile(path: string, flag = '--auth-token-file'): string[] {
  const text = readFlagFile(flag, path)
  let tokens: string[]
  try {
    tokens = parseTokenFile(text)
  } catch (error) {
    throw new UsageError(`${flag} ${path}: ${(error as Error).message}`)
  }
  if (tokens.length === 0) throw new UsageError(`${flag} ${path}: no token in the file (one per line; # starts a comment)`)
  return tokens
}
