/**
 * The frame decoder: RFC 6455 §5.2 header parsing, §5.3 unmasking, §5.4 fragmentation, §5.5
 * control frames, §5.6 and §8.1 UTF-8 of text, §5.5.1 and §7.4 close payloads, plus size limits.
 *
 * A step copies the state once, advances the copy through the chunk with local mutation, and
 * returns it; the caller never sees a state change after it has been returned.
 */
import { RemoteProtocolError } from "../Errors.js"
import type { Extension, InboundHeader } from "../Extensions.js"
import type * as Frame from "../Frame.js"
import { allocUnsafe, concat, EMPTY } from "./bytes.js"
import { isLocalOnlyCloseCode, isValidCloseCode, NO_STATUS_RCVD } from "./closeCode.js"
import { maskInPlace, maskInto, packKey } from "./mask.js"
import * as Utf8 from "./utf8.js"

const HEADER = 0
const PAYLOAD = 1
const FAILED = 2
const CLOSED = 3

const CONTINUATION = 0x0
const TEXT = 0x1
const BINARY = 0x2
const CLOSE = 0x8
const PING = 0x9

const PROTOCOL_ERROR = 1002
const INVALID_PAYLOAD = 1007
const MESSAGE_TOO_BIG = 1009

const OPCODE_NAMES: Record<number, string> = { 0: "CONTINUATION", 1: "TEXT", 2: "BINARY" }

/** @internal */
export interface DecoderConfig {
  readonly role: Frame.Role
  readonly maxFrameSize: number
  readonly maxMessageSize: number
  readonly assemble: boolean
  readonly inPlace: boolean
  readonly extensions: ReadonlyArray<Extension>
}

/** Fragments of an assembled binary message, newest first. */
interface Parts {
  readonly head: Uint8Array
  readonly tail: Parts | undefined
}

/** @internal */
export class DecoderState {
  constructor(
    readonly config: DecoderConfig,
    public phase: number,
    /** Header bytes of a frame whose header is not complete yet. */
    public headerBytes: Uint8Array,
    /** Payload bytes of a control frame that is not complete yet. */
    public controlBytes: Uint8Array,
    public fin: boolean,
    public opcode: number,
    /** Payload bytes of the current frame still to come. */
    public remaining: number,
    public masked: boolean,
    public maskKey: number,
    public maskPhase: number,
    /** Opcode of the data message in progress, 0 between messages. */
    public message: number,
    /** Bytes of the message in progress surfaced so far (after extensions). */
    public messageSize: number,
    public utf8Carry: number,
    public text: string,
    public parts: Parts | undefined,
    public extensionStates: ReadonlyArray<unknown>,
    public error: RemoteProtocolError | undefined
  ) {}

  copy(): DecoderState {
    return new DecoderState(
      this.config,
      this.phase,
      this.headerBytes,
      this.controlBytes,
      this.fin,
      this.opcode,
      this.remaining,
      this.masked,
      this.maskKey,
      this.maskPhase,
      this.message,
      this.messageSize,
      this.utf8Carry,
      this.text,
      this.parts,
      this.extensionStates,
      this.error
    )
  }
}

/** @internal */
export const make = (options: Frame.DecoderOptions): DecoderState => {
  const extensions = options.extensions ?? []
  return new DecoderState(
    {
      role: options.role,
      maxFrameSize: options.maxFrameSize ?? 16 * 1024 * 1024,
      maxMessageSize: options.maxMessageSize ?? 16 * 1024 * 1024,
      assemble: options.assembleMessages ?? false,
      inPlace: options.unmaskInPlace ?? false,
      extensions
    },
    HEADER,
    EMPTY,
    EMPTY,
    false,
    0,
    0,
    false,
    0,
    0,
    0,
    0,
    Utf8.EMPTY_CARRY,
    "",
    undefined,
    extensions.map((extension) => extension.init(options.role)),
    undefined
  )
}

/** @internal */
export const error = (state: Readonly<DecoderState>): RemoteProtocolError | undefined => state.error

/** @internal */
export const isIdle = (state: Readonly<DecoderState>): boolean =>
  state.phase === HEADER && state.headerBytes.length === 0 && state.message === 0

const NO_FRAMES: ReadonlyArray<Frame.Frame> = []

