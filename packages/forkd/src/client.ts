/**
 * `forkd/client`: the public API of `@forkd/client`, re-exported.
 * @packageDocumentation
 */
export * from '@forkd/client'
