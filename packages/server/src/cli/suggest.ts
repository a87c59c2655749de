/** "Did you mean": the closest known word to a mistyped one. */

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of two neighbours
 * (optimal string alignment), so `--max-worker`, `--max-wrokers` and `--maxworkers` are all close
 * to `--max-workers`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  const at = (i: number, j: number) => d[i * cols + j]!
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      d[i * cols + j] = best
    }
  }
  return at(rows - 1, cols - 1)
}

/**
 * The known word closest to `word`, if it is close enough to be a typo: at most 2 edits, or a
 * third of the word's length for long words. Ties go to the first in `known`.
 */
export function closest(word: string, known: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(word, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= limit ? best : undefined
}

/**
 * What to suggest for `word`: the closest known word, else the known words it begins (up to three,
 * for `--log` → `--log-level`, `--log-format`), else nothing.
 */
export function suggestions(word: string, known: readonly string[]): string[] {
  const near = closest(word, known)
  if (near !== undefined) return [near]
  if (word.length < 2) return []
  const extended = known.filter((k) => k.startsWith(word))
  return extended.length <= 3 ? extended : []
}

/** ` (did you mean --a or --b?)`, or '' when there is nothing to suggest. */
export function didYouMean(options: readonly string[]): string {
  if (options.length === 0) return ''
  const list = options.length === 1 ? options[0]! : `${options.slice(0, -1).join(', ')} or ${options.at(-1)!}`
  return ` (did you mean ${list}?)`
}