/** @internal */
export const decode = (input: Readonly<DecoderState>, chunk: Uint8Array): Frame.DecodeResult => {
  if (input.phase === FAILED) return { state: input, frames: NO_FRAMES, error: input.error }
  if (input.phase === CLOSED || chunk.length === 0) return { state: input, frames: NO_FRAMES, error: undefined }
  const s = (input as DecoderState).copy()
  const frames: Array<Frame.Frame> = []
  const end = chunk.length
  let pos = 0
  while (s.phase === HEADER || s.phase === PAYLOAD) {
    if (s.phase === HEADER) {
      if (pos >= end) break
      pos += readHeader(s, chunk, pos)
      if (!inPayload(s)) continue
    }
    const take = Math.min(s.remaining, end - pos)
    if (take === 0 && s.remaining !== 0) break
    const piece = unmask(s, chunk, pos, take)
    pos += take
    s.remaining -= take
    s.maskPhase = (s.maskPhase + take) & 3
    if (s.opcode >= CLOSE) {
      if (s.remaining !== 0) {
        s.controlBytes = concat([s.controlBytes, piece], s.controlBytes.length + take)
        break
      }
      const payload = s.controlBytes.length === 0 ? piece : concat([s.controlBytes, piece], s.controlBytes.length + take)
      s.controlBytes = EMPTY
      s.phase = HEADER
      control(s, payload, frames)
    } else {
      const frameFinished = s.remaining === 0
      if (frameFinished) s.phase = HEADER
      data(s, piece, frameFinished, frames)
    }
  }
  return { state: s, frames, error: s.error }
}

const inPayload = (s: DecoderState): boolean => s.phase === PAYLOAD

const fail = (s: DecoderState, message: string, closeCode: number): void => {
  s.phase = FAILED
  s.error = new RemoteProtocolError({ message, closeCode })
}

const failWith = (s: DecoderState, error: RemoteProtocolError): void => {
  s.phase = FAILED
  s.error = error
}

/**
 * Reads a frame header from `chunk` at `pos`, after any header bytes held from earlier chunks.
 * Returns how many bytes of `chunk` it consumed. On success the state is in PAYLOAD; when the
 * header is incomplete the bytes are held and the state stays in HEADER.
 */
const readHeader = (s: DecoderState, chunk: Uint8Array, pos: number): number => {
  const held = s.headerBytes.length
  let bytes = chunk
  let offset = pos
  let available = chunk.length - pos
  if (held > 0) {
    const take = Math.min(14 - held, available)
    bytes = new Uint8Array(held + take)
    bytes.set(s.headerBytes)
    bytes.set(chunk.subarray(pos, pos + take), held)
    offset = 0
    available = bytes.length
  }
  const length = parseHeader(s, bytes, offset, available)
  if (length === 0) {
    if (s.phase === HEADER) s.headerBytes = bytes.slice(offset, offset + available)
    return chunk.length - pos
  }
  s.headerBytes = EMPTY
  return length - held
}

