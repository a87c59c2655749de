/**
 * A step that reruns itself instead of nesting. The client pool and the server each have one
 * dispatch step that runs after every state change; a change made during the step (a grant moving
 * a connection, a hand-off) asks for the step again rather than entering it a second time, so the
 * step never sees its own half-done work.
 */
export function reentrantStep(step: () => void): () => void {
  let running = false
  let again = false
  return () => {
    if (running) {
      again = true
      return
    }
    running = true
    try {
      do {
        again = false
        step()
      } while (again)
    } finally {
      running = false
    }
  }
}
