/** Stops what a workload started, last first, even when the workload failed half way. */
export class Cleanup {
  readonly #steps: (() => Promise<unknown> | unknown)[] = []

  /** Registers `step` and returns `value`, so resources can be registered as they are made. */
  add<T>(value: T, step: (value: T) => Promise<unknown> | unknown): T {
    this.#steps.push(() => step(value))
    return value
  }

  async run(): Promise<void> {
    let first: unknown
    while (this.#steps.length > 0) {
      try {
        await this.#steps.pop()!()
      } catch (error) {
        first ??= error
      }
    }
    if (first !== undefined) throw first
  }
}
