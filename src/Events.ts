/**
 * Every event of a WebSocket conversation, as Effect Schema classes with wsproto's fields
 * (camelCased) and defaults. Construct them to send; receive them from the reducers and classes;
 * decode unknown input (a fixture, a log line of JSON) with the `Event` schema.
 *
 * Byte fields encode as arrays of numbers, so events round-trip through JSON.
 *
 * @since 0.1.0
 */
export {
  /**
   * The server accepts the handshake (RFC 6455 §4.2.2).
   *
   * @since 0.1.0
   * @category events
   */
  AcceptConnection,
  /**
   * @since 0.1.0
   * @category events
   */
  BytesMessage,
  /**
   * @since 0.1.0
   * @category events
   */
  CloseConnection,
  /**
   * Every event.
   *
   * @since 0.1.0
   * @category schemas
   */
  Event,
  /**
   * An `Extensions.Extension` value (checked structurally: a `name` and an `init` hook).
   *
   * @since 0.1.0
   * @category schemas
   */
  ExtensionSchema,
  /**
   * HTTP header fields as `[name, value]` pairs, in order, repeats kept.
   *
   * @since 0.1.0
   * @category schemas
   */
  Headers,
  /**
   * A text or binary message.
   *
   * @since 0.1.0
   * @category schemas
   */
  Message,
  /**
   * @since 0.1.0
   * @category events
   */
  Ping,
  /**
   * @since 0.1.0
   * @category events
   */
  Pong,
  /**
   * @since 0.1.0
   * @category events
   */
  RejectConnection,
  /**
   * @since 0.1.0
   * @category events
   */
  RejectData,
  /**
   * The opening handshake's request (RFC 6455 §4.1).
   *
   * @since 0.1.0
   * @category events
   */
  Request,
  /**
   * @since 0.1.0
   * @category events
   */
  TextMessage
} from "./internal/events.js"
