/**
 * The frame decoder: RFC 6455 §5.2 header parsing, §5.3 unmasking, §5.4 fragmentation, §5.5
 * control frames, §5.6 and §8.1 UTF-8 of text, §5.5.1 and §7.4 close payloads, plus size limits.
 *
 * A step copies the state once, advances the copy through the chunk with local mutation, and
 * returns it; the caller never sees a state change after it has been returned.
 *
 * A header is checked in one order, wsproto's:
 * 1. §5.2 base header: a defined opcode, a control frame with FIN, a control length ≤ 125;
 * 2. §5.2 extended length: minimal encoding, most significant bit clear;
 * 3. with extensions, the complete header (masking key included) goes to their header hooks;
 * 4. §5.2 RSV bits no extension claimed, §5.1 masking by role;
 * 5. `maxFrameSize`, §5.4 fragmentation, `maxMessageSize`.
 * Step 4 needs no more bytes than step 2: without extensions it fails before the masking key
 * arrives; every other step waits for the complete header. `parseHeader` does steps 1 and 2,
 * `checkHeader` the rest.
 */
import type { RemoteProtocolError } from "../Errors.js"
import type { Extension, InboundHeader } from "../Extensions.js"
import type * as Frame from "../Frame.js"
import { allocUnsafe, concat, EMPTY } from "./bytes.js"
import { CloseReason, isLocalOnlyCloseCode, isValidCloseCode } from "./closeCode.js"
import { violation, withHint } from "./errors.js"
import { DEFAULT_MAX_SIZE, isControl, isDefined, MAX_CONTROL_PAYLOAD, Opcode } from "./frameHeader.js"
import { maskInPlace, maskInto, readUint32 } from "./mask.js"
import * as Utf8 from "./utf8.js"

/** @internal */
export const TypeId: Frame.DecoderTypeId = Symbol.for("effect-wsproto/Frame/DecoderState") as Frame.DecoderTypeId

const HEADER = 0
const PAYLOAD = 1
const FAILED = 2
const CLOSED = 3

type Phase = typeof HEADER | typeof PAYLOAD | typeof FAILED | typeof CLOSED

interface DecoderConfig {
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

/**
 * A decoder state: named fields that a step mutates only on its own copy. They are `declare`d, so
 * that the constructor's assignments are their only definitions (class fields would first be
 * defined as `undefined`).
 */
class DecoderState implements Frame.DecoderState {
  declare readonly [TypeId]: Frame.DecoderTypeId
  declare config: DecoderConfig
  declare phase: Phase
  /** Header bytes of a frame whose header is not complete yet. */
  declare headerBytes: Uint8Array
  /** Payload bytes of a control frame that is not complete yet. */
  declare controlBytes: Uint8Array
  declare fin: boolean
  /** RSV1-3 as the bits 4, 2 and 1. */
  declare rsv: number
  declare opcode: number
  /** Payload bytes of the current frame still to come. */
  declare remaining: number
  declare masked: boolean
  declare maskKey: number
  declare maskPhase: number
  /** Opcode of the data message in progress, 0 between messages. */
  declare message: number
  /** Bytes of the message in progress surfaced so far (after extensions). */
  declare messageSize: number
  declare utf8Carry: number
  declare text: string
  declare parts: Parts | undefined
  declare extensionStates: ReadonlyArray<unknown>
  declare error: RemoteProtocolError | undefined

  constructor(fields: Fields) {
    this.config = fields.config
    this.phase = fields.phase
    this.headerBytes = fields.headerBytes
    this.controlBytes = fields.controlBytes
    this.fin = fields.fin
    this.rsv = fields.rsv
    this.opcode = fields.opcode
    this.remaining = fields.remaining
    this.masked = fields.masked
    this.maskKey = fields.maskKey
    this.maskPhase = fields.maskPhase
    this.message = fields.message
    this.messageSize = fields.messageSize
    this.utf8Carry = fields.utf8Carry
    this.text = fields.text
    this.parts = fields.parts
    this.extensionStates = fields.extensionStates
    this.error = fields.error
  }

