export { defineWorker } from './define-worker.js'
export type { WorkerDefinition, WorkerInterface, InterfaceMap, InterfaceFunction } from './define-worker.js'
export { log, emit } from './worker/context.js'
export type { Timer } from './worker/context.js'
