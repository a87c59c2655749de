/** `--auth-token-file PATH`: the accepted tokens, one per line, read at start and on every SIGHUP. */
import { readFileSync } from 'node:fs'
import { parseTokenFile } from '@forkd/protocol/internal'
import { UsageError } from './usage-error.js'

/**
 * The tokens in `path` (one per line; blank lines and `#` comments skipped). UsageError naming the
 * flag and the file when it cannot be read, a line is no token, or there is none; a message never
 * quotes the file's content.
 */
export function readTokenFile(path: string, flag = '--auth-token-file'): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (error as Error).message
    throw new UsageError(`${flag} ${path}: ${why}`)
  }
  let tokens: string[]
  try {
    tokens = parseTokenFile(text)
  } catch (error) {
    throw new UsageError(`${flag} ${path}: ${(error as Error).message}`)
  }
  if (tokens.length === 0) throw new UsageError(`${flag} ${path}: no token in the file (one per line; # starts a comment)`)
  return tokens
}