/** RFC 6455 §5.2, checks in wsproto's order. Returns the header length, or 0 when incomplete or failed. */
const parseHeader = (s: DecoderState, bytes: Uint8Array, offset: number, available: number): number => {
  if (available < 2) return 0
  const b0 = bytes[offset]!
  const b1 = bytes[offset + 1]!
  const fin = (b0 & 0x80) !== 0
  const rsv = (b0 >>> 4) & 0x7
  const opcode = b0 & 0x0f
  const isControl = (opcode & 0x8) !== 0
  if (opcode > BINARY && (opcode < CLOSE || opcode > 0xa)) {
    fail(s, `Invalid opcode 0x${opcode.toString(16)}`, PROTOCOL_ERROR)
    return 0
  }
  if (isControl && !fin) {
    fail(s, "Invalid attempt to fragment control frame", PROTOCOL_ERROR)
    return 0
  }
  const length7 = b1 & 0x7f
  if (isControl && length7 > 125) {
    fail(s, "Control frame with payload len > 125", PROTOCOL_ERROR)
    return 0
  }
  const lengthEnd = length7 === 126 ? 4 : length7 === 127 ? 10 : 2
  if (available < lengthEnd) return 0
  let payloadLength = length7
  if (length7 === 126) {
    payloadLength = (bytes[offset + 2]! << 8) | bytes[offset + 3]!
    if (payloadLength < 126) {
      fail(s, "Payload length used 2 bytes when 1 would have sufficed", PROTOCOL_ERROR)
      return 0
    }
  } else if (length7 === 127) {
    const high = readUint32(bytes, offset + 2)
    if (high >= 0x80000000) {
      fail(s, "8-byte payload length with non-zero MSB", PROTOCOL_ERROR)
      return 0
    }
    payloadLength = high * 0x100000000 + readUint32(bytes, offset + 6)
    if (payloadLength <= 0xffff) {
      fail(s, "Payload length used 8 bytes when 2 would have sufficed", PROTOCOL_ERROR)
      return 0
    }
  }
  const masked = (b1 & 0x80) !== 0
  const extensions = s.config.extensions.length > 0
  const wrongMasking = masked !== (s.config.role === "server")
  // Without extensions both checks need no more bytes: fail before the masking key arrives.
  if (!extensions && rsv !== 0) return failHeader(s, "Reserved bit set unexpectedly")
  if (!extensions && wrongMasking) return failMasking(s, masked)
  const headerLength = masked ? lengthEnd + 4 : lengthEnd
  if (available < headerLength) return 0
  let claimed = 0
  if (extensions) {
    // Extension hooks see each header once, complete, before the masking check (wsproto's order).
    claimed = inboundHeader(s, { fin, rsv, opcode, payloadLength } as InboundHeader)
    if (claimed < 0) return 0
    if ((rsv & ~claimed) !== 0) return failHeader(s, "Reserved bit set unexpectedly")
    if (wrongMasking) return failMasking(s, masked)
  }
  if (payloadLength > s.config.maxFrameSize) {
    fail(s, `Frame payload of ${payloadLength} bytes exceeds the limit of ${s.config.maxFrameSize}`, MESSAGE_TOO_BIG)
    return 0
  }
  if (!isControl) {
    // RFC 6455 §5.4: a message is one TEXT or BINARY frame and then CONTINUATION frames.
    if (opcode === CONTINUATION) {
      if (s.message === 0) {
        fail(s, "unexpected CONTINUATION", PROTOCOL_ERROR)
        return 0
      }
    } else if (s.message !== 0) {
      fail(s, `expected CONTINUATION, got ${OPCODE_NAMES[opcode]}`, PROTOCOL_ERROR)
      return 0
    } else {
      s.message = opcode
    }
    // Frames no extension claimed are not transformed: they count against the limit at once.
    if (claimed === 0 && s.messageSize + payloadLength > s.config.maxMessageSize) {
      fail(s, `Message exceeds the limit of ${s.config.maxMessageSize} bytes`, MESSAGE_TOO_BIG)
      return 0
    }
  }
  s.fin = fin
  s.opcode = opcode
  s.remaining = payloadLength
  s.masked = masked
  s.maskKey = masked ? packKey(bytes, offset + lengthEnd) : 0
  s.maskPhase = 0
  s.phase = PAYLOAD
  return headerLength
}

const failHeader = (s: DecoderState, message: string): number => {
  fail(s, message, PROTOCOL_ERROR)
  return 0
}

const failMasking = (s: DecoderState, masked: boolean): number =>
  failHeader(s, masked ? "client received unexpected masked frame" : "server received unexpected unmasked frame")

const readUint32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0

/** Runs the extensions' header hooks; returns the RSV bits they claim, or -1 when one failed. */
const inboundHeader = (s: DecoderState, header: InboundHeader): number => {
  const extensions = s.config.extensions
  const states = s.extensionStates.slice()
  let claimed = 0
  for (let i = 0; i < extensions.length; i++) {
    const hook = extensions[i]!.inboundHeader
    if (hook === undefined) continue
    const result = hook(states[i], header)
    if (result instanceof RemoteProtocolError) {
      failWith(s, result)
      return -1
    }
    states[i] = result[0]
    claimed |= result[1]
  }
  s.extensionStates = states
  return claimed
}

/** Runs the payload hooks over a piece, and the completion hooks at the end of a frame. */
const inboundPayload = (s: DecoderState, piece: Uint8Array, frameFinished: boolean): Uint8Array | undefined => {
  const extensions = s.config.extensions
  const states = s.extensionStates.slice()
  let data = piece
  const budget = s.config.maxMessageSize - s.messageSize
  for (let i = 0; i < extensions.length; i++) {
    const hook = extensions[i]!.inboundPayload
    if (hook === undefined) continue
    const result = hook(states[i], data, budget)
    if (result instanceof RemoteProtocolError) {
      failWith(s, result)
      return undefined
    }
    states[i] = result[0]
    data = result[1]
  }
  if (frameFinished) {
    for (let i = 0; i < extensions.length; i++) {
      const hook = extensions[i]!.inboundComplete
      if (hook === undefined) continue
      const result = hook(states[i], s.fin, budget - data.length)
      if (result instanceof RemoteProtocolError) {
        failWith(s, result)
        return undefined
      }
      states[i] = result[0]
      if (result[1] !== undefined && result[1].length > 0) data = concat([data, result[1]], data.length + result[1].length)
    }
  }
  s.extensionStates = states
  return data
}

