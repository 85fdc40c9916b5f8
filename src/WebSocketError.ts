/**
 * The driver's one error type, as `@effect/platform`'s `SocketError`: one tag, told apart by
 * `reason`.
 *
 * @since 0.2.0
 */
export {
  /**
   * @since 0.2.0
   * @category errors
   */
  WebSocketError
} from "./internal/webSocketError.js"
