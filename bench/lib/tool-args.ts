/**
 * Command-line parsing for the bench's tools (bench/tools/*): `--help` prints the tool's usage; an
 * unknown option or a missing value prints what is wrong and the usage, and exits with 2, instead
 * of a stack trace from node:util.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'

export function parseToolArgs<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  const args = config.args ?? process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage)
    process.exit(0)
  }
  try {
    return parseArgs(config)
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`)
    process.exit(2)
  }
}
