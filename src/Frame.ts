/**
 * RFC 6455 §5 framing as a pure codec: a decoder that turns chunks of bytes into frames, and an
 * encoder that turns messages and control frames into bytes. No I/O, no Effect runtime, no
 * exceptions: both are reducers `(state, input) -> result` whose failures are values.
 *
 * ```ts
 * import * as Frame from "effect-wsproto/Frame"
 *
 * let decoder = Frame.decoder({ role: "client" })
 * const result = Frame.decode(decoder, new Uint8Array([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]))
 * decoder = result.state
 * // result.frames: [{ _tag: "Text", data: "Hello", frameFinished: true, messageFinished: true }]
 * ```
 *
 * @since 0.1.0
 */
import type { LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type { Extension } from "./Extensions.js"
import * as decoderInternal from "./internal/frameDecoder.js"
import * as encoderInternal from "./internal/frameEncoder.js"

/**
 * Which end of the connection the codec serves. A client masks what it sends and must receive
 * unmasked frames; a server the other way round (RFC 6455 §5.1).
 *
 * @since 0.1.0
 * @category models
 */
export type Role = "client" | "server"

export {
  /**
   * The close status codes of RFC 6455 §7.4.1 and §11.7, named as in wsproto.
   *
   * @since 0.1.0
   * @category models
   */
  CloseReason,
  /**
   * Whether a close code only reports a situation locally and is never sent (RFC 6455 §7.4.1):
   * 1005, 1006 and 1015.
   *
   * @since 0.1.0
   * @category predicates
   */
  isLocalOnlyCloseCode,
  /**
   * Whether a close code may appear in a close frame, sent or received (RFC 6455 §7.4).
   *
   * @since 0.1.0
   * @category predicates
   */
  isValidCloseCode
} from "./internal/closeCode.js"

export {
  /**
   * The default `maxFrameSize` and `maxMessageSize`: 16 MiB.
   *
   * @since 0.1.0
   * @category constants
   */
  DEFAULT_MAX_SIZE,
  /**
   * Whether an opcode is a control opcode (close, ping, pong): RFC 6455 §5.5.
   *
   * @since 0.1.0
   * @category predicates
   */
  isControl,
  /**
   * Frame opcodes (RFC 6455 §5.2, §11.8).
   *
   * @since 0.1.0
   * @category models
   */
  Opcode,
  /**
   * The reserved bits of byte 0 of a frame header as the codec and the extension hooks number
   * them: RSV1 is 4, RSV2 is 2, RSV3 is 1 (RFC 6455 §5.2).
   *
   * @since 0.1.0
   * @category models
   */
  RSV1,
  /**
   * @since 0.1.0
   * @category models
   */
  RSV2,
  /**
   * @since 0.1.0
   * @category models
   */
  RSV3
} from "./internal/frameHeader.js"

/**
 * A piece of a text message. In streaming mode pieces are surfaced as bytes arrive, each holding
 * only whole code points (so `data` may be empty); `frameFinished` marks the end of a wire frame
 * and `messageFinished` the end of the message. With `assembleMessages` there is one piece per
 * message, with both flags set.
 *
 * @since 0.1.0
 * @category models
 */
export interface TextFrame {
  readonly _tag: "Text"
  readonly data: string
  readonly frameFinished: boolean
  readonly messageFinished: boolean
}

/**
 * A piece of a binary message, surfaced as `TextFrame` is.
 *
 * @since 0.1.0
 * @category models
 */
export interface BinaryFrame {
  readonly _tag: "Binary"
  readonly data: Uint8Array
  readonly frameFinished: boolean
  readonly messageFinished: boolean
}

/**
 * A received close frame (RFC 6455 §5.5.1). An empty payload gives code 1005 and an empty reason.
 *
 * @since 0.1.0
 * @category models
 */
export interface CloseFrame {
  readonly _tag: "Close"
  readonly code: number
  readonly reason: string
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PingFrame {
  readonly _tag: "Ping"
  readonly payload: Uint8Array
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PongFrame {
  readonly _tag: "Pong"
  readonly payload: Uint8Array
}

/**
 * What the decoder surfaces.
 *
 * @since 0.1.0
 * @category models
 */
export type Frame = TextFrame | BinaryFrame | CloseFrame | PingFrame | PongFrame

/**
 * @since 0.1.0
 * @category models
 */
export interface DecoderOptions {
  readonly role: Role
  /**
   * Largest payload a single frame may declare; a larger one fails with 1009 as soon as its
   * header arrives. Default `DEFAULT_MAX_SIZE`; `Infinity` for no limit.
   */
  readonly maxFrameSize?: number
  /**
   * Largest message, counted after extensions (so decompressed bytes); a message that grows past
   * it fails with 1009. Default `DEFAULT_MAX_SIZE`; `Infinity` for no limit.
   */
  readonly maxMessageSize?: number
  /** Surface each data message once, whole, instead of piece by piece. Default `false`. */
  readonly assembleMessages?: boolean
  /**
   * Unmask masked payloads inside the chunks passed to `decode` instead of into new memory.
   * Only for callers that never read a chunk again after passing it in (a socket driver).
   * Default `false`: the decoder never writes to its input.
   */
  readonly unmaskInPlace?: boolean
  /** Negotiated extensions, in negotiation order. */
  readonly extensions?: ReadonlyArray<Extension>
}

/**
 * @since 0.3.0
 * @category type ids
 */
export const DecoderTypeId: unique symbol = decoderInternal.TypeId

/**
 * @since 0.3.0
 * @category type ids
 */
export type DecoderTypeId = typeof DecoderTypeId

/**
 * The decoder's state: an opaque, immutable value, read through `decoderError` and `isIdle`.
 * Without extensions (or with extensions whose states are values) a state can be stepped any
 * number of times; see `Extensions` for linear states.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecoderState {
  readonly [DecoderTypeId]: DecoderTypeId
}

/**
 * One decoding step: the next state, the frames surfaced from the chunk in order, and the error
 * if the chunk broke the protocol (frames before the violation are still surfaced), with its
 * `closeCode` and the `CloseConnection` to answer with, an extension's error too. A failed
 * decoder stays failed: further steps surface nothing and return the same error. After a close
 * frame the decoder ignores all further bytes (RFC 6455 §5.5.1).
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodeResult {
  readonly state: DecoderState
  readonly frames: ReadonlyArray<Frame>
  readonly error: RemoteProtocolError | undefined
}

/**
 * A decoder in its initial state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const decoder: (options: DecoderOptions) => DecoderState = decoderInternal.make

/**
 * Feeds a chunk of bytes to the decoder. Chunks may split frames anywhere; any split of the same
 * bytes gives the same frames (modulo how pieces of data are cut).
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: (state: DecoderState, chunk: Uint8Array) => DecodeResult = decoderInternal.decode

/**
 * Whether the decoder has failed, and with which error.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decoderError: (state: DecoderState) => RemoteProtocolError | undefined = decoderInternal.error

/**
 * Whether the decoder stands between frames with no partial frame or message buffered.
 *
 * @since 0.1.0
 * @category decoding
 */
export const isIdle: (state: DecoderState) => boolean = decoderInternal.isIdle

/**
 * A source of 4-byte masking keys (RFC 6455 §5.3). It may reuse the array it returns once it is
 * called again.
 *
 * @since 0.1.0
 * @category models
 */
export type MaskKeySource = () => Uint8Array

/**
 * The default masking key source: `crypto.getRandomValues`, drawn in batches.
 *
 * @since 0.1.0
 * @category constructors
 */
export const randomMaskKey: MaskKeySource = encoderInternal.randomMaskKey

/**
 * @since 0.1.0
 * @category models
 */
export interface EncoderOptions {
  readonly role: Role
  /**
   * Split every outgoing data message into frames of at most this many payload bytes (before
   * extensions). Default: no splitting.
   */
  readonly fragmentSize?: number
  /** Masking keys for the client role. Default `randomMaskKey`. */
  readonly maskKey?: MaskKeySource
  /** Negotiated extensions, in negotiation order. */
  readonly extensions?: ReadonlyArray<Extension>
}

/**
 * @since 0.3.0
 * @category type ids
 */
export const EncoderTypeId: unique symbol = encoderInternal.TypeId

/**
 * @since 0.3.0
 * @category type ids
 */
export type EncoderTypeId = typeof EncoderTypeId

/**
 * The encoder's state, opaque: the options, the type of a message left unfinished, and the
 * extensions' states.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncoderState {
  readonly [EncoderTypeId]: EncoderTypeId
}

/**
 * One encoding step: the next state and the bytes to write, in order, or the error if the input
 * may not be sent (the state is then the one given and there are no bytes). Large server payloads
 * are not copied: the header and the caller's payload come as separate chunks.
 *
 * @since 0.1.0
 * @category models
 */
export interface Encoded {
  readonly state: EncoderState
  readonly bytes: ReadonlyArray<Uint8Array>
  readonly error: LocalProtocolError | undefined
}

/**
 * An encoder in its initial state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const encoder: (options: EncoderOptions) => EncoderState = encoderInternal.make

/**
 * Encodes a data message or a piece of one: a string is sent as text (UTF-8), bytes as binary.
 * With `fin` false the message stays open and later pieces go out as continuation frames; a piece
 * of the other type before the message is finished is a `LocalProtocolError` (`InvalidState`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeMessage: (
  state: EncoderState,
  data: string | Uint8Array,
  fin?: boolean
) => Encoded = encoderInternal.encodeMessage

/**
 * Encodes a ping (RFC 6455 §5.5.2); a payload over 125 bytes is a `LocalProtocolError`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePing: (
  state: EncoderState,
  payload?: Uint8Array
) => Encoded = encoderInternal.encodePing

/**
 * Encodes a pong (RFC 6455 §5.5.3); a payload over 125 bytes is a `LocalProtocolError`.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePong: (
  state: EncoderState,
  payload?: Uint8Array
) => Encoded = encoderInternal.encodePong

/**
 * Encodes a close frame (RFC 6455 §5.5.1). Without a code, or with 1005, the payload is empty and
 * a reason is a `LocalProtocolError`; any other code must satisfy `isValidCloseCode`. The reason
 * is cut to 123 bytes of UTF-8 at a character boundary, as wsproto does.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeClose: (
  state: EncoderState,
  code?: number,
  reason?: string
) => Encoded = encoderInternal.encodeClose
