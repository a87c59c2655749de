/** Help text from flag tables: one aligned, wrapped row per flag, grouped under headings. */
import type { Flag } from './flags.js'

/** Width help text is wrapped to. */
const width = 100
/** Column where a flag's description starts. */
const column = 32

/** Wraps `text` into lines of at most `width - indent` characters, each indented by `indent` spaces. */
export function wrap(text: string, indent: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines.map((l) => ' '.repeat(indent) + l)
}

/** `  -h, --help` / `  --max-workers N`, as the flag appears in help. */
function synopsis<C>(flag: Flag<C>): string {
  const long = `--${flag.name}${flag.value === undefined ? '' : ` ${flag.value}`}`
  return `  ${flag.short === undefined ? '' : `-${flag.short}, `}${long}`
}

/** The flags under their headings, in the order the groups first appear in the table; ends with a blank line. */
export function formatFlags<C>(flags: readonly Flag<C>[]): string {
  const groups = [...new Set(flags.map((f) => f.group))]
  const out: string[] = []
  for (const group of groups) {
    out.push(`${group}:`)
    for (const flag of flags.filter((f) => f.group === group)) {
      const head = synopsis(flag)
      const notes = [...(flag.repeatable === true ? ['repeatable'] : []), ...(flag.default === undefined ? [] : [`default ${flag.default}`])]
      const text = notes.length === 0 ? flag.help : `${flag.help} (${notes.join('; ')})`
      const body = wrap(text, column)
      if (head.length + 1 < column) out.push(head.padEnd(column) + body[0]!.trimStart(), ...body.slice(1))
      else out.push(head, ...body)
    }
    out.push('')
  }
  return out.join('\n') + '\n'
}
