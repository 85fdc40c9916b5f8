/**
 * The frame encoder: RFC 6455 §5.2 headers, §5.3 masking for the client role, §5.4 fragmentation
 * of outgoing messages, §5.5 control frame rules, §5.5.1 close payloads.
 */
import type { LocalProtocolError } from "../Errors.js"
import type { Extension, OutboundFrame } from "../Extensions.js"
import type * as Frame from "../Frame.js"
import { allocUnsafe, EMPTY, SLAB_ROOM_MAX, slabCommit, slabOffset, slabRoom, utf8Length, writeUtf8 } from "./bytes.js"
import { CloseReason, isValidCloseCode } from "./closeCode.js"
import { local } from "./errors.js"
import { isControl, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD, Opcode } from "./frameHeader.js"
import { maskInPlace, maskInto, readUint32 } from "./mask.js"

/** @internal */
export const TypeId: Frame.EncoderTypeId = Symbol.for("effect-wsproto/Frame/EncoderState") as Frame.EncoderTypeId

/** Text up to this many UTF-16 units is tried as ASCII, written by a JavaScript loop. */
const SHORT_TEXT_MAX = 32

/** Payloads up to this size are copied behind their header; larger ones are sent as they are. */
const COPY_LIMIT = 16 * 1024

/** UTF-8 of a string: sized first and written in place, much faster than `TextEncoder.encode`. */
const utf8Bytes = (text: string): Uint8Array => {
  const out = allocUnsafe(utf8Length(text))
  writeUtf8(out, text, 0)
  return out
}

interface EncoderConfig {
  readonly role: Frame.Role
  readonly fragmentSize: number
  readonly maskKey: Frame.MaskKeySource
  readonly extensions: ReadonlyArray<Extension>
}

class EncoderState implements Frame.EncoderState {
  declare readonly [TypeId]: Frame.EncoderTypeId
  constructor(
    readonly config: EncoderConfig,
    /** Opcode of the message left unfinished, 0 between messages. */
    readonly message: number,
    readonly extensionStates: ReadonlyArray<unknown>
  ) {}
}

Object.defineProperty(EncoderState.prototype, TypeId, { value: TypeId })

const POOL_SIZE = 1024
const pool = new Uint8Array(POOL_SIZE)
let poolIndex = POOL_SIZE
const key = new Uint8Array(4)

/** @internal */
export const randomMaskKey: Frame.MaskKeySource = () => {
  if (poolIndex === POOL_SIZE) {
    globalThis.crypto.getRandomValues(pool)
    poolIndex = 0
  }
  key[0] = pool[poolIndex]!
  key[1] = pool[poolIndex + 1]!
  key[2] = pool[poolIndex + 2]!
  key[3] = pool[poolIndex + 3]!
  poolIndex += 4
  return key
}

/** @internal */
export const make = (options: Frame.EncoderOptions): Frame.EncoderState => {
  const extensions = options.extensions ?? []
  const fragmentSize = options.fragmentSize ?? Infinity
  if (!(fragmentSize >= 1)) {
    throw local("InvalidOption", `fragmentSize is ${fragmentSize}: give a number of payload bytes of at least 1`)
  }
  return new EncoderState(
    { role: options.role, fragmentSize, maskKey: options.maskKey ?? randomMaskKey, extensions },
    0,
    extensions.map((extension) => extension.init(options.role))
  )
}

const failed = (state: Frame.EncoderState, error: LocalProtocolError): Frame.Encoded => ({ state, bytes: [], error })

/** @internal */
export const encodeMessage = (input: Frame.EncoderState, data: string | Uint8Array, fin = true): Frame.Encoded => {
  const state = input as EncoderState
  const opcode = typeof data === "string" ? Opcode.TEXT : Opcode.BINARY
  if (state.message !== 0 && state.message !== opcode) {
    const [piece, open] = opcode === Opcode.TEXT ? ["text", "binary"] : ["binary", "text"]
    const advice = `finish the ${open} message (fin true) first`
    return failed(
      state,
      local("InvalidState", `Data type mismatch inside message: a ${piece} piece inside a ${open} message; ${advice}`)
    )
  }
  const config = state.config
  const first = state.message === 0 ? opcode : Opcode.CONTINUATION
  const message = fin ? 0 : opcode
  const size = config.fragmentSize
  if (config.extensions.length === 0 && (typeof data === "string" ? data.length * 3 : data.length) <= size) {
    const bytes = typeof data === "string" ? [textFrame(config, fin, first, data)] : frame(config, fin, 0, first, data)
    return { state: next(state, message, state.extensionStates), bytes, error: undefined }
  }
  const payload = typeof data === "string" ? utf8Bytes(data) : data
  const writer = new Writer(state)
  const messageLength = fin && state.message === 0 ? payload.length : undefined
  if (payload.length <= size) {
    writer.frame(fin, first, payload, messageLength)
  } else {
    // RFC 6455 §5.4: the first fragment carries the opcode, the rest are CONTINUATION frames.
    for (let offset = 0; offset < payload.length && writer.error === undefined; offset += size) {
      const last = offset + size >= payload.length
      writer.frame(
        fin && last,
        offset === 0 ? first : Opcode.CONTINUATION,
        payload.subarray(offset, offset + size),
        messageLength
      )
    }
  }
  return writer.result(message)
}

