/**
 * Flag tables: each command lists its flags as rows, and the parser, the help text and the error
 * messages all read those rows. A new flag is a new row.
 */
import { parseArgs } from 'node:util'
import { didYouMean, suggestions } from './suggest.js'
import { UsageError } from './usage-error.js'

/** One flag of a command. `C` is what the command collects its flags into. */
export interface Flag<C> {
  /** The long name, without dashes: `max-workers`. */
  name: string
  /** A one-letter alias, without the dash. */
  short?: string
  /** The value's placeholder in help and messages (`N`, `MS`, `PATH`); absent for a switch. */
  value?: string
  /** May be given more than once; each value is applied in order. */
  repeatable?: boolean
  /** The API option this flag sets (`maxWorkers`), so an option error can be told in flag terms. */
  option?: string
  /** What the flag does, for --help (wrapped there). */
  help: string
  /** The default, shown after the help text. */
  default?: string
  /** The heading the flag is listed under in --help. */
  group: string
  /** Applies one occurrence: the value given, or `true` for a switch. Throws UsageError for a bad value. */
  apply(into: C, value: string | true): void
}

/** Finds the row for a flag name (`max-workers`) or a short alias (`h`). */
function rowFor<C>(flags: readonly Flag<C>[], name: string): Flag<C> | undefined {
  return flags.find((f) => f.name === name || f.short === name)
}

/**
 * Parses `args` against the command's flags, applying each flag to `into`; returns the
 * positionals. Unknown flags, missing or unexpected values and repeated single flags are
 * UsageErrors naming the flag (with a suggestion for a typo). `--` ends the flags.
 */
export function parseFlags<C>(args: string[], flags: readonly Flag<C>[], into: C, command: string): string[] {
  const options = Object.fromEntries(flags.map((f) => [f.name, {
    type: f.value === undefined ? ('boolean' as const) : ('string' as const),
    multiple: true,
    ...(f.short === undefined ? {} : { short: f.short }),
  }]))
  // strict: false so that an unknown flag reaches us as a token, to be answered with a suggestion.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true })
  const positionals: string[] = []
  const seen = new Set<string>()
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value)
      continue
    }
    if (token.kind !== 'option') continue
    const flag = rowFor(flags, token.name)
    if (flag === undefined) {
      const known = flags.map((f) => `--${f.name}`)
      const typed = token.rawName.startsWith('--') ? token.rawName : `-${token.name}`
      throw new UsageError(`unknown flag ${typed} for ${command}${didYouMean(suggestions(typed, known))}`, command)
    }
    const label = `--${flag.name}`
    if (flag.value !== undefined) {
      if (token.value === undefined) throw new UsageError(`${label} needs a value (${flag.value})`, command)
      // `--listen --name x`: the next word is a flag, not the value that was forgotten.
      if (!token.inlineValue && token.value.startsWith('--') && rowFor(flags, token.value.slice(2).split('=')[0]!) !== undefined)
        throw new UsageError(`${label} needs a value (${flag.value}), got the flag ${token.value}`, command)
    } else if (token.inlineValue) {
      throw new UsageError(`${label} takes no value, got ${JSON.stringify(token.value)}`, command)
    }
    if (seen.has(flag.name) && flag.repeatable !== true) throw new UsageError(`${label} given more than once`, command)
    seen.add(flag.name)
    try {
      flag.apply(into, token.value ?? true)
    } catch (error) {
      // Value checks do not know the command; the usage hint under the message needs it.
      if (error instanceof UsageError && error.command === undefined) throw new UsageError(error.message, command)
      throw error
    }
  }
  return positionals
}

/** The flag that sets API option `option`, if any. */
export function flagForOption<C>(flags: readonly Flag<C>[], option: string): Flag<C> | undefined {
  return flags.find((f) => f.option === option)
}

/** A number, or Infinity; anything else is a UsageError naming the flag. Ranges are the API's to check. */
export function numberValue(flag: string, raw: string): number {
  const n = raw === 'Infinity' ? Infinity : Number(raw)
  if (raw.trim() === '' || Number.isNaN(n)) throw new UsageError(`--${flag} must be a number, got ${JSON.stringify(raw)}`)
  return n
}

const byteUnits: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 }

/** A size in bytes: `1048576`, `512KiB`, `64MiB`, `1GiB` (K, M, G are binary too). */
export function bytesValue(flag: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim())
  const unit = match === null ? undefined : byteUnits[match[2]!.toLowerCase()]
  if (match === null || unit === undefined)
    throw new UsageError(`--${flag} must be a number of bytes (e.g. 1048576, 512KiB or 64MiB), got ${JSON.stringify(raw)}`)
  return Math.round(Number(match[1]) * unit)
}

/** An octal file mode from 0 to 777 (`660`, `0660`, `0o660`). */
export function octalModeValue(flag: string, raw: string): number {
  const match = /^(?:0o?)?([0-7]{1,3})$/i.exec(raw.trim())
  if (match === null) throw new UsageError(`--${flag} must be an octal file mode from 0 to 777 (e.g. 660), got ${JSON.stringify(raw)}`)
  return parseInt(match[1]!, 8)
}

/** One of `choices`. */
export function choiceValue<T extends string>(flag: string, raw: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(raw))
    throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}${didYouMean(suggestions(raw, choices))}`)
  return raw as T
}
