/**
 * The checks behind every forkd `normalizeOptions()`: one wording for every package, a TypeError
 * that names the option, what it must be, and what was given.
 */

/** A short, safe rendering of a given value for an error message. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'function') return 'a function'
  if (v instanceof URL) return v.href
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(v)
    } catch {
      return Object.prototype.toString.call(v)
    }
  }
  return String(v)
}

export interface OptionChecks {
  /** Throws `TypeError: <owner>: option "<option>" must be <expected>, got <given>`. */
  fail(option: string, expected: string, given: unknown): never
  /** An integer ≥ min (or Infinity, when allowed). */
  count(option: string, value: unknown, min: number, allowInfinity?: boolean): asserts value is number
  /** A number of milliseconds > 0 (or Infinity, when allowed). */
  ms(option: string, value: unknown, allowInfinity: boolean): asserts value is number
}

/** Checks whose messages start with `owner` (`forkd Client`, `forkd Server`...). */
export function optionChecks(owner: string): OptionChecks {
  const fail = (option: string, expected: string, given: unknown): never => {
    throw new TypeError(`${owner}: option "${option}" must be ${expected}, got ${describeValue(given)}`)
  }
  return {
    fail,
    count(option, value, min, allowInfinity = false) {
      const ok = typeof value === 'number' && value >= min && (Number.isInteger(value) || (allowInfinity && value === Infinity))
      if (!ok) fail(option, `an integer ≥ ${min}${allowInfinity ? ' or Infinity' : ''}`, value)
    },
    ms(option, value, allowInfinity) {
      const ok = typeof value === 'number' && value > 0 && (Number.isFinite(value) || (allowInfinity && value === Infinity))
      if (!ok) fail(option, `a number of milliseconds > 0${allowInfinity ? ', or Infinity' : ''}`, value)
    },
  }
}