/** The state after a step: the same object when nothing changed. */
const next = (state: EncoderState, message: number, extensionStates: ReadonlyArray<unknown>) =>
  message === state.message && extensionStates === state.extensionStates
    ? state
    : new EncoderState(state.config, message, extensionStates)

/** @internal */
export const encodePing = (state: Frame.EncoderState, payload: Uint8Array = EMPTY): Frame.Encoded =>
  control(state as EncoderState, Opcode.PING, payload)

/** @internal */
export const encodePong = (state: Frame.EncoderState, payload: Uint8Array = EMPTY): Frame.Encoded =>
  control(state as EncoderState, Opcode.PONG, payload)

/** @internal */
export const encodeClose = (input: Frame.EncoderState, code?: number, reason = ""): Frame.Encoded => {
  const state = input as EncoderState
  if (code === undefined || code === CloseReason.NO_STATUS_RCVD) {
    // RFC 6455 §5.5.1: a reason follows a code.
    if (reason !== "") return failed(state, local("InvalidEvent", "cannot specify a reason without a code"))
    return control(state, Opcode.CLOSE, EMPTY)
  }
  if (!isValidCloseCode(code)) {
    return failed(
      state,
      local(
        "InvalidEvent",
        `Close code ${code} may not be sent (RFC 6455 §7.4): send 1000–1003, 1007–1014 or 3000–4999, or no code`
      )
    )
  }
  const encoded = utf8Bytes(reason)
  let length = encoded.length
  if (length > MAX_CLOSE_REASON) {
    // Cut at a character boundary: back off while the first dropped byte continues a character.
    length = MAX_CLOSE_REASON
    while (length > 0 && (encoded[length]! & 0xc0) === 0x80) length--
  }
  const payload = new Uint8Array(2 + length)
  payload[0] = code >>> 8
  payload[1] = code & 0xff
  payload.set(encoded.subarray(0, length), 2)
  return control(state, Opcode.CLOSE, payload)
}

const control = (state: EncoderState, opcode: number, payload: Uint8Array): Frame.Encoded => {
  const writer = new Writer(state)
  writer.frame(true, opcode, payload)
  return writer.result(state.message)
}

/** Accumulates the frames of one encoding step. */
class Writer {
  readonly bytes: Array<Uint8Array> = []
  extensionStates: ReadonlyArray<unknown>
  error: LocalProtocolError | undefined = undefined

  constructor(readonly state: EncoderState) {
    this.extensionStates = state.extensionStates
  }

  result(message: number): Frame.Encoded {
    if (this.error !== undefined) return failed(this.state, this.error)
    return { state: next(this.state, message, this.extensionStates), bytes: this.bytes, error: undefined }
  }

  frame(fin: boolean, opcode: number, data: Uint8Array, messageLength?: number): void {
    const config = this.state.config
    let rsv = 0
    let payload = data
    if (config.extensions.length > 0) {
      const frame = { fin, rsv, opcode: opcode as Frame.Opcode, payload }
      const outbound = this.outbound(messageLength === undefined ? frame : { ...frame, messageLength })
      if (outbound === undefined) return
      rsv = outbound.rsv
      payload = outbound.payload
    }
    if (isControl(opcode) && payload.length > MAX_CONTROL_PAYLOAD) {
      const limit = `the ${MAX_CONTROL_PAYLOAD}-byte limit of a control frame (RFC 6455 §5.5)`
      this.error = local(
        "InvalidEvent",
        `A ${
          controlName(opcode)
        } payload of ${payload.length} bytes is over ${limit}: send at most ${MAX_CONTROL_PAYLOAD} bytes`
      )
      return
    }
    for (const chunk of frame(config, fin, rsv, opcode, payload)) this.bytes.push(chunk)
  }

  /** Runs the outbound hooks in reverse order, as wsproto does. */
  private outbound(frame: OutboundFrame): OutboundFrame | undefined {
    const extensions = this.state.config.extensions
    const states = this.extensionStates.slice()
    let current = frame
    for (let i = extensions.length - 1; i >= 0; i--) {
      const hook = extensions[i]!.outbound
      if (hook === undefined) continue
      const result = hook(states[i], current)
      if (result.error !== undefined) {
        this.error = result.error
        return undefined
      }
      states[i] = result.state
      current = result.value
    }
    this.extensionStates = states
    return current
  }
}

