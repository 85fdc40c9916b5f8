/**
 * @since 0.1.0
 */

/**
 * The wsproto-style `Connection` and the connection reducer.
 *
 * @since 0.1.0
 */
export * as Connection from "./Connection.js"

/**
 * `ConnectionType` and `ConnectionState`.
 *
 * @since 0.1.0
 */
export * as ConnectionState from "./ConnectionState.js"

/**
 * `LocalProtocolError` and `RemoteProtocolError`.
 *
 * @since 0.1.0
 */
export * as Errors from "./Errors.js"

/**
 * The events, as Schema classes.
 *
 * @since 0.1.0
 */
export * as Events from "./Events.js"

/**
 * The extension interface and negotiation.
 *
 * @since 0.1.0
 */
export * as Extensions from "./Extensions.js"

/**
 * The RFC 6455 frame codec.
 *
 * @since 0.1.0
 */
export * as Frame from "./Frame.js"

/**
 * wsproto's `H11Handshake` class.
 *
 * @since 0.1.0
 */
export * as H11Handshake from "./H11Handshake.js"

/**
 * The opening handshake reducer.
 *
 * @since 0.1.0
 */
export * as Handshake from "./Handshake.js"

/**
 * permessage-deflate (RFC 7692).
 *
 * @since 0.1.0
 */
export * as PerMessageDeflate from "./PerMessageDeflate.js"

/**
 * The handshake and the connection composed; wsproto's `WSConnection`.
 *
 * @since 0.1.0
 */
export * as WSConnection from "./WSConnection.js"
