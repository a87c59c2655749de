/**
 * The commands of `forkd`, one row each: name, synopsis, summary, help and what runs it. A new
 * command (`forkd top`) is a new row.
 */
import { readFileSync } from 'node:fs'
import { PROTOCOL_VERSION } from '@forkd/protocol'
import { formatFlags } from './help.js'
import { serve, serveFlags, serveHelp, serveSynopsis } from './serve.js'
import { status, statusHelp, statusSynopsis } from './status.js'
import { top, topHelp, topSynopsis } from './top.js'

export interface Command {
  name: string
  /** `forkd serve --listen PATH [flags] WORKER_MODULE`: shown in the overview and under usage errors. */
  synopsis: string
  /** One line for the overview. */
  summary: string
  /** The full text of `forkd NAME --help`. */
  help(): string
  run(args: string[]): Promise<void>
}

export const commands: readonly Command[] = [
  { name: 'serve', synopsis: serveSynopsis, summary: 'run a server in the foreground', help: serveHelp, run: serve },
  { name: 'status', synopsis: statusSynopsis, summary: 'print the status of a running server as JSON', help: statusHelp, run: status },
  { name: 'top', synopsis: topSynopsis, summary: 'a live view of a running server\'s workers (q quits)', help: topHelp, run: top },
]

/** `forkd 0.1.0 (protocol 1, Node.js v20.20.2)`. */
export function versionLine(): string {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return `forkd ${version} (protocol ${PROTOCOL_VERSION}, Node.js ${process.version})`
}

/** `forkd --help`: every command, and the flags of serve, the command most people run. */
export function overview(): string {
  const lines = commands.map((c) => `  ${c.synopsis}`)
  return `Usage:
${lines.join('\n')}
  forkd help COMMAND | forkd COMMAND --help
  forkd --version

Commands:
${commands.map((c) => `  ${c.name.padEnd(8)}${c.summary}`).join('\n')}

Flags of serve:
${formatFlags(serveFlags)}Environment: FORKD_DEBUG=1 logs debug records (as --log-level debug).
'forkd COMMAND --help' says more (flags, signals, exit status, examples).
`
}