const controlName = (opcode: number): string =>
  opcode === Opcode.PING ? "Ping" : opcode === Opcode.PONG ? "Pong" : "Close"

const headerLength = (config: EncoderConfig, length: number): number =>
  (length < 126 ? 2 : length < 0x10000 ? 4 : 10) + (config.role === "client" ? 4 : 0)

/**
 * Writes a frame header at `start` (RFC 6455 §5.2). For the client role it also masks the
 * payload behind it (§5.3): `source` masked into place, or without `source` the bytes already there.
 */
const writeHeader = (
  config: EncoderConfig,
  out: Uint8Array,
  start: number,
  fin: boolean,
  rsv: number,
  opcode: number,
  length: number,
  source?: Uint8Array
): void => {
  const masked = config.role === "client"
  out[start] = (fin ? 0x80 : 0) | (rsv << 4) | opcode
  const maskBit = masked ? 0x80 : 0
  let keyOffset = start + 2
  if (length < 126) {
    out[start + 1] = maskBit | length
  } else if (length < 0x10000) {
    out[start + 1] = maskBit | 126
    out[start + 2] = length >>> 8
    out[start + 3] = length & 0xff
    keyOffset += 2
  } else {
    out[start + 1] = maskBit | 127
    writeUint32(out, start + 2, Math.floor(length / 0x100000000))
    writeUint32(out, start + 6, length >>> 0)
    keyOffset += 8
  }
  if (masked) {
    const keyBytes = config.maskKey()
    out[keyOffset] = keyBytes[0]!
    out[keyOffset + 1] = keyBytes[1]!
    out[keyOffset + 2] = keyBytes[2]!
    out[keyOffset + 3] = keyBytes[3]!
    const payloadStart = keyOffset + 4
    const key = readUint32(out, keyOffset)
    if (source === undefined) maskInPlace(out, payloadStart, payloadStart + length, key, 0)
    else maskInto(source, 0, length, key, 0, out, payloadStart)
  }
}

/** A frame of bytes: one chunk, or for a large server payload the header and the payload uncopied. */
const frame = (config: EncoderConfig, fin: boolean, rsv: number, opcode: number, payload: Uint8Array) => {
  const length = payload.length
  const header = headerLength(config, length)
  if (config.role === "server" && length > COPY_LIMIT) {
    const out = allocUnsafe(header)
    writeHeader(config, out, 0, fin, rsv, opcode, length)
    return [out, payload]
  }
  const out = allocUnsafe(header + length)
  if (config.role === "client") {
    writeHeader(config, out, 0, fin, rsv, opcode, length, payload)
  } else {
    out.set(payload, header)
    writeHeader(config, out, 0, fin, rsv, opcode, length)
  }
  return [out]
}

/** Writes `text` at `offset` if it is ASCII (its UTF-8 is then its code units); false otherwise. */
const writeAscii = (out: Uint8Array, text: string, offset: number): boolean => {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit >= 0x80) return false
    out[offset + i] = unit
  }
  return true
}

/**
 * A text frame with its UTF-8 written straight behind its header. Short ASCII text is written by
 * a loop here, long text is sized first. Text in between is written into slab room for its worst case (3 bytes per UTF-16 unit)
 * and the header placed in front of it, since sizing non-ASCII text costs about as much as
 * writing it.
 */
const textFrame = (config: EncoderConfig, fin: boolean, opcode: number, text: string): Uint8Array => {
  if (text.length <= SHORT_TEXT_MAX) {
    const header = headerLength(config, text.length)
    const out = allocUnsafe(header + text.length)
    if (writeAscii(out, text, header)) {
      writeHeader(config, out, 0, fin, 0, opcode, text.length)
      return out
    }
  }
  const worst = text.length * 3
  const room = headerLength(config, worst)
  if (room + worst > SLAB_ROOM_MAX) {
    const length = utf8Length(text)
    const header = headerLength(config, length)
    const out = allocUnsafe(header + length)
    writeUtf8(out, text, header)
    writeHeader(config, out, 0, fin, 0, opcode, length)
    return out
  }
  const slab = slabRoom(room + worst)
  const payloadStart = slabOffset() + room
  const length = writeUtf8(slab, text, payloadStart)
  const start = payloadStart - headerLength(config, length)
  writeHeader(config, slab, start, fin, 0, opcode, length)
  return slabCommit(start, payloadStart + length)
}

const writeUint32 = (bytes: Uint8Array, offset: number, value: number): void => {
  bytes[offset] = value >>> 24
  bytes[offset + 1] = (value >>> 16) & 0xff
  bytes[offset + 2] = (value >>> 8) & 0xff
  bytes[offset + 3] = value & 0xff
}
