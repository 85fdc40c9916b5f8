/**
 * The two protocol errors and what each `reason` means on the wire: the close code a connection
 * is failed with (RFC 6455 §7.4.1) and the HTTP status a server rejects a handshake with
 * (RFC 6455 §4.2.1, §4.4; RFC 9110 §15.5; RFC 6585 §5). This table is the only place that maps a
 * reason to a code.
 */
import * as Data from "effect/Data"
import type { Event, Headers } from "../Events.js"
import { closeConnection, rejectConnection } from "./events.js"

/**
 * Why the opening handshake failed (RFC 6455 §4).
 *
 * - `MalformedHttp`: the head is not HTTP/1.1 as RFC 9112 defines it.
 * - `HeadTooLarge`: the head is over `maxHeadSize` bytes or `maxHeaders` fields.
 * - `InvalidHandshake`: a header RFC 6455 §4.1 or §4.2.1 requires is missing or wrong, or the
 *   answer is not what was offered.
 * - `UnsupportedVersion`: `Sec-WebSocket-Version` is not 13 (RFC 6455 §4.4).
 * - `UnexpectedEnd`: the transport ended before the handshake did.
 *
 * @since 0.3.0
 * @category models
 */
export type HandshakeReason =
  | "MalformedHttp"
  | "HeadTooLarge"
  | "InvalidHandshake"
  | "UnsupportedVersion"
  | "UnexpectedEnd"

/**
 * Why an open connection failed (RFC 6455 §5–§8).
 *
 * - `ProtocolViolation`: framing, masking, fragmentation or a close payload broke RFC 6455.
 * - `InvalidPayload`: a text message or close reason is not UTF-8 (RFC 6455 §8.1), or compressed
 *   data does not inflate (RFC 7692 §6.2).
 * - `MessageTooBig`: a frame or a message is over `maxFrameSize` or `maxMessageSize`.
 * - `ExtensionFailure`: an extension refused what it received; it may choose the close code.
 *
 * @since 0.3.0
 * @category models
 */
export type ConnectionReason = "ProtocolViolation" | "InvalidPayload" | "MessageTooBig" | "ExtensionFailure"

/**
 * @since 0.3.0
 * @category models
 */
export type RemoteReason = HandshakeReason | ConnectionReason

/**
 * What the caller asked for that cannot be done.
 *
 * - `Closed`: the connection is closed; nothing more can be sent or received.
 * - `InvalidState`: the event is not allowed in the current state (an `AcceptConnection` once
 *   open, a message while closing).
 * - `InvalidEvent`: the event's content breaks RFC 6455 (a control payload over 125 bytes, a close
 *   code that may not be sent, a header with CR or LF, a subprotocol the client did not offer).
 * - `InvalidOption`: an option is out of its range.
 * - `ExtensionFailure`: an extension refused to send a frame.
 *
 * @since 0.3.0
 * @category models
 */
export type LocalReason = "Closed" | "InvalidState" | "InvalidEvent" | "InvalidOption" | "ExtensionFailure"

/** RFC 6455 §7.4.1: the code each connection failure is closed with. */
const CLOSE_CODES: Readonly<Record<ConnectionReason, number>> = {
  ProtocolViolation: 1002,
  InvalidPayload: 1007,
  MessageTooBig: 1009,
  ExtensionFailure: 1002
}

/** The status a server answers each handshake failure with. */
const STATUSES: Readonly<Record<HandshakeReason, number>> = {
  MalformedHttp: 400,
  HeadTooLarge: 431,
  InvalidHandshake: 400,
  UnsupportedVersion: 426,
  UnexpectedEnd: 400
}

/**
 * The close code a connection failure is closed with (RFC 6455 §7.4.1).
 *
 * @since 0.3.0
 * @category mapping
 */
export const closeCodeFor = (reason: ConnectionReason): number => CLOSE_CODES[reason]

