/**
 * Which endpoint gets the next new connection: power of two choices. Two candidates drawn at
 * random, the one where this client has fewer connections wins (a tie goes to the first drawn, so
 * ties stay random). Compared with "fewest connections overall" it needs no global minimum and
 * does not send a burst of new connections all to the one endpoint that just joined; compared with
 * a random pick it keeps the spread within a connection or two.
 */

/** What the choice looks at. */
export interface Choosable {
  /** This client's connections on it in any state but closed: busy, connecting, idle, releasing. */
  readonly connections: number
}

/** Returns the index of the chosen candidate; `candidates` must not be empty. */
export function powerOfTwoChoices(candidates: readonly Choosable[], random: () => number = Math.random): number {
  const n = candidates.length
  if (n <= 1) return 0
  const a = Math.min(n - 1, Math.floor(random() * n))
  // a second, different candidate: draw among the n - 1 others
  let b = Math.min(n - 2, Math.floor(random() * (n - 1)))
  if (b >= a) b++
  return candidates[b]!.connections < candidates[a]!.connections ? b : a
}
