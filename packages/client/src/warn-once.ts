/** Process warnings the client gives at most once per kind, each with its own code. */
const warned = new Set<string>()

/** Emits `message` as a process warning with code `FORKD_WARN_<KEY>`, the first time only. */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return
  warned.add(key)
  process.emitWarning(message, { code: `FORKD_WARN_${key.toUpperCase().replace(/-/g, '_')}` })
}
