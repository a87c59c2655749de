export { Client } from './client.js'
export type { ClientOptions, ConnectTarget, DnsTarget, SrvTarget, DnsResolver, NormalizedClientOptions } from './options.js'
export type { ClientEvents } from './client.js'
export type { WorkerInfo } from './pool-events.js'
export type { Checkout, CheckoutOptions, CallOptions, InterfaceOf, WorkerIdentity, ReservedName } from './remote-types.js'
export type { PoolStats, RetireReason } from './pool.js'
export type { RemoveReason } from './retirement.js'
export type { EndpointStats } from './connection-opener.js'
export type { NameStats } from './endpoint-discovery.js'
export type { ClientTlsOptions, ClientAuthOptions, TransportSecurity } from './transport-security.js'
export type { LogRecord, LogSink, StructuredLogger } from './log-sink.js'
export type { ConnectSource, SrvRecord } from './connect-targets.js'
export {
  ForkdError, ProtocolError, UnencodableError, WorkerError, SetupError, TimeoutError, WorkerDiedError, AbortedError,
  CancelledError, ClientClosedError, CheckoutReleasedError, QueueFullError, ConnectError, VersionMismatchError, ServerAtCapacityError, AbortError, ResolveError, AuthError,
} from './errors.js'
export type { RemoteError } from './errors.js'
