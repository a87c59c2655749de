/**
 * `@forkd/protocol/internal`: helpers the forkd packages share that are not part of the contract.
 * No compatibility promise: other programs should not import this.
 *
 * @packageDocumentation
 */
export { optionChecks, describeValue } from './option-checks.js'
export type { OptionChecks } from './option-checks.js'
export { reentrantStep } from './reentrant.js'
export { backoffDelay } from './backoff.js'
export type { BackoffRange } from './backoff.js'
export { readPem, isPemSource, isPemPath } from './pem-source.js'
export type { PemSource } from './pem-source.js'
export { parseTokenFile } from './bearer-token.js'
