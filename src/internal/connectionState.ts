/**
 * Which end of a connection this is, and where the connection stands: wsproto's
 * `ConnectionType` and `ConnectionState`, shared by the handshake and the connection (re-exported
 * by `ConnectionState`).
 */

/**
 * Whether the library acts as the client or the server.
 *
 * @since 0.1.0
 * @category models
 */
export const ConnectionType = {
  /** This end opens the connection and masks what it sends. */
  CLIENT: 1,
  /** This end waits for clients. */
  SERVER: 2
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ConnectionType = (typeof ConnectionType)[keyof typeof ConnectionType]

/**
 * @since 0.1.0
 * @category constants
 */
export const CLIENT = ConnectionType.CLIENT

/**
 * @since 0.1.0
 * @category constants
 */
export const SERVER = ConnectionType.SERVER

/**
 * The states of a connection (RFC 6455 §4 and §7).
 *
 * @since 0.1.0
 * @category models
 */
export const ConnectionState = {
  /** The opening handshake is in progress. */
  CONNECTING: 0,
  /** The opening handshake is complete. */
  OPEN: 1,
  /** The peer has started the closing handshake. */
  REMOTE_CLOSING: 2,
  /** This end has started the closing handshake. */
  LOCAL_CLOSING: 3,
  /** The closing handshake is complete, or the connection was lost or rejected. */
  CLOSED: 4,
  /** A rejection response is being sent or received. */
  REJECTING: 5
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState]

const stateNames = Object.fromEntries(Object.entries(ConnectionState).map(([name, value]) => [value, name]))

/**
 * `ConnectionState.OPEN` for 1, as wsproto prints states.
 *
 * @since 0.1.0
 * @category utils
 */
export const stateName = (state: ConnectionState): string => `ConnectionState.${stateNames[state]}`
