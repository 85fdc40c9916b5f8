/**
 * The events as Effect Schema classes: their schemas (what decoding outside data checks) and their
 * prototypes. Their constructors are not the ones users call: see `events.ts`.
 */
import * as Schema from "effect/Schema"
import type { Extension } from "../Extensions.js"

/**
 * HTTP header fields as `[name, value]` pairs, in order, repeats kept.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Headers = Schema.Array(Schema.Tuple(Schema.String, Schema.String))

/**
 * @since 0.1.0
 * @category models
 */
export type Headers = ReadonlyArray<readonly [string, string]>

const isExtension = (u: unknown): u is Extension =>
  typeof u === "object" && u !== null && typeof (u as { name?: unknown }).name === "string" &&
  typeof (u as { init?: unknown }).init === "function"

/**
 * An `Extensions.Extension` value (checked structurally: a `name` and an `init` hook).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ExtensionSchema: Schema.Schema<Extension> = Schema.declare(isExtension, { identifier: "Extension" })

const emptyHeaders = (): Headers => []
const emptyBytes = () => new Uint8Array(0)

/**
 * The opening handshake's request (RFC 6455 §4.1). A client sends it: `extensions` are the
 * extensions to offer. A server receives it: `extensions` are the offers as received, one string
 * per offer, and `extraHeaders` every header but `Host`, `Sec-WebSocket-Extensions` and
 * `Sec-WebSocket-Protocol`, names lowercased.
 *
 * @since 0.1.0
 * @category events
 */
export class Request extends Schema.TaggedClass<Request>()("Request", {
  host: Schema.String,
  target: Schema.String,
  extensions: Schema.optionalWith(Schema.Array(Schema.Union(Schema.String, ExtensionSchema)), {
    default: () => []
  }),
  extraHeaders: Schema.optionalWith(Headers, { default: emptyHeaders }),
  subprotocols: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}) {}

/**
 * The server accepts the handshake (RFC 6455 §4.2.2). A server sends it with the extensions it
 * supports (negotiation picks among them) and the chosen subprotocol; a client receives it with the
 * extensions agreed on and the response's other headers, names lowercased.
 *
 * @since 0.1.0
 * @category events
 */
export class AcceptConnection extends Schema.TaggedClass<AcceptConnection>()("AcceptConnection", {
  subprotocol: Schema.optional(Schema.String),
  extensions: Schema.optionalWith(Schema.Array(ExtensionSchema), { default: () => [] }),
  extraHeaders: Schema.optionalWith(Headers, { default: emptyHeaders })
}) {}

/**
 * The server refuses the handshake with an ordinary HTTP response. With `hasBody`, `RejectData`
 * events carry the body. The status (200–999) is checked when it is sent: a `LocalProtocolError`.
 *
 * @since 0.1.0
 * @category events
 */
export class RejectConnection extends Schema.TaggedClass<RejectConnection>()("RejectConnection", {
  statusCode: Schema.optionalWith(Schema.Number, { default: () => 400 }),
  headers: Schema.optionalWith(Headers, { default: emptyHeaders }),
  hasBody: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/**
 * A piece of a rejection response's body; `bodyFinished` marks the last.
 *
 * @since 0.1.0
 * @category events
 */
export class RejectData extends Schema.TaggedClass<RejectData>()("RejectData", {
  data: Schema.Uint8Array,
  bodyFinished: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {}

/**
 * A close (RFC 6455 §5.5.1): sent to start or answer the closing handshake, received when the
 * peer closes (code 1005 when it gave none) or the transport ends (1006). The code is checked
 * when it is sent (RFC 6455 §7.4): a non-integer or reserved code is a `LocalProtocolError`.
 *
 * @since 0.1.0
 * @category events
 */
export class CloseConnection extends Schema.TaggedClass<CloseConnection>()("CloseConnection", {
  code: Schema.Number,
  reason: Schema.optionalWith(Schema.String, { default: () => "" })
}) {
  /**
   * The close that answers this one: the same code and reason.
   *
   * @since 0.1.0
   */
  response(): CloseConnection {
    return closeConnection(this.code, this.reason)
  }
}

/**
 * A text message or a piece of one.
 *
 * @since 0.1.0
 * @category events
 */
export class TextMessage extends Schema.TaggedClass<TextMessage>()("TextMessage", {
  data: Schema.String,
  frameFinished: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  messageFinished: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {}

/**
 * A binary message or a piece of one.
 *
 * @since 0.1.0
 * @category events
 */
export class BytesMessage extends Schema.TaggedClass<BytesMessage>()("BytesMessage", {
  data: Schema.Uint8Array,
  frameFinished: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  messageFinished: Schema.optionalWith(Schema.Boolean, { default: () => true })
}) {}

/**
 * @since 0.1.0
 * @category events
 */
export class Pong extends Schema.TaggedClass<Pong>()("Pong", {
  payload: Schema.optionalWith(Schema.Uint8Array, { default: emptyBytes })
}) {}

/**
 * @since 0.1.0
 * @category events
 */
export class Ping extends Schema.TaggedClass<Ping>()("Ping", {
  payload: Schema.optionalWith(Schema.Uint8Array, { default: emptyBytes })
}) {
  /**
   * The pong that answers this ping: the same payload (RFC 6455 §5.5.3).
   *
   * @since 0.1.0
   */
  response(): Pong {
    return pong(this.payload)
  }
}

// Trusted constructors for the events the library builds itself on the hot path, from positional
// arguments: each writes its fields in the schema's order, `_tag` last, so that all instances of a
// class share one shape.

/** @internal */
export const textMessage = (data: string, frameFinished: boolean, messageFinished: boolean): TextMessage => {
  const event = Object.create(TextMessage.prototype)
  event.data = data
  event.frameFinished = frameFinished
  event.messageFinished = messageFinished
  event._tag = "TextMessage"
  return event
}

/** @internal */
export const bytesMessage = (data: Uint8Array, frameFinished: boolean, messageFinished: boolean): BytesMessage => {
  const event = Object.create(BytesMessage.prototype)
  event.data = data
  event.frameFinished = frameFinished
  event.messageFinished = messageFinished
  event._tag = "BytesMessage"
  return event
}

/** @internal */
export const ping = (payload: Uint8Array): Ping => {
  const event = Object.create(Ping.prototype)
  event.payload = payload
  event._tag = "Ping"
  return event
}

/** @internal */
export const pong = (payload: Uint8Array): Pong => {
  const event = Object.create(Pong.prototype)
  event.payload = payload
  event._tag = "Pong"
  return event
}

/** @internal */
export const closeConnection = (code: number, reason: string): CloseConnection => {
  const event = Object.create(CloseConnection.prototype)
  event.code = code
  event.reason = reason
  event._tag = "CloseConnection"
  return event
}

/** @internal */
export const rejectConnection = (statusCode: number, headers: Headers, hasBody = false): RejectConnection => {
  const event = Object.create(RejectConnection.prototype)
  event.statusCode = statusCode
  event.headers = headers
  event.hasBody = hasBody
  event._tag = "RejectConnection"
  return event
}
