/**
 * The driver's one error type (re-exported by `WebSocketError`).
 */
import * as Data from "effect/Data"
import type * as Events from "../Events.js"

/**
 * What went wrong, one `reason` each:
 *
 * - `ProtocolError`: the peer broke RFC 6455 or RFC 7692; `closeCode` is the code sent to it (1002,
 *   1007, 1009), `cause` the `RemoteProtocolError`.
 * - `LocalError`: this end asked for what the protocol forbids (a close code that may not be sent,
 *   a control payload over 125 bytes); `cause` the `LocalProtocolError`.
 * - `HandshakeRejected`: the server answered the opening handshake with another status than 101;
 *   `status`, `headers` and `body` are its response.
 * - `HandshakeFailed`: the opening handshake broke the protocol (a wrong `Sec-WebSocket-Accept`,
 *   an extension that was not offered, a malformed request); `cause` says what.
 * - `HandshakeTimeout`, `CloseTimeout`, `PongTimeout`: the timeout of that name ran out.
 * - `Transport`: the socket failed; `cause` is the `SocketError`.
 * - `Closed`: the connection is closed: the transport ended without a closing handshake (`closeCode`
 *   1006, RFC 6455 §7.1.5), or this end sent or closed after the close (`closeCode` and
 *   `closeReason` of the close).
 *
 * @since 0.2.0
 * @category errors
 */
export class WebSocketError extends Data.TaggedError("WebSocketError")<{
  readonly reason:
    | "ProtocolError"
    | "LocalError"
    | "HandshakeRejected"
    | "HandshakeFailed"
    | "HandshakeTimeout"
    | "CloseTimeout"
    | "PongTimeout"
    | "Transport"
    | "Closed"
  readonly message: string
  readonly closeCode?: number
  readonly closeReason?: string
  readonly status?: number
  readonly headers?: Events.Headers
  readonly body?: Uint8Array
  readonly cause?: unknown
}> {}