/** The next `take` payload bytes at `pos`, unmasked (RFC 6455 §5.3). */
const unmask = (s: DecoderState, chunk: Uint8Array, pos: number, take: number): Uint8Array => {
  if (s.masked && !s.config.inPlace) {
    const out = allocUnsafe(take)
    maskInto(chunk, pos, take, s.maskKey, s.maskPhase, out, 0)
    return out
  }
  if (s.masked) maskInPlace(chunk, pos, pos + take, s.maskKey, s.maskPhase)
  return pos === 0 && take === chunk.length ? chunk : chunk.subarray(pos, pos + take)
}

/** Surfaces a piece of a data frame as part of the message in progress. */
const data = (s: DecoderState, piece: Uint8Array, frameFinished: boolean, frames: Array<Frame.Frame>): void => {
  const bytes = s.config.extensions.length === 0 ? piece : inboundPayload(s, piece, frameFinished)
  if (bytes === undefined) return
  s.messageSize += bytes.length
  if (s.messageSize > s.config.maxMessageSize) {
    fail(s, `Message exceeds the limit of ${s.config.maxMessageSize} bytes`, MESSAGE_TOO_BIG)
    return
  }
  const messageFinished = frameFinished && s.fin
  const assemble = s.config.assemble
  if (s.message === TEXT) {
    const decoded = Utf8.decodeChunk(s.utf8Carry, bytes, messageFinished)
    if (decoded === undefined) {
      fail(s, "Invalid UTF-8 in text message", INVALID_PAYLOAD)
      return
    }
    s.utf8Carry = decoded.carry
    if (!assemble) {
      frames.push({ _tag: "Text", data: decoded.text, frameFinished, messageFinished })
    } else if (messageFinished) {
      frames.push({ _tag: "Text", data: s.text + decoded.text, frameFinished: true, messageFinished: true })
    } else {
      s.text += decoded.text
    }
  } else if (!assemble) {
    frames.push({ _tag: "Binary", data: bytes, frameFinished, messageFinished })
  } else if (messageFinished) {
    frames.push({ _tag: "Binary", data: assembled(s.parts, bytes, s.messageSize), frameFinished: true, messageFinished: true })
  } else if (bytes.length > 0) {
    s.parts = { head: bytes, tail: s.parts }
  }
  if (messageFinished) {
    s.message = 0
    s.messageSize = 0
    s.utf8Carry = Utf8.EMPTY_CARRY
    s.text = ""
    s.parts = undefined
  }
}

const assembled = (parts: Parts | undefined, last: Uint8Array, size: number): Uint8Array => {
  if (parts === undefined) return last
  const chunks: Array<Uint8Array> = [last]
  for (let p: Parts | undefined = parts; p !== undefined; p = p.tail) chunks.push(p.head)
  return concat(chunks.reverse(), size)
}

/** Surfaces a complete control frame (RFC 6455 §5.5). */
const control = (s: DecoderState, piece: Uint8Array, frames: Array<Frame.Frame>): void => {
  const payload = s.config.extensions.length === 0 ? piece : inboundPayload(s, piece, true)
  if (payload === undefined) return
  if (s.opcode === PING) {
    frames.push({ _tag: "Ping", payload })
  } else if (s.opcode !== CLOSE) {
    frames.push({ _tag: "Pong", payload })
  } else {
    close(s, payload, frames)
  }
}

/** RFC 6455 §5.5.1 and §7.4: the close payload is empty, or a valid code and a UTF-8 reason. */
const close = (s: DecoderState, payload: Uint8Array, frames: Array<Frame.Frame>): void => {
  let code = NO_STATUS_RCVD
  let reason = ""
  if (payload.length === 1) return fail(s, "CLOSE with 1 byte payload", PROTOCOL_ERROR)
  if (payload.length >= 2) {
    code = (payload[0]! << 8) | payload[1]!
    if (code < 1000 || code > 4999) return fail(s, `CLOSE with invalid code ${code}`, PROTOCOL_ERROR)
    if (isLocalOnlyCloseCode(code)) return fail(s, `remote CLOSE with local-only reason ${code}`, PROTOCOL_ERROR)
    if (!isValidCloseCode(code)) return fail(s, `CLOSE with unknown reserved code ${code}`, PROTOCOL_ERROR)
    const text = Utf8.decodeComplete(payload.subarray(2))
    if (text === undefined) return fail(s, "Error decoding CLOSE reason: invalid UTF-8", INVALID_PAYLOAD)
    reason = text
  }
  frames.push({ _tag: "Close", code, reason })
  s.phase = CLOSED
}
