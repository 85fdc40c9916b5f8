/**
 * Which end of a connection this is, and where the connection stands: wsproto's
 * `ConnectionType` and `ConnectionState`, shared by the handshake and the connection.
 *
 * @since 0.1.0
 */
export {
  /**
   * @since 0.1.0
   * @category constants
   */
  CLIENT,
  /**
   * The states of a connection (RFC 6455 §4 and §7).
   *
   * @since 0.1.0
   * @category models
   */
  ConnectionState,
  /**
   * Whether the library acts as the client or the server.
   *
   * @since 0.1.0
   * @category models
   */
  ConnectionType,
  /**
   * @since 0.1.0
   * @category constants
   */
  SERVER,
  /**
   * `ConnectionState.OPEN` for 1, as wsproto prints states.
   *
   * @since 0.1.0
   * @category utils
   */
  stateName
} from "./internal/connectionState.js"
