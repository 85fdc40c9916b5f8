/**
 * The extension interface (RFC 6455 §9): how an extension such as permessage-deflate takes part
 * in framing. The frame codec calls these hooks for every frame and knows nothing about any
 * particular extension.
 *
 * Hooks are pure functions over the extension's own state, which the codec keeps beside its own:
 * `init` gives the state for a new connection, and every hook returns the next one. An extension
 * whose state wraps a native resource (a zlib stream) makes the codec state linear: a state that
 * has been stepped must not be stepped again.
 *
 * Order, as in wsproto: inbound hooks run in list order, each seeing the previous one's output;
 * outbound hooks run in reverse list order.
 *
 * @since 0.1.0
 */
import type { LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type { Opcode, Role } from "./Frame.js"

/**
 * A received frame header as the inbound header hook sees it. `rsv` holds RSV1, RSV2 and RSV3 as
 * the bits 4, 2 and 1 (see `Frame.RSV1`).
 *
 * @since 0.1.0
 * @category models
 */
export interface InboundHeader {
  readonly fin: boolean
  readonly rsv: number
  readonly opcode: Opcode
  readonly payloadLength: number
}

/**
 * A frame about to be sent, as the outbound hook sees and returns it.
 *
 * @since 0.1.0
 * @category models
 */
export interface OutboundFrame {
  readonly fin: boolean
  readonly rsv: number
  readonly opcode: Opcode
  readonly payload: Uint8Array
}

/**
 * The framing hooks of one extension. Every hook is optional; a missing hook leaves frames as they
 * are and claims no reserved bit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Extension<S = any> {
  /** The extension token, as in `Sec-WebSocket-Extensions` (RFC 6455 §9.1). */
  readonly name: string
  /** The state for a new connection in the given role. */
  readonly init: (role: Role) => S
  /**
   * Called for every received frame header, control frames too. Returns the RSV bits this
   * extension accounts for (any set bit that no extension claims is a protocol error, RFC 6455
   * §5.2), or an error to fail the connection with.
   */
  readonly inboundHeader?: (state: S, header: InboundHeader) => readonly [S, number] | RemoteProtocolError
  /** Transforms each piece of a received payload, after unmasking. */
  readonly inboundPayload?: (state: S, data: Uint8Array) => readonly [S, Uint8Array] | RemoteProtocolError
  /**
   * Called when a received frame's payload is complete; bytes it returns are appended to the
   * frame's last piece. `fin` is the frame's FIN bit.
   */
  readonly inboundComplete?: (
    state: S,
    fin: boolean
  ) => readonly [S, Uint8Array | undefined] | RemoteProtocolError
  /** Transforms every frame before it is sent, control frames too, and may set RSV bits. */
  readonly outbound?: (state: S, frame: OutboundFrame) => readonly [S, OutboundFrame] | LocalProtocolError
}
