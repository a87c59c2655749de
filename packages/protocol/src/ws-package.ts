/**
 * `@forkd/protocol/ws`: the ws package, loaded with require() for the reason commonjs.ts gives. Not
 * part of the contract, and apart from `./internal`: its declarations name ws's types, which a
 * program using forkd's public types should not need (@types/ws).
 */
import type WebSocket from 'ws'
import type { WebSocketServer } from 'ws'
import { requireCommonJs } from './commonjs.js'

/** ws's CommonJS entry: the WebSocket class, with WebSocketServer and the rest on it. */
export const ws = requireCommonJs('ws') as typeof WebSocket & { WebSocket: typeof WebSocket; WebSocketServer: typeof WebSocketServer }
