/**
 * The two ways a WebSocket conversation goes wrong, as in wsproto: the local side asked for
 * something the protocol forbids (`LocalProtocolError`), or the peer broke the protocol
 * (`RemoteProtocolError`). Both are tagged errors with a `reason` that says what went wrong: they
 * can be yielded in `Effect.gen`, caught by tag in Effect's error channel, and thrown from the
 * wsproto-style classes. `closeCodeFor` and `statusFor` give what a reason means on the wire.
 *
 * @since 0.1.0
 */
export {
  /**
   * @since 0.3.0
   * @category mapping
   */
  closeCodeFor,
  /**
   * @since 0.3.0
   * @category models
   */
  type ConnectionReason,
  /**
   * @since 0.3.0
   * @category models
   */
  type HandshakeReason,
  /**
   * @since 0.3.0
   * @category predicates
   */
  isHandshakeReason,
  /**
   * @since 0.1.0
   * @category errors
   */
  LocalProtocolError,
  /**
   * @since 0.3.0
   * @category models
   */
  type LocalReason,
  /**
   * @since 0.1.0
   * @category errors
   */
  RemoteProtocolError,
  /**
   * @since 0.3.0
   * @category models
   */
  type RemoteReason,
  /**
   * @since 0.3.0
   * @category mapping
   */
  statusFor
} from "./internal/errors.js"
