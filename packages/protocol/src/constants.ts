/** The protocol version this build speaks. Bumped on any incompatible change to a message. */
export const PROTOCOL_VERSION = 1

/** WebSocket subprotocol that carries the version through the HTTP upgrade. */
export const SUBPROTOCOL = `forkd.v${PROTOCOL_VERSION}`

/** Upgrade paths: one for a worker connection, one for a status query. */
export const WORKER_PATH = '/forkd'
export const STATUS_PATH = '/forkd/status'

/** Message type tags: the first element of every message array. */
export const MessageType = {
  Hello: 0,
  Call: 1,
  Ok: 2,
  Error: 3,
  Done: 4,
  DoneAck: 5,
  Log: 6,
  Event: 7,
  Cancel: 8,
  Retire: 9,
  Bye: 10,
  Status: 11,
} as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

/** Bits of a call's `flags` field. */
export const CallFlags = {
  /** The caller has a log sink: send log records for this call. */
  Logs: 1,
  /** The caller has an event handler: send events for this call. */
  Events: 2,
} as const

/** Bits of a `done` message's optional `flags` field. */
export const DoneFlags = {
  /** Answer with a done-ack carrying the worker process's stats (`[5, error|null, { rss }]`), hook or not. */
  Stats: 1,
} as const

/**
 * WebSocket close codes forkd sends (1000 and 1009 are the RFC's; the rest are private, 4000-4999).
 * A version mismatch, a server at capacity and a missing handshake never reach WebSocket: they are
 * answered at the HTTP upgrade (426, 503) or by closing the socket.
 * `Discard` asks the worker to abandon its running call and end the connection at once (timeout,
 * abort); a process serving no other connection exits.
 */
export const CloseCode = {
  Normal: 1000,
  TooBig: 1009,
  Discard: 4000,
  ProtocolError: 4001,
  /**
   * The client lets this worker go for what it became (an error with reforkAfterError, maxCheckouts,
   * maxWorkerAge, maxWorkerMemory, a failed validate): its process takes no new connection and exits
   * once its last connection is closed. Otherwise like 1000.
   */
  RetireWorker: 4002,
  WorkerExited: 4003,
  HungWorkerKilled: 4004,
  CheckoutDoneFailed: 4007,
} as const

/** Defaults for the limits every endpoint enforces. */
export const Limits = {
  /** Largest frame either side accepts, in bytes. */
  maxPayload: 64 * 1024 * 1024,
  /** Deepest nesting of arrays, maps and tags in a message, its own array counting as level 1. */
  maxDepth: 512,
  /** Largest number of messages in one batched frame. */
  maxBatch: 4096,
  /** Most messages a worker holds queued on one connection (calls and dones not yet run); past it, close 4001. */
  maxQueuedCalls: 65_536,
} as const
