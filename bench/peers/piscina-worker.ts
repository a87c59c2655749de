/** The piscina baseline's worker (a worker thread): echo. */
export default function echo(x: unknown): unknown {
  return x
}
