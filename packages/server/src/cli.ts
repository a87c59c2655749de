#!/usr/bin/env node
/**
 * The `forkd` command: `forkd serve` runs a server in the foreground, `forkd status` prints a running
 * server's status as JSON, `forkd top` shows it live. The commands and their flags are tables in ./cli/; this file dispatches
 * and turns errors into one clear message and an exit status.
 */
import { SocketPathError, WorkerModuleError } from './errors.js'
import { commands, overview, versionLine } from './cli/commands.js'
import { StatusError } from './cli/status.js'
import { didYouMean, suggestions } from './cli/suggest.js'
import { UsageError } from './cli/usage-error.js'

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv
  if (first === undefined) {
    process.stdout.write(overview())
    process.exitCode = 2
    return
  }
  if (first === '--help' || first === '-h') return void process.stdout.write(overview())
  if (first === '--version' || first === '-v') return void process.stdout.write(versionLine() + '\n')
  if (first === 'help') {
    const topic = rest[0]
    if (topic === undefined) return void process.stdout.write(overview())
    const command = commands.find((c) => c.name === topic)
    if (command === undefined) throw unknownCommand(topic)
    return void process.stdout.write(command.help())
  }
  const command = commands.find((c) => c.name === first)
  if (command === undefined) throw first.startsWith('-') ? new UsageError(`unknown flag ${first}${didYouMean(suggestions(first, ['--help', '--version']))}`) : unknownCommand(first)
  return command.run(rest)
}

function unknownCommand(name: string): UsageError {
  return new UsageError(`unknown command ${JSON.stringify(name)}${didYouMean(suggestions(name, commands.map((c) => c.name)).map((s) => JSON.stringify(s)))}`)
}

/** The line under a usage error: the command's synopsis, or where to find the commands. */
function usageHint(error: UsageError): string {
  const command = commands.find((c) => c.name === error.command)
  return command === undefined ? "Run 'forkd --help' for the commands.\n" : `Usage: ${command.synopsis} ('forkd ${command.name} --help' lists the flags)\n`
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const e = error as Error & { code?: string }
  // One line: a message with line breaks is joined, so a log line stays one record. A worker
  // module's message keeps its lines: they are a syntax error's source line and caret.
  const message = error instanceof WorkerModuleError ? e.message : e.message.replace(/\s*\n\s*/g, ' ')
  if (error instanceof UsageError) {
    process.stderr.write(`forkd: ${message}\n${usageHint(error)}`)
    process.exit(2)
  }
  // Mistakes the user can fix (the module, the path, an option) exit 2; a status that got no answer 1.
  const userError = error instanceof TypeError || error instanceof WorkerModuleError || error instanceof SocketPathError
  process.stderr.write(`forkd: ${message}\n`)
  process.exit(error instanceof StatusError ? 1 : userError ? 2 : 1)
})
