/**
 * The frame encoder: RFC 6455 §5.2 headers, §5.3 masking for the client role, §5.4 fragmentation
 * of outgoing messages, §5.5 control frame rules, §5.5.1 close payloads.
 */
import * as Either from "effect/Either"
import { LocalProtocolError } from "../Errors.js"
import type { Extension, OutboundFrame } from "../Extensions.js"
import type * as Frame from "../Frame.js"
import { allocUnsafe, EMPTY } from "./bytes.js"
import { isValidCloseCode, NO_STATUS_RCVD } from "./closeCode.js"
import { maskInto, packKey } from "./mask.js"

const CONTINUATION = 0x0
const TEXT = 0x1
const BINARY = 0x2
const CLOSE = 0x8
const PING = 0x9
const PONG = 0xa

/** Payloads up to this size are copied behind their header; larger ones are sent as they are. */
const COPY_LIMIT = 16 * 1024

/** RFC 6455 §5.5: control payloads are at most 125 bytes, so a close reason at most 123. */
const MAX_CONTROL_PAYLOAD = 125
const MAX_CLOSE_REASON = 123

const textEncoder = new TextEncoder()

/** @internal */
export interface EncoderConfig {
  readonly role: Frame.Role
  readonly fragmentSize: number
  readonly maskKey: Frame.MaskKeySource
  readonly extensions: ReadonlyArray<Extension>
}

/** @internal */
export class EncoderState {
  constructor(
    readonly config: EncoderConfig,
    /** Opcode of the message left unfinished, 0 between messages. */
    readonly message: number,
    readonly extensionStates: ReadonlyArray<unknown>
  ) {}
}

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
export const make = (options: Frame.EncoderOptions): EncoderState => {
  const extensions = options.extensions ?? []
  const fragmentSize = options.fragmentSize ?? Infinity
  if (!(fragmentSize >= 1)) throw new RangeError(`fragmentSize must be at least 1, got ${fragmentSize}`)
  return new EncoderState(
    { role: options.role, fragmentSize, maskKey: options.maskKey ?? randomMaskKey, extensions },
    0,
    extensions.map((extension) => extension.init(options.role))
  )
}

type Result = Either.Either<Frame.Encoded, LocalProtocolError>

/** @internal */
export const encodeMessage = (state: Readonly<EncoderState>, data: string | Uint8Array, fin = true): Result => {
  const opcode = typeof data === "string" ? TEXT : BINARY
  if (state.message !== 0 && state.message !== opcode) {
    return Either.left(
      new LocalProtocolError({
        message: `Data type mismatch inside message: a ${opcode === TEXT ? "text" : "binary"} piece inside a ${
          opcode === TEXT ? "binary" : "text"
        } message`
      })
    )
  }
  const payload = typeof data === "string" ? textEncoder.encode(data) : data
  const writer = new Writer(state)
  const first = state.message === 0 ? opcode : CONTINUATION
  const size = state.config.fragmentSize
  if (payload.length <= size) {
    writer.frame(fin, first, payload)
  } else {
    // RFC 6455 §5.4: the first fragment carries the opcode, the rest are CONTINUATION frames.
    for (let offset = 0; offset < payload.length && writer.error === undefined; offset += size) {
      const last = offset + size >= payload.length
      writer.frame(fin && last, offset === 0 ? first : CONTINUATION, payload.subarray(offset, offset + size))
    }
  }
  return writer.result(fin ? 0 : opcode)
}

/** @internal */
export const encodePing = (state: Readonly<EncoderState>, payload: Uint8Array = EMPTY): Result =>
  control(state, PING, payload)

/** @internal */
export const encodePong = (state: Readonly<EncoderState>, payload: Uint8Array = EMPTY): Result =>
  control(state, PONG, payload)

/** @internal */
export const encodeClose = (state: Readonly<EncoderState>, code?: number, reason = ""): Result => {
  if (code === undefined || code === NO_STATUS_RCVD) {
    if (reason !== "") return Either.left(new LocalProtocolError({ message: "cannot specify a reason without a code" }))
    return control(state, CLOSE, EMPTY)
  }
  if (!isValidCloseCode(code)) {
    return Either.left(new LocalProtocolError({ message: `Close code ${code} may not be sent (RFC 6455 §7.4)` }))
  }
  const encoded = textEncoder.encode(reason)
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
  return control(state, CLOSE, payload)
}

const control = (state: Readonly<EncoderState>, opcode: number, payload: Uint8Array): Result => {
  const writer = new Writer(state)
  writer.frame(true, opcode, payload)
  return writer.result(state.message)
}

/** Accumulates the frames of one encoding step. */
class Writer {
  readonly bytes: Array<Uint8Array> = []
  extensionStates: ReadonlyArray<unknown>
  error: LocalProtocolError | undefined = undefined

  constructor(readonly state: Readonly<EncoderState>) {
    this.extensionStates = state.extensionStates
  }

  result(message: number): Result {
    if (this.error !== undefined) return Either.left(this.error)
    return Either.right({
      state: new EncoderState(this.state.config, message, this.extensionStates),
      bytes: this.bytes
    })
  }

  frame(fin: boolean, opcode: number, data: Uint8Array): void {
    const config = this.state.config
    let rsv = 0
    let payload = data
    if (config.extensions.length > 0) {
      const outbound = this.outbound({ fin, rsv, opcode: opcode as Frame.Opcode, payload })
      if (outbound === undefined) return
      rsv = outbound.rsv
      payload = outbound.payload
    }
    const length = payload.length
    if (opcode >= CLOSE && length > MAX_CONTROL_PAYLOAD) {
      this.error = new LocalProtocolError({ message: "payload too long for control frame" })
      return
    }
    const masked = config.role === "client"
    const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8
    const headerLength = 2 + lengthBytes + (masked ? 4 : 0)
    const copy = masked || length <= COPY_LIMIT
    const out = allocUnsafe(copy ? headerLength + length : headerLength)
    out[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode
    const maskBit = masked ? 0x80 : 0
    if (lengthBytes === 0) {
      out[1] = maskBit | length
    } else if (lengthBytes === 2) {
      out[1] = maskBit | 126
      out[2] = length >>> 8
      out[3] = length & 0xff
    } else {
      out[1] = maskBit | 127
      const high = Math.floor(length / 0x100000000)
      writeUint32(out, 2, high)
      writeUint32(out, 6, length >>> 0)
    }
    if (masked) {
      const keyBytes = config.maskKey()
      const keyOffset = 2 + lengthBytes
      out[keyOffset] = keyBytes[0]!
      out[keyOffset + 1] = keyBytes[1]!
      out[keyOffset + 2] = keyBytes[2]!
      out[keyOffset + 3] = keyBytes[3]!
      maskInto(payload, 0, length, packKey(out, keyOffset), 0, out, headerLength)
      this.bytes.push(out)
    } else if (copy) {
      out.set(payload, headerLength)
      this.bytes.push(out)
    } else {
      this.bytes.push(out, payload)
    }
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
      if (result instanceof LocalProtocolError) {
        this.error = result
        return undefined
      }
      states[i] = result[0]
      current = result[1]
    }
    this.extensionStates = states
    return current
  }
}

const writeUint32 = (bytes: Uint8Array, offset: number, value: number): void => {
  bytes[offset] = value >>> 24
  bytes[offset + 1] = (value >>> 16) & 0xff
  bytes[offset + 2] = (value >>> 8) & 0xff
  bytes[offset + 3] = value & 0xff
}
