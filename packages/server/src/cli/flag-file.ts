import { readFileSync } from 'node:fs'
import { UsageError } from './usage-error.js'

/**
 * The text of a file named by a command-line flag (`--env-file`, `--auth-token-file`). A UsageError
 * naming the flag and the file says why it cannot be read; it never quotes the content.
 */
export function readFlagFile(flag: string, path: string, command?: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message
    throw new UsageError(`${flag} ${path}: ${why}`, command)
  }
}
