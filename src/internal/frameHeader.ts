/**
 * The fields of a frame header (RFC 6455 §5.2) that the decoder, the encoder and the extensions
 * share: the opcodes, the reserved bits and the rules of control frames (re-exported by `Frame`).
 */

/**
 * Frame opcodes (RFC 6455 §5.2, §11.8).
 *
 * @since 0.1.0
 * @category models
 */
export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa
} as const

/**
 * @since 0.1.0
 * @category models
 */
export type Opcode = (typeof Opcode)[keyof typeof Opcode]

/**
 * Whether an opcode is a control opcode (close, ping, pong): RFC 6455 §5.5.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isControl = (opcode: number): boolean => (opcode & 0x8) !== 0

/**
 * Whether RFC 6455 §5.2 defines the opcode; the others are reserved (%x3-7, %xB-F).
 *
 * @internal
 */
export const isDefined = (opcode: number): boolean =>
  opcode <= Opcode.BINARY || (opcode >= Opcode.CLOSE && opcode <= Opcode.PONG)

/**
 * The reserved bits of byte 0 of a frame header, as the codec and the extension hooks number
 * them: RSV1 is 4, RSV2 is 2, RSV3 is 1 (RFC 6455 §5.2).
 *
 * @since 0.1.0
 * @category models
 */
export const RSV1 = 0b100

/**
 * @since 0.1.0
 * @category models
 */
export const RSV2 = 0b010

/**
 * @since 0.1.0
 * @category models
 */
export const RSV3 = 0b001

/**
 * RFC 6455 §5.5: a control frame's payload is at most 125 bytes.
 *
 * @internal
 */
export const MAX_CONTROL_PAYLOAD = 125

/**
 * RFC 6455 §5.5.1: the code takes two of a close payload's bytes, so a reason is at most 123.
 *
 * @internal
 */
export const MAX_CLOSE_REASON = MAX_CONTROL_PAYLOAD - 2

/**
 * The default `maxFrameSize` and `maxMessageSize`: 16 MiB.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_SIZE = 16 * 1024 * 1024
