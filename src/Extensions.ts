/**
 * The extension interface (RFC 6455 §9): how an extension such as permessage-deflate is negotiated
 * in the opening handshake and takes part in framing. The handshake and the frame codec call these
 * hooks and know nothing about any particular extension.
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
  /** The whole message's length, when the encoder has the whole message (it may split it). */
  readonly messageLength?: number
}

/**
 * What a hook returns: the extension's next state and the hook's value, or the error to fail the
 * connection with (the convention of every step in this library: a failure is a value in
 * `error`, never a throw).
 *
 * @since 0.3.0
 * @category models
 */
export type HookResult<S, A, E> =
  | { readonly state: S; readonly value: A; readonly error?: undefined }
  | { readonly error: E }

/**
 * The framing hooks of one extension. Every hook is optional; a missing hook leaves frames as they
 * are and claims no reserved bit.
 *
 * @since 0.1.0
 * @category models
 */
export interface Extension<S = any> extends Negotiation {
  /** The extension token, as in `Sec-WebSocket-Extensions` (RFC 6455 §9.1). */
  readonly name: string
  /** The state for a new connection in the given role. */
  readonly init: (role: Role) => S
  /**
   * Called for every received frame header, control frames too. Its value is the RSV bits this
   * extension accounts for (any set bit that no extension claims is a protocol error, RFC 6455
   * §5.2); its error fails the connection.
   */
  readonly inboundHeader?: (state: S, header: InboundHeader) => HookResult<S, number, RemoteProtocolError>
  /**
   * Transforms each piece of a received payload, after unmasking. `budget` is how many more bytes
   * the message may grow by (the decoder's `maxMessageSize`): an extension that produces more
   * (a decompressor) fails with `MessageTooBig` before it allocates them.
   */
  readonly inboundPayload?: (
    state: S,
    data: Uint8Array,
    budget: number
  ) => HookResult<S, Uint8Array, RemoteProtocolError>
  /**
   * Called when a received frame's payload is complete; bytes in its value are appended to the
   * frame's last piece. `fin` is the frame's FIN bit.
   */
  readonly inboundComplete?: (
    state: S,
    fin: boolean,
    budget: number
  ) => HookResult<S, Uint8Array | undefined, RemoteProtocolError>
  /** Transforms every frame before it is sent, control frames too, and may set RSV bits. */
  readonly outbound?: (state: S, frame: OutboundFrame) => HookResult<S, OutboundFrame, LocalProtocolError>
}

/**
 * An extension parameter (RFC 6455 §9.1): `name` or `name=value`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parameter {
  readonly name: string
  readonly value: string | undefined
}

/**
 * What a server's `accept` returns for an offer it takes: the extension as configured for this
 * connection, and the parameters to answer with.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accepted {
  readonly extension: Extension
  readonly parameters: ReadonlyArray<Parameter>
}

/**
 * What a client's `finalize` returns: the agreed extension, or why the server's answer is
 * unacceptable.
 *
 * @since 0.3.0
 * @category models
 */
export type Finalized =
  | { readonly extension: Extension; readonly error?: undefined }
  | { readonly error: string }

/**
 * The negotiation hooks of an extension (RFC 6455 §9.1), beside its framing hooks. An extension
 * without `offer` is never offered by a client; without `accept` it declines every offer; without
 * `finalize` a client takes the server's answer as it is.
 *
 * @since 0.1.0
 * @category models
 */
export interface Negotiation {
  /** Client: the parameters to offer (empty for the bare name), or `undefined` not to offer. */
  readonly offer?: () => ReadonlyArray<Parameter> | undefined
  /** Server: one offer's parameters; the agreed extension and answer, or `undefined` to decline. */
  readonly accept?: (parameters: ReadonlyArray<Parameter>) => Accepted | undefined
  /** Client: the server's answer; the agreed extension, or why the answer is unacceptable. */
  readonly finalize?: (parameters: ReadonlyArray<Parameter>) => Finalized
}

/**
 * One element of a `Sec-WebSocket-Extensions` header, parsed.
 *
 * @since 0.1.0
 * @category models
 */
export interface Element {
  readonly name: string
  readonly parameters: ReadonlyArray<Parameter>
}

/**
 * A server's side of the negotiation: the agreed extensions, the elements of the answer, in its
 * order, and the `Sec-WebSocket-Extensions` value to answer with (`undefined` when nothing was
 * agreed).
 *
 * @since 0.3.0
 * @category models
 */
export interface ServerNegotiation {
  readonly extensions: ReadonlyArray<Extension>
  readonly answer: ReadonlyArray<Element>
  readonly header: string | undefined
}

/**
 * A client's side of the negotiation: the agreed extensions in the order of the answer, or why
 * the answer is unacceptable.
 *
 * @since 0.3.0
 * @category models
 */
export type ClientNegotiation =
  | { readonly extensions: ReadonlyArray<Extension>; readonly error?: undefined }
  | { readonly error: string }

export {
  /**
   * A client's side of the negotiation: every element the server answered with must name an
   * extension the client offered, at most once, with parameters its `finalize` takes.
   *
   * @since 0.1.0
   * @category negotiation
   */
  clientNegotiate,
  /**
   * Writes an extension element: `name; param; param=value`.
   *
   * @since 0.1.0
   * @category parsing
   */
  formatElement,
  /**
   * Parses one extension element, `name; param; param=value; param="value"`; `undefined` when it
   * does not follow RFC 6455 §9.1 (quoted values must be tokens once unquoted).
   *
   * @since 0.1.0
   * @category parsing
   */
  parseElement,
  /**
   * A server's side of the negotiation (RFC 6455 §9.1): goes through the offers in order and
   * takes, for each supported extension, the first offer it accepts; malformed offers are
   * declined.
   *
   * @since 0.1.0
   * @category negotiation
   */
  serverNegotiate
} from "./internal/extensions.js"
