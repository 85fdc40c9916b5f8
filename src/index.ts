/**
 * @since 0.1.0
 */

/**
 * `LocalProtocolError` and `RemoteProtocolError`.
 *
 * @since 0.1.0
 */
export * as Errors from "./Errors.js"

/**
 * The extension interface.
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
