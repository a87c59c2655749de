/**
 * Option errors in the words of the command line: the server's option checks throw
 * `TypeError: forkd Server: option "maxWorkers" must be an integer ≥ 1, got 0`; a user of
 * `forkd serve` typed `--max-workers 0` and should read `--max-workers must be an integer ≥ 1, got 0`.
 */
import type { Flag } from './flags.js'

/** The option name and the rule of a forkd option TypeError (the wording of @forkd/protocol's optionChecks). */
const optionError = /^forkd [A-Za-z.]+: option "([^"]+)" (must be [\s\S]*)$/

/**
 * The message of `error` with the API option replaced by the flag that sets it (or by `positional`
 * names for options given as positionals, e.g. `{ worker: 'WORKER_MODULE' }`); undefined when the
 * error is not an option error or no flag sets that option.
 */
export function inFlagTerms<C>(error: unknown, flags: readonly Flag<C>[], positional: Record<string, string> = {}): string | undefined {
  if (!(error instanceof TypeError)) return undefined
  const match = optionError.exec(error.message)
  if (match === null) return undefined
  const [, option, rule] = match as unknown as [string, string, string]
  // A nested option (metrics.host) is set by its parent's flag (--metrics).
  const flag = flags.find((f) => f.option === option || (f.option !== undefined && option.startsWith(`${f.option}.`)))
  if (flag !== undefined) return `--${flag.name} ${rule}`
  const name = positional[option]
  return name === undefined ? undefined : `${name} ${rule}`
}
