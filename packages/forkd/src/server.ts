/**
 * `forkd/server`: the public API of `@forkd/server`, re-exported (the server, and what a worker
 * module imports: `defineWorker`, `log`, `emit`).
 * @packageDocumentation
 */
export * from '@forkd/server'
