/**
 * cbor-x and ws, loaded with require() rather than `import`.
 *
 * Both are CommonJS packages. On Node 20 an `import` of a CommonJS package runs it through the ES
 * module loader (cjs-module-lexer over every file, a module record per file), which costs a worker
 * process about 90 ms of CPU at start for these two packages, against about 35 ms with require();
 * `node bench/dist/tools/worker-startup.js --only imports` measures both ways. Every forkd worker
 * pays its start, so the packages load them through here. Types still come from the packages' own
 * declarations. ws is in ws-package.ts, so that a program that only encodes CBOR does not load it.
 */
import { createRequire } from 'node:module'
import type * as CborX from 'cbor-x/index-no-eval'

/** require() resolving from this package, which depends on both. */
export const requireCommonJs = createRequire(import.meta.url)

/** cbor-x's no-eval build (see codec.ts for why that build). */
export const cborX = requireCommonJs('cbor-x/index-no-eval') as typeof CborX
