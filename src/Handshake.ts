/**
 * The opening handshake (RFC 6455 §4) over HTTP/1.1, client and server, as a pure reducer
 * (wsproto's `H11Handshake` class over it is in `H11Handshake`).
 *
 * The reducer: `send(state, event)` gives the bytes to write (or a `LocalProtocolError`),
 * `receive(state, bytes | null)` gives the events the bytes complete (or a `RemoteProtocolError`
 * whose `eventHint` is the rejection a server should answer with). Once the state is OPEN it holds
 * what the connection starts with: the agreed extensions and subprotocol, and the bytes that came
 * after the handshake (the first frames).
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import type { ConnectionType } from "./ConnectionState.js"
import type { LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type * as Events from "./Events.js"
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
 * The handshake's state, an immutable value.
 *
 * @since 0.1.0
 * @category models
 */
export type HandshakeState = internal.HandshakeState

/**
 * The result of sending an event: the next state and the bytes to write.
 *
 * @since 0.1.0
 * @category models
 */
export interface Sent {
  readonly state: HandshakeState
  readonly bytes: Uint8Array
}

/**
 * The result of receiving bytes: the next state, the events, and the error if the peer broke the
 * protocol (the state is then the one before the failing input).
 *
 * @since 0.1.0
 * @category models
 */
export interface Received {
  readonly state: HandshakeState
  readonly events: ReadonlyArray<Events.Event>
  readonly error: RemoteProtocolError | undefined
}

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
 * `LocalProtocolError` naming the event and the state; so is a header name or value with CR, LF,
 * NUL or another control character.
 *
 * @since 0.1.0
 * @category reducers
 */
export const send: (state: HandshakeState, event: Events.Event) => Either.Either<Sent, LocalProtocolError> =
  internal.send

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
 * A client gets a `LocalProtocolError`.
 *
 * @since 0.1.0
 * @category reducers
 */
export const initiateUpgradeConnection: (
  state: HandshakeState,
  headers: Events.Headers,
  path: string
) => Either.Either<Received, LocalProtocolError> = internal.initiateUpgradeConnection

/**
 * `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2): base64 of the SHA-1 of the
 * key and the protocol's GUID.
 *
 * @since 0.1.0
 * @category utils
 */
export const acceptToken: (key: string) => string = internal.acceptToken
