/**
 * Small helpers shared by the frame codec tests: hex parsing and printing, concatenating bytes,
 * unwrapping encoder results, feeding chunks to a decoder, and a reference frame serialiser that
 * does not use the encoder under test.
 */
import * as Either from "effect/Either"
import type { LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import * as Frame from "../src/Frame.js"

/** Parses hex such as `"81 05 48 65"` or `"810548"` (whitespace ignored) into bytes. */
export const hex = (text: string): Uint8Array => {
  const clean = text.replace(/\s+/g, "")
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex: ${text}`)
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Lowercase hex of bytes without separators; works for Node Buffers and plain arrays alike. */
export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

/** Concatenates byte arrays into a new plain `Uint8Array`. */
export const concatBytes = (...chunks: ReadonlyArray<Uint8Array>): Uint8Array => concatAll(chunks)

/** Concatenates a list of byte arrays (any number of them) into a new plain `Uint8Array`. */
export const concatAll = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 0
  for (const chunk of chunks) length += chunk.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

/** UTF-8 bytes of a string. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** `n` copies of the byte `value`. */
export const repeatByte = (value: number, n: number): Uint8Array => new Uint8Array(n).fill(value)

/** The successful result of an encoder step; fails the test with the error otherwise. */
export const right = (result: Either.Either<Frame.Encoded, LocalProtocolError>): Frame.Encoded => {
  if (Either.isLeft(result)) throw new Error(`expected Right, got Left: ${result.left.message}`)
  return result.right
}

/** The error of a failed encoder step; fails the test when the step succeeded. */
export const left = (result: Either.Either<Frame.Encoded, LocalProtocolError>): LocalProtocolError => {
  if (Either.isRight(result)) throw new Error(`expected Left, got Right: ${toHex(concatAll(result.right.bytes))}`)
  return result.left
}

/** All bytes of a successful encoder step, concatenated. */
export const encodedBytes = (result: Either.Either<Frame.Encoded, LocalProtocolError>): Uint8Array =>
  concatAll(right(result).bytes)

/** The bytes of an encoder step's output, concatenated, as lowercase hex. */
export const hexOf = (encoded: Frame.Encoded): string => toHex(concatAll(encoded.bytes))

/** The data of the binary pieces among `frames`, concatenated. */
export const binaryData = (frames: ReadonlyArray<Frame.Frame>): Uint8Array =>
  concatAll(frames.flatMap((frame) => (frame._tag === "Binary" ? [frame.data] : [])))

/** All bytes of a successful encoder step, as lowercase hex. */
export const encodedHex = (result: Either.Either<Frame.Encoded, LocalProtocolError>): string =>
  toHex(encodedBytes(result))

/** The outcome of feeding several chunks to a decoder. */
export interface Fed {
  readonly state: Frame.DecoderState
  readonly frames: Array<Frame.Frame>
  /** Frames surfaced by each chunk. */
  readonly perChunk: Array<ReadonlyArray<Frame.Frame>>
  readonly error: RemoteProtocolError | undefined
}

/** Feeds the chunks in order to the decoder, collecting every frame and the last error. */
export const feed = (state: Frame.DecoderState, ...chunks: ReadonlyArray<Uint8Array>): Fed => feedAll(state, chunks)

/** `feed` for a list of chunks of any length. */
export const feedAll = (state: Frame.DecoderState, chunks: ReadonlyArray<Uint8Array>): Fed => {
  let current = state
  const frames: Array<Frame.Frame> = []
  const perChunk: Array<ReadonlyArray<Frame.Frame>> = []
  let error: RemoteProtocolError | undefined = undefined
  for (const chunk of chunks) {
    const result = Frame.decode(current, chunk)
    current = result.state
    for (const frame of result.frames) frames.push(frame)
    perChunk.push(result.frames)
    error = result.error
  }
  return { state: current, frames, perChunk, error }
}

/** Decodes the chunks with a fresh decoder of the given options. */
export const decodeAll = (options: Frame.DecoderOptions, ...chunks: ReadonlyArray<Uint8Array>): Fed =>
  feed(Frame.decoder(options), ...chunks)

/** Cuts `bytes` at the given offsets (sorted, within range) into chunks that share its memory. */
export const splitAt = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const cut of cuts) {
    chunks.push(bytes.subarray(start, cut))
    start = cut
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

/** Cuts `bytes` into chunks of `size` bytes (the last may be shorter). */
export const chunksOf = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size))
  return chunks
}

/** A readable form of a frame: data and payloads as strings or hex, for `toEqual` comparisons. */
export type Plain =
  | { readonly _tag: "Text"; readonly data: string; readonly frameFinished: boolean; readonly messageFinished: boolean }
  | { readonly _tag: "Binary"; readonly data: string; readonly frameFinished: boolean; readonly messageFinished: boolean }
  | { readonly _tag: "Close"; readonly code: number; readonly reason: string }
  | { readonly _tag: "Ping"; readonly payload: string }
  | { readonly _tag: "Pong"; readonly payload: string }

/** A frame with its bytes as hex, so that Buffers and Uint8Arrays compare alike. */
export const plain = (frame: Frame.Frame): Plain => {
  switch (frame._tag) {
    case "Text":
      return { _tag: "Text", data: frame.data, frameFinished: frame.frameFinished, messageFinished: frame.messageFinished }
    case "Binary":
      return {
        _tag: "Binary",
        data: toHex(frame.data),
        frameFinished: frame.frameFinished,
        messageFinished: frame.messageFinished
      }
    case "Close":
      return { _tag: "Close", code: frame.code, reason: frame.reason }
    case "Ping":
      return { _tag: "Ping", payload: toHex(frame.payload) }
    case "Pong":
      return { _tag: "Pong", payload: toHex(frame.payload) }
  }
}

export const plainAll = (frames: ReadonlyArray<Frame.Frame>): Array<Plain> => frames.map(plain)

/** A frame for the reference serialiser. */
export interface RawFrame {
  readonly fin: boolean
  /** RSV bits as `Frame.RSV1 | Frame.RSV2 | Frame.RSV3`. */
  readonly rsv?: number
  readonly opcode: number
  readonly payload: Uint8Array
  /** A 4-byte masking key: the frame is masked with it. */
  readonly mask?: Uint8Array
}

/**
 * Serialises a frame with the minimal length encoding (RFC 6455 §5.2), independently of the
 * encoder under test.
 */
export const rawFrame = (frame: RawFrame): Uint8Array => {
  const length = frame.payload.length
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8
  const mask = frame.mask
  const header = new Uint8Array(2 + lengthBytes + (mask === undefined ? 0 : 4))
  header[0] = (frame.fin ? 0x80 : 0) | ((frame.rsv ?? 0) << 4) | frame.opcode
  const maskBit = mask === undefined ? 0 : 0x80
  if (lengthBytes === 0) {
    header[1] = maskBit | length
  } else if (lengthBytes === 2) {
    header[1] = maskBit | 126
    header[2] = length >>> 8
    header[3] = length & 0xff
  } else {
    header[1] = maskBit | 127
    new DataView(header.buffer).setBigUint64(2, BigInt(length))
  }
  let payload = frame.payload
  if (mask !== undefined) {
    header.set(mask, 2 + lengthBytes)
    payload = applyMask(frame.payload, mask)
  }
  return concatBytes(header, payload)
}

/** XORs `data` with the repeating 4-byte key (RFC 6455 §5.3), into a new array. */
export const applyMask = (data: Uint8Array, key: Uint8Array): Uint8Array => {
  const out = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ key[i % 4]!
  return out
}

/** A close payload: the big-endian code and the UTF-8 reason (or raw reason bytes). */
export const closePayload = (code: number, reason: string | Uint8Array = ""): Uint8Array =>
  concatBytes(new Uint8Array([code >>> 8, code & 0xff]), typeof reason === "string" ? utf8(reason) : reason)

/** A masking key source that always returns the given key. */
export const fixedKey = (key: Uint8Array): Frame.MaskKeySource => () => key
