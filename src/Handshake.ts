/**
 * The opening handshake (RFC 6455 §4) over HTTP/1.1, client and server, as a pure reducer
 * (wsproto's `H11Handshake` class over it is in `H11Handshake`).
 *
 * Every step returns a `Step`: the next state, the events, the bytes to write, and the error if
 * there is one. `send(state, event)` gives the bytes (or a `LocalProtocolError`),
 * `receive(state, bytes | null)` gives the events the bytes complete (or a `RemoteProtocolError`;
 * a server's carries the `statusCode` and, as `eventHint`, the rejection to answer with). Once
 * the state is OPEN, `extensions`, `subprotocol` and `trailingData` give what the connection
 * starts with: the agreed extensions and subprotocol, and the bytes after the handshake (the
 * first frames).
 *
 * @since 0.1.0
 */
import type { ConnectionState, ConnectionType } from "./ConnectionState.js"
import type { LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type * as Events from "./Events.js"
import type { Extension } from "./Extensions.js"
import * as internal from "./internal/handshake.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface HandshakeOptions {
  readonly connectionType: ConnectionType
  /** Largest HTTP head accepted, in bytes; larger is a remote error answered with 431. Default 16 KiB. */
  readonly maxHeadSize?: number
  /** Most header fields accepted; more is a remote error answered with 431. Default 100. */
  readonly maxHeaders?: number
  /** Source of the client's 16-byte nonce (`Sec-WebSocket-Key`). Default `crypto.getRandomValues`. */
  readonly nonce?: () => Uint8Array
}

/**
 * @since 0.3.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @since 0.3.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The handshake's state: an opaque, immutable value, read through `state`, `connectionType`,
 * `extensions`, `subprotocol` and `trailingData`. A state can be stepped any number of times.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandshakeState {
  readonly [TypeId]: TypeId
}

/**
 * One step: the next state, the events completed, the bytes to write, and the error if the step
 * failed (the state is then one the caller may go on from, and nothing was written).
 *
 * @since 0.3.0
 * @category models
 */
export interface Step<E> {
  readonly state: HandshakeState
  readonly events: ReadonlyArray<Events.Event>
  readonly bytes: ReadonlyArray<Uint8Array>
  readonly error: E | undefined
}

/**
 * The result of sending an event: the bytes to write, or a `LocalProtocolError`.
 *
 * @since 0.1.0
 * @category models
 */
export type Sent = Step<LocalProtocolError>

/**
 * The result of receiving bytes: the events, or a `RemoteProtocolError` if the peer broke the
 * protocol.
 *
 * @since 0.1.0
 * @category models
 */
export type Received = Step<RemoteProtocolError>

/**
 * A handshake in its initial state, CONNECTING.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: HandshakeOptions) => HandshakeState = internal.make

/**
 * Sends an event: a client sends `Request`; a server sends `AcceptConnection`, or
 * `RejectConnection` and then `RejectData`. Anything else, or anything out of turn, is a
 * `LocalProtocolError` (reason `InvalidState`) naming the event and the state; an event whose
 * content cannot be sent (a header name or value with CR, LF, NUL or another control character,
 * a subprotocol the client did not offer) is one with reason `InvalidEvent`.
 *
 * @since 0.1.0
 * @category reducers
 */
export const send: (state: HandshakeState, event: Events.Event) => Sent = internal.send

/**
 * Receives bytes from the peer, or `null` when the transport ended.
 *
 * @since 0.1.0
 * @category reducers
 */
export const receive: (state: HandshakeState, data: Uint8Array | null) => Received = internal.receive

/**
 * Starts a server handshake from a request an HTTP server already parsed (for example in Node's
 * `http` `'upgrade'` event): as if `GET path HTTP/1.1` with these headers had been received.
 * A client, a server that already received a request, or headers that cannot be written give a
 * `LocalProtocolError`; a request that fails the handshake a `RemoteProtocolError`.
 *
 * @since 0.1.0
 * @category reducers
 */
export const initiateUpgradeConnection: (
  state: HandshakeState,
  headers: Events.Headers,
  path: string
) => Step<LocalProtocolError | RemoteProtocolError> = internal.initiateUpgradeConnection

/**
 * Where the handshake stands: CONNECTING, OPEN, REJECTING or CLOSED.
 *
 * @since 0.3.0
 * @category accessors
 */
export const state: (state: HandshakeState) => ConnectionState = internal.state

/**
 * Whether this end is the client or the server.
 *
 * @since 0.3.0
 * @category accessors
 */
export const connectionType: (state: HandshakeState) => ConnectionType = internal.connectionType

/**
 * The extensions agreed on, in negotiation order, once OPEN (empty before).
 *
 * @since 0.3.0
 * @category accessors
 */
export const extensions: (state: HandshakeState) => ReadonlyArray<Extension> = internal.extensions

/**
 * The subprotocol agreed on, once OPEN.
 *
 * @since 0.3.0
 * @category accessors
 */
export const subprotocol: (state: HandshakeState) => string | undefined = internal.subprotocol

/**
 * The bytes received after the handshake's last head: the connection's first frames. A server
 * holds them from its request on (a client may send frames before the 101 arrives).
 *
 * @since 0.3.0
 * @category accessors
 */
export const trailingData: (state: HandshakeState) => Uint8Array = internal.trailingData

/**
 * `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2): base64 of the SHA-1 of the
 * key and the protocol's GUID.
 *
 * @since 0.1.0
 * @category utils
 */
export const acceptToken: (key: string) => string = internal.acceptToken
