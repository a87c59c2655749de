/** The ws package, loaded with require() for the reason commonjs.ts gives. */
import type WebSocket from 'ws'
import type { WebSocketServer } from 'ws'
import { requireCommonJs } from './commonjs.js'

/** ws's CommonJS entry: the WebSocket class, with WebSocketServer and the rest on it. */
export const ws = requireCommonJs('ws') as typeof WebSocket & { WebSocket: typeof WebSocket; WebSocketServer: typeof WebSocketServer }