/**
 * The HTTP status a server rejects a failed handshake with.
 *
 * @since 0.3.0
 * @category mapping
 */
export const statusFor = (reason: HandshakeReason): number => STATUSES[reason]

/**
 * Whether a reason belongs to the opening handshake.
 *
 * @since 0.3.0
 * @category predicates
 */
export const isHandshakeReason = (reason: RemoteReason): reason is HandshakeReason => reason in STATUSES

/**
 * The caller asked for something that is impossible in the current state or forbidden by
 * RFC 6455: a control payload over 125 bytes, a close code that may not be sent, a text
 * fragment inside a binary message. `reason` says which kind of mistake it is.
 *
 * @since 0.1.0
 * @category errors
 */
export class LocalProtocolError extends Data.TaggedError("LocalProtocolError")<{
  readonly reason: LocalReason
  readonly message: string
}> {}

/**
 * The peer broke the protocol; `reason` says how.
 *
 * - During the handshake `closeCode` is absent: no connection exists. A server's error has the
 *   `statusCode` to reject with (400, 426, 431) and, as `eventHint`, the `RejectConnection` to send.
 * - On an open connection `closeCode` is the RFC 6455 §7.4.1 code to close with (1002, 1007, 1009,
 *   or one an extension chose), and `eventHint` the `CloseConnection` to send.
 *
 * Where an Effect fails with it, `events` holds the events the same input completed before the
 * violation.
 *
 * @since 0.1.0
 * @category errors
 */
export class RemoteProtocolError extends Data.TaggedError("RemoteProtocolError")<{
  readonly reason: RemoteReason
  readonly message: string
  readonly closeCode?: number
  readonly statusCode?: number
  readonly eventHint?: Event
  readonly events?: ReadonlyArray<Event>
}> {}

/**
 * A local error.
 *
 * @internal
 */
export const local = (reason: LocalReason, message: string): LocalProtocolError =>
  new LocalProtocolError({ reason, message })

/**
 * A violation on an open connection: the close code from the table unless an extension chose one,
 * and the close to answer with.
 *
 * @internal
 */
export const violation = (reason: ConnectionReason, message: string, closeCode = CLOSE_CODES[reason]) =>
  new RemoteProtocolError({ reason, message, closeCode, eventHint: closeConnection(closeCode, message) })

/**
 * A failed handshake. A server's carries the status from the table and the rejection to send
 * (with `headers`, such as the `Sec-WebSocket-Version` RFC 6455 §4.4 asks for); a client's has
 * neither, since a client has nothing to answer with.
 *
 * @internal
 */
export const handshakeFailure = (
  server: boolean,
  reason: HandshakeReason,
  message: string,
  headers: Headers = []
): RemoteProtocolError => {
  if (!server) return new RemoteProtocolError({ reason, message })
  const statusCode = STATUSES[reason]
  return new RemoteProtocolError({ reason, message, statusCode, eventHint: rejectConnection(statusCode, headers) })
}

/**
 * The same error with the events its input completed before it.
 *
 * @internal
 */
export const withEvents = (error: RemoteProtocolError, events: ReadonlyArray<Event>): RemoteProtocolError =>
  new RemoteProtocolError({
    reason: error.reason,
    message: error.message,
    events,
    ...(error.closeCode === undefined ? {} : { closeCode: error.closeCode }),
    ...(error.statusCode === undefined ? {} : { statusCode: error.statusCode }),
    ...(error.eventHint === undefined ? {} : { eventHint: error.eventHint })
  })

/**
 * A violation as the decoder reports it: with its close code and the close to answer with, also
 * when an extension's hook built it without them.
 *
 * @internal
 */
export const withHint = (error: RemoteProtocolError): RemoteProtocolError =>
  error.eventHint !== undefined
    ? error
    : violation(
      isHandshakeReason(error.reason) ? "ExtensionFailure" : error.reason,
      error.message,
      error.closeCode ?? CLOSE_CODES.ProtocolViolation
    )