  copy(): DecoderState {
    return new DecoderState(this)
  }
}

/** What the constructor takes: every field. */
type Fields = Omit<DecoderState, "copy" | typeof TypeId>

Object.defineProperty(DecoderState.prototype, TypeId, { value: TypeId })

/** @internal */
export const make = (options: Frame.DecoderOptions): Frame.DecoderState => {
  const extensions = options.extensions ?? []
  return new DecoderState({
    config: {
      role: options.role,
      maxFrameSize: options.maxFrameSize ?? DEFAULT_MAX_SIZE,
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_SIZE,
      assemble: options.assembleMessages ?? false,
      inPlace: options.unmaskInPlace ?? false,
      extensions
    },
    phase: HEADER,
    headerBytes: EMPTY,
    controlBytes: EMPTY,
    fin: false,
    rsv: 0,
    opcode: 0,
    remaining: 0,
    masked: false,
    maskKey: 0,
    maskPhase: 0,
    message: 0,
    messageSize: 0,
    utf8Carry: Utf8.EMPTY_CARRY,
    text: "",
    parts: undefined,
    extensionStates: extensions.map((extension) => extension.init(options.role)),
    error: undefined
  })
}

/** @internal */
export const error = (state: Frame.DecoderState): RemoteProtocolError | undefined => (state as DecoderState).error

/** @internal */
export const isIdle = (state: Frame.DecoderState): boolean => {
  const s = state as DecoderState
  return s.phase === HEADER && s.headerBytes.length === 0 && s.message === 0
}

const NO_FRAMES: ReadonlyArray<Frame.Frame> = []

/** @internal */
export const decode = (state: Frame.DecoderState, chunk: Uint8Array): Frame.DecodeResult => {
  const input = state as DecoderState
  if (input.phase === FAILED) return { state: input, frames: NO_FRAMES, error: input.error }
  if (input.phase === CLOSED || chunk.length === 0) return { state: input, frames: NO_FRAMES, error: undefined }
  const s = input.copy()
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
    if (isControl(s.opcode)) {
      if (s.remaining !== 0) {
        s.controlBytes = concat([s.controlBytes, piece], s.controlBytes.length + take)
        break
      }
      const payload = s.controlBytes.length === 0
        ? piece
        : concat([s.controlBytes, piece], s.controlBytes.length + take)
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

/** Read after `readHeader`, which may have moved the phase (TypeScript narrows `s.phase` too early). */
const inPayload = (s: DecoderState): boolean => s.phase === PAYLOAD

const fail = (s: DecoderState, error: RemoteProtocolError): undefined => {
  s.phase = FAILED
  s.error = error
  return undefined
}

// Reading a header (RFC 6455 §5.2)

const NEED_MORE = { _tag: "NeedMore" } as const
const READ = { _tag: "Header" } as const

/**
 * What a step of header reading gives: more bytes are needed, the header (read into the frame
 * fields of the state: `fin`, `rsv`, `opcode`, `masked`, `remaining`), or the violation.
 */
type HeaderStep = typeof NEED_MORE | typeof READ | RemoteProtocolError

/**
 * Reads a frame header from `chunk` at `pos`, after any header bytes held from earlier chunks.
 * Returns how many bytes of `chunk` it consumed. With a header the state is in PAYLOAD; when the
 * header is incomplete its bytes are held and the state stays in HEADER.
 */
const readHeader = (s: DecoderState, chunk: Uint8Array, pos: number): number => {
  const held = s.headerBytes.length
  let bytes = chunk
  let offset = pos
  let available = chunk.length - pos
  if (held > 0) {
    // §5.2: a header is at most 2 + 8 + 4 bytes.
    const take = Math.min(14 - held, available)
    bytes = new Uint8Array(held + take)
    bytes.set(s.headerBytes)
    bytes.set(chunk.subarray(pos, pos + take), held)
    offset = 0
    available = bytes.length
  }
  let step = parseHeader(s, bytes, offset, available)
  if (step._tag === "Header") step = checkHeader(s, available)
  if (step._tag === "NeedMore") {
    s.headerBytes = bytes.slice(offset, offset + available)
    return chunk.length - pos
  }
  if (step._tag === "RemoteProtocolError") {
    fail(s, step)
    return chunk.length - pos
  }
  const length = headerLength(s)
  s.headerBytes = EMPTY
  s.maskKey = s.masked ? readUint32(bytes, offset + length - 4) : 0
  s.maskPhase = 0
  s.phase = PAYLOAD
  return length - held
}

/**
 * A header's length: since §5.2 asks for the minimal length encoding, it follows from the
 * payload length and the mask bit.
 */
const headerLength = (s: DecoderState): number =>
  (s.remaining < 126 ? 2 : s.remaining <= 0xffff ? 4 : 10) + (s.masked ? 4 : 0)

/** Steps 1 and 2: the header's fields, once its extended length is there (RFC 6455 §5.2). */
const parseHeader = (s: DecoderState, bytes: Uint8Array, offset: number, available: number): HeaderStep => {
  if (available < 2) return NEED_MORE
  const b0 = bytes[offset]!
  const b1 = bytes[offset + 1]!
  const fin = (b0 & 0x80) !== 0
  const opcode = b0 & 0x0f
  const control = isControl(opcode)
  if (!isDefined(opcode)) return protocolError(`Invalid opcode 0x${opcode.toString(16)}`)
  if (control && !fin) return protocolError("Invalid attempt to fragment control frame")
  const length7 = b1 & 0x7f
  if (control && length7 > MAX_CONTROL_PAYLOAD) return protocolError("Control frame with payload len > 125")
  let payloadLength = length7
  if (length7 === 126) {
    if (available < 4) return NEED_MORE
    payloadLength = (bytes[offset + 2]! << 8) | bytes[offset + 3]!
    if (payloadLength < 126) return protocolError("Payload length used 2 bytes when 1 would have sufficed")
  } else if (length7 === 127) {
    if (available < 10) return NEED_MORE
    const high = readUint32(bytes, offset + 2)
    if (high >= 0x80000000) return protocolError("8-byte payload length with non-zero MSB")
    payloadLength = high * 0x100000000 + readUint32(bytes, offset + 6)
    if (payloadLength <= 0xffff) return protocolError("Payload length used 8 bytes when 2 would have sufficed")
  }
  s.fin = fin
  s.rsv = (b0 >>> 4) & 0x7
  s.opcode = opcode
  s.masked = (b1 & 0x80) !== 0
  s.remaining = payloadLength
  return READ
}

/** Steps 3 to 5 over the parsed header; `available` says whether its masking key is there. */
const checkHeader = (s: DecoderState, available: number): HeaderStep => {
  let claimed = 0
  if (s.config.extensions.length === 0) {
    const bits = checkBits(s, 0)
    if (bits !== undefined) return bits
    if (available < headerLength(s)) return NEED_MORE
  } else {
    if (available < headerLength(s)) return NEED_MORE
    const hooks = inboundHeader(s)
    if (typeof hooks !== "number") return hooks
    claimed = hooks
    const bits = checkBits(s, claimed)
    if (bits !== undefined) return bits
  }
  return checkLimits(s, claimed) ?? READ
}

const protocolError = (message: string): RemoteProtocolError => violation("ProtocolViolation", message)

/** Step 4: RSV bits no extension claimed (RFC 6455 §5.2), masking by role (§5.1). */
const checkBits = (s: DecoderState, claimed: number): RemoteProtocolError | undefined => {
  if ((s.rsv & ~claimed) !== 0) return protocolError("Reserved bit set unexpectedly")
  if (s.masked === (s.config.role === "server")) return undefined
  return protocolError(
    s.masked ? "client received unexpected masked frame" : "server received unexpected unmasked frame"
  )
}

/**
 * Step 5: the frame size, RFC 6455 §5.4 fragmentation (a message is one TEXT or BINARY frame and
 * then CONTINUATION frames) and the message size. Enters a new message.
 */
const checkLimits = (s: DecoderState, claimed: number): RemoteProtocolError | undefined => {
  const { maxFrameSize, maxMessageSize } = s.config
  const opcode = s.opcode
  const payloadLength = s.remaining
  if (payloadLength > maxFrameSize) {
    return violation("MessageTooBig", `Frame payload of ${payloadLength} bytes exceeds the limit of ${maxFrameSize}`)
  }
  if (isControl(opcode)) return undefined
  if (opcode === Opcode.CONTINUATION) {
    if (s.message === 0) return protocolError("unexpected CONTINUATION")
  } else if (s.message !== 0) {
    return protocolError(`expected CONTINUATION, got ${opcodeName(opcode)}`)
  } else {
    s.message = opcode
  }
  // Frames no extension claimed are not transformed: they count against the limit at once.
  if (claimed === 0 && s.messageSize + payloadLength > maxMessageSize) return messageTooBig(maxMessageSize)
  return undefined
}

const opcodeName = (opcode: number): string | undefined =>
  Object.keys(Opcode).find((name) => Opcode[name as keyof typeof Opcode] === opcode)

const messageTooBig = (limit: number): RemoteProtocolError =>
  violation("MessageTooBig", `Message exceeds the limit of ${limit} bytes`)

// Extensions (RFC 6455 §9)

/** Step 3: the extensions' header hooks; the RSV bits they claim, or the error of one. */
const inboundHeader = (s: DecoderState): number | RemoteProtocolError => {
  const extensions = s.config.extensions
  const states = s.extensionStates.slice()
  const header: InboundHeader = { fin: s.fin, rsv: s.rsv, opcode: s.opcode as Frame.Opcode, payloadLength: s.remaining }
  let claimed = 0
  for (let i = 0; i < extensions.length; i++) {
    const hook = extensions[i]!.inboundHeader
    if (hook === undefined) continue
    const result = hook(states[i], header)
    if (result.error !== undefined) return withHint(result.error)
    states[i] = result.state
    claimed |= result.value
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
    if (result.error !== undefined) return fail(s, withHint(result.error))
    states[i] = result.state
    data = result.value
  }
  if (frameFinished) {
    for (let i = 0; i < extensions.length; i++) {
      const hook = extensions[i]!.inboundComplete
      if (hook === undefined) continue
      const result = hook(states[i], s.fin, budget - data.length)
      if (result.error !== undefined) return fail(s, withHint(result.error))
      states[i] = result.state
      const tail = result.value
      if (tail !== undefined && tail.length > 0) data = concat([data, tail], data.length + tail.length)
    }
  }
  s.extensionStates = states
  return data
}

// Payloads

const SMALL_PIECE = 64

/** The next `take` payload bytes at `pos`, unmasked (RFC 6455 §5.3). */
const unmask = (s: DecoderState, chunk: Uint8Array, pos: number, take: number): Uint8Array => {
  if (s.masked && !s.config.inPlace) {
    // A few bytes (a frame fed in small reads): a plain array is cheaper than a pooled Buffer.
    const out = take < SMALL_PIECE ? new Uint8Array(take) : allocUnsafe(take)
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
  if (s.messageSize > s.config.maxMessageSize) return fail(s, messageTooBig(s.config.maxMessageSize))
  const messageFinished = frameFinished && s.fin
  const assemble = s.config.assemble
  if (s.message === Opcode.TEXT) {
    // RFC 6455 §8.1: text is UTF-8, checked as it arrives.
    const decoded = Utf8.decodeChunk(s.utf8Carry, bytes, messageFinished)
    if (decoded === undefined) return fail(s, violation("InvalidPayload", "Invalid UTF-8 in text message"))
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
    frames.push({
      _tag: "Binary",
      data: assembled(s.parts, bytes, s.messageSize),
      frameFinished: true,
      messageFinished: true
    })
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
  if (s.opcode === Opcode.PING) {
    frames.push({ _tag: "Ping", payload })
  } else if (s.opcode === Opcode.PONG) {
    frames.push({ _tag: "Pong", payload })
  } else {
    close(s, payload, frames)
  }
}

/** RFC 6455 §5.5.1 and §7.4: the close payload is empty, or a valid code and a UTF-8 reason. */
const close = (s: DecoderState, payload: Uint8Array, frames: Array<Frame.Frame>): void => {
  let code: number = CloseReason.NO_STATUS_RCVD
  let reason = ""
  if (payload.length === 1) return fail(s, protocolError("CLOSE with 1 byte payload"))
  if (payload.length >= 2) {
    code = (payload[0]! << 8) | payload[1]!
    // §7.4.2: codes below 1000 are not used and none above 4999 is defined.
    if (code < 1000 || code > 4999) return fail(s, protocolError(`CLOSE with invalid code ${code}`))
    if (isLocalOnlyCloseCode(code)) return fail(s, protocolError(`remote CLOSE with local-only reason ${code}`))
    if (!isValidCloseCode(code)) return fail(s, protocolError(`CLOSE with unknown reserved code ${code}`))
    const text = Utf8.decodeComplete(payload.subarray(2))
    if (text === undefined) return fail(s, violation("InvalidPayload", "Error decoding CLOSE reason: invalid UTF-8"))
    reason = text
  }
  frames.push({ _tag: "Close", code, reason })
  s.phase = CLOSED
}
