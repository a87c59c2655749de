/**
 * ws and cbor-x, loaded with require() rather than `import`.
 *
 * Both are CommonJS packages. On Node 20 an `import` of a CommonJS package runs it through the ES
 * module loader (cjs-module-lexer over every file, a module record per file), which costs a worker
 * process about 90 ms of CPU at start for these two packages, against about 35 ms with require();
 * `node bench/dist/tools/worker-startup.js --only imports` measures both ways. Every forkd worker
 * pays its start, so the packages load them from here. Types still come from the packages' own
 * declarations.
 */
import { createRequire } from 'node:module'
import type * as CborX from 'cbor-x/index-no-eval'
import type WebSocket from 'ws'
import type { WebSocketServer } from 'ws'

const require = createRequire(import.meta.url)

/** The `ws` package (its CommonJS entry: the WebSocket class, with WebSocketServer and the rest on it). */
export const ws = require('ws') as typeof WebSocket & { WebSocket: typeof WebSocket; WebSocketServer: typeof WebSocketServer }
/** cbor-x's no-eval build (see codec.ts for why that build). */
export const cborX = require('cbor-x/index-no-eval') as typeof CborX
