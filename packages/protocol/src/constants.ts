/** The protocol version this build speaks. Bumped on any incompatible change to a message. */
export const PROTOCOL_VERSION = 1

/** WebSocket subprotocol that carries the version through the HTTP upgrade. */
export const SUBPROTOCOL = `forkd.v${PROTOCOL_VERSION}`

/** Upgrade paths: one for a worker connection, one for a status query. */
export const WORKER_PATH = '/forkd'
/** Upgrade path of a status query: the server answers with one status message and closes. */
export const STATUS_PATH = '/forkd/status'

/** Message type tags: the first element of every message array. */
export const MessageType = {
  /** Worker → client: its identity, first on every connection. */
  Hello: 0,
  /** Client → worker: run a method. */
  Call: 1,
  /** Worker → client: a call's result. */
  Ok: 2,
  /** Worker → client: a call's error. */
  Error: 3,
  /** Client → worker: the checkout is released. */
  Done: 4,
  /** Worker → client: `checkoutDone` finished. */
  DoneAck: 5,
  /** Worker → client: a log record of a call. */
  Log: 6,
  /** Worker → client: an event of a call. */
  Event: 7,
  /** Client → worker: reserved, ignored in version 1. */
  Cancel: 8,
  /** Worker → client: stop using this worker after the current checkout. */
  Retire: 9,
  /** Worker → client: last words of a process about to end. */
  Bye: 10,
  /** Server → status client: the status snapshot. */
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
  /** Normal close (the client's, or the worker's after a status answer). */
  Normal: 1000,
  /** A message larger than the receiver's `maxPayload`. */
  TooBig: 1009,
  /** The client gave up on this worker (timeout, abort): the worker exits at once. */
  Discard: 4000,
  /** The peer broke the protocol; the reason says how. */
  ProtocolError: 4001,
  /**
   * The client lets this worker go for what it became (an error with reforkAfterError, maxCheckouts,
   * maxWorkerAge, maxWorkerMemory, a failed validate): its process takes no new connection and exits
   * once its last connection is closed. Otherwise like 1000.
   */
  RetireWorker: 4002,
  /** The worker process ended while the connection was open (sent by the server). */
  WorkerExited: 4003,
  /** The server killed the worker as hung (`hungWorkerTimeout`). */
  HungWorkerKilled: 4004,
  /** The worker's `checkoutDone` threw: the worker ends this connection and exits. */
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
