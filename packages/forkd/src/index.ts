/**
 * `forkd`: everything in one install. This entry point re-exports the public API of
 * `@forkd/client` (the pool a caller checks workers out of) and `@forkd/server` (the server and
 * what a worker module imports). `forkd/client` and `forkd/server` re-export one side each, for a
 * worker module or a caller that wants to load only its own half.
 *
 * @example
 * ```ts
 * import { Client, Server, defineWorker } from 'forkd'
 * ```
 * @packageDocumentation
 */
export * from '@forkd/client'
export * from '@forkd/server'
