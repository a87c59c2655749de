/** A mistake in the command line: the CLI prints its message and a usage hint, and exits 2. */
export class UsageError extends Error {
  /** The command whose usage line is shown under the message (`serve`, `status`), if any. */
  readonly command: string | undefined

  constructor(message: string, command?: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}
