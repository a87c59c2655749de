/**
 * `@forkd/protocol`: what a forkd client and a forkd worker agree on. Message shapes and codes, the
 * CBOR codec, the checks every peer message passes, the frame writer, endpoints, HTTP refusals,
 * close reasons and the error base. docs/protocol.md is the prose version.
 *
 * @packageDocumentation
 */
export { PROTOCOL_VERSION, SUBPROTOCOL, WORKER_PATH, STATUS_PATH, MessageType, CallFlags, DoneFlags, CloseCode, Limits } from './constants.js'
export type * from './messages.js'
export { Codec } from './codec.js'
export type { CodecOptions } from './codec.js'
export { checkClientMessage, checkWorkerMessage, assertEncodable } from './validation.js'
export { toWireError } from './wire-error.js'
export { ForkdError, ProtocolError, UnencodableError } from './errors.js'
export type { ForkdErrorOptions } from './errors.js'
export { reservedMethodNames, isReservedMethodName } from './reserved-names.js'
export type { ReservedMethodName } from './reserved-names.js'
export { FrameWriter } from './frame-writer.js'
export type { FrameWriterOptions } from './frame-writer.js'
export { FrameBuffer } from './frame-buffer.js'
export { parseEndpoint, describeEndpoint, endpointUrl, EndpointSyntaxError } from './endpoint.js'
export type { Endpoint, EndpointInput, TcpEndpoint } from './endpoint.js'
export { ERROR_HEADER, refusalResponse, writeRefusal } from './http-refusal.js'
export { AUTHORIZATION_HEADER, isBearerToken, bearerHeader, parseBearer, tokenRule, minTokenLength, maxTokenLength } from './bearer-token.js'
export { formatExitReason, parseExitReason, truncateUtf8, maxCloseReasonBytes } from './close-reason.js'
export type { ExitReason } from './close-reason.js'
