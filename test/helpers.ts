/**
 * Small helpers shared by the frame codec tests: hex parsing and printing, concatenating bytes,
 * unwrapping encoder results, feeding chunks to a decoder, and a reference frame serialiser that
 * does not use the encoder under test; for the handshake tests, Latin-1 bytes, HTTP heads, plain
 * forms of events and feeding inputs to the handshake reducer; for the connection tests, the reducer
 * face and the class face of one end behind one interface (`Face`).
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Connection from "../src/Connection.js"
import { ConnectionState, type ConnectionType } from "../src/ConnectionState.js"
import { LocalProtocolError, type RemoteProtocolError } from "../src/Errors.js"
import type * as Events from "../src/Events.js"
import * as Frame from "../src/Frame.js"
import * as Handshake from "../src/Handshake.js"
import * as WSConnection from "../src/WSConnection.js"

/** Parses hex such as `"81 05 48 65"` or `"810548"` (whitespace ignored) into bytes. */
export const hex = (text: string): Uint8Array => {
  const clean = text.replace(/\s+/g, "")
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex: ${text}`)
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Lowercase hex of bytes without separators; works for Node Buffers and plain arrays alike. */
export const toHex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")

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
export const right = (result: Frame.Encoded): Frame.Encoded => {
  if (result.error !== undefined) throw new Error(`expected success, got an error: ${result.error.message}`)
  return result
}

/** The error of a failed encoder step; fails the test when the step succeeded. */
export const left = (result: Frame.Encoded): LocalProtocolError => {
  if (result.error === undefined) throw new Error(`expected an error, got bytes: ${toHex(concatAll(result.bytes))}`)
  return result.error
}

/** All bytes of a successful encoder step, concatenated. */
export const encodedBytes = (result: Frame.Encoded): Uint8Array => concatAll(right(result).bytes)

/** The bytes of an encoder step's output, concatenated, as lowercase hex. */
export const hexOf = (encoded: Frame.Encoded): string => toHex(concatAll(encoded.bytes))

/** The data of the binary pieces among `frames`, concatenated. */
export const binaryData = (frames: ReadonlyArray<Frame.Frame>): Uint8Array =>
  concatAll(frames.flatMap((frame) => (frame._tag === "Binary" ? [frame.data] : [])))

/** All bytes of a successful encoder step, as lowercase hex. */
export const encodedHex = (result: Frame.Encoded): string => toHex(encodedBytes(result))

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
  | {
    readonly _tag: "Binary"
    readonly data: string
    readonly frameFinished: boolean
    readonly messageFinished: boolean
  }
  | { readonly _tag: "Close"; readonly code: number; readonly reason: string }
  | { readonly _tag: "Ping"; readonly payload: string }
  | { readonly _tag: "Pong"; readonly payload: string }

/** A frame with its bytes as hex, so that Buffers and Uint8Arrays compare alike. */
export const plain = (frame: Frame.Frame): Plain => {
  switch (frame._tag) {
    case "Text":
      return {
        _tag: "Text",
        data: frame.data,
        frameFinished: frame.frameFinished,
        messageFinished: frame.messageFinished
      }
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

// ---------------------------------------------------------------------------------------------
// Handshake helpers

/** Latin-1 bytes of a string (one byte per character, as HTTP heads are read and written). */
export const latin1 = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0xff) throw new Error(`not Latin-1: ${JSON.stringify(text)}`)
    out[i] = code
  }
  return out
}

/** The string of Latin-1 bytes (one character per byte). */
export const latin1Text = (bytes: Uint8Array): string => {
  let text = ""
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!)
  return text
}

/** An HTTP/1.1 head: the start line, the header lines and the blank line, each ended by CR LF. */
export const httpHead = (startLine: string, headerLines: ReadonlyArray<string> = []): Uint8Array =>
  latin1(`${[startLine, ...headerLines].map((line) => `${line}\r\n`).join("")}\r\n`)

/** A successful step (its `error` unset); fails the test with the error otherwise. */
export const expectOk = <A extends { readonly error: { readonly message: string } | undefined }>(step: A): A => {
  if (step.error !== undefined) throw new Error(`expected success, got an error: ${step.error.message}`)
  return step
}

/** The error of a failed step; fails the test when it succeeded. */
export const expectError = <E>(step: { readonly error: E | undefined }): E => {
  if (step.error === undefined) throw new Error("expected an error, got success")
  return step.error
}

/** The value of a successful Either; fails the test with the error otherwise. */
export const expectRight = <A, E extends { readonly message: string }>(result: Either.Either<A, E>): A => {
  if (Either.isLeft(result)) throw new Error(`expected Right, got Left: ${result.left.message}`)
  return result.right
}

/** The error of a failed Either; fails the test when it succeeded. */
export const expectLeft = <A, E>(result: Either.Either<A, E>): E => {
  if (Either.isRight(result)) throw new Error("expected Left, got Right")
  return result.left
}

/**
 * An event as a plain object, bytes as lowercase hex, so that events compare with `toEqual` (the
 * Schema classes compare their byte and array fields by reference).
 */
export const plainEvent = (event: Events.Event): Record<string, unknown> => {
  const headers = (list: Events.Headers) => list.map(([name, value]) => [name, value])
  switch (event._tag) {
    case "Request":
      return {
        _tag: "Request",
        host: event.host,
        target: event.target,
        subprotocols: [...event.subprotocols],
        extensions: [...event.extensions],
        extraHeaders: headers(event.extraHeaders)
      }
    case "AcceptConnection":
      return {
        _tag: "AcceptConnection",
        subprotocol: event.subprotocol,
        extensions: [...event.extensions],
        extraHeaders: headers(event.extraHeaders)
      }
    case "RejectConnection":
      return {
        _tag: "RejectConnection",
        statusCode: event.statusCode,
        headers: headers(event.headers),
        hasBody: event.hasBody
      }
    case "RejectData":
      return { _tag: "RejectData", data: toHex(event.data), bodyFinished: event.bodyFinished }
    case "TextMessage":
      return {
        _tag: "TextMessage",
        data: event.data,
        frameFinished: event.frameFinished,
        messageFinished: event.messageFinished
      }
    case "BytesMessage":
      return {
        _tag: "BytesMessage",
        data: toHex(event.data),
        frameFinished: event.frameFinished,
        messageFinished: event.messageFinished
      }
    case "CloseConnection":
      return { _tag: "CloseConnection", code: event.code, reason: event.reason }
    case "Ping":
    case "Pong":
      return { _tag: event._tag, payload: toHex(event.payload) }
  }
}

export const plainEvents = (events: ReadonlyArray<Events.Event>): Array<Record<string, unknown>> =>
  events.map(plainEvent)

/** The outcome of feeding several inputs to the handshake reducer. */
export interface HandshakeFed {
  readonly state: Handshake.HandshakeState
  readonly events: Array<Events.Event>
  readonly error: RemoteProtocolError | undefined
}

/**
 * Feeds the inputs (`null` for the end of the input) in order to the handshake reducer,
 * collecting the events, and stops at the first error as a caller would.
 */
export const receiveAll = (
  state: Handshake.HandshakeState,
  inputs: ReadonlyArray<Uint8Array | null>
): HandshakeFed => {
  let current = state
  const events: Array<Events.Event> = []
  for (const input of inputs) {
    const result = Handshake.receive(current, input)
    for (const event of result.events) events.push(event)
    if (result.error !== undefined) return { state: result.state, events, error: result.error }
    current = result.state
  }
  return { state: current, events, error: undefined }
}

/** A handshake send that succeeded, its bytes in one array. */
export const sendOk = (
  state: Handshake.HandshakeState,
  event: Events.Event
): { readonly state: Handshake.HandshakeState; readonly bytes: Uint8Array } => {
  const sent = expectOk(Handshake.send(state, event))
  return { state: sent.state, bytes: concatAll(sent.bytes) }
}

// ---------------------------------------------------------------------------------------------
// Connection helpers: the reducer face and the class face of one end, behind one interface

/**
 * One end of a conversation seen through one face. `send` gives the bytes to write (all chunks
 * concatenated) and the events the step completed; `receive` gives the events. Both throw what the
 * wsproto-style classes throw (`LocalProtocolError`; `RemoteProtocolError` for a failed handshake),
 * and a frame-level violation is the `CloseConnection` event of the README's failure table, once.
 */
export interface Face {
  readonly state: () => ConnectionState
  readonly send: (event: Events.Event) => { readonly bytes: Uint8Array; readonly events: ReadonlyArray<Events.Event> }
  readonly receive: (data: Uint8Array | null) => ReadonlyArray<Events.Event>
}

/** The event a reducer's frame-level `RemoteProtocolError` stands for in the classes: its `eventHint`. */
const frameViolationEvent = (error: RemoteProtocolError): Events.Event => {
  if (error.eventHint?._tag !== "CloseConnection") {
    throw new Error(`a frame-level violation without a CloseConnection eventHint: ${error.message}`)
  }
  return error.eventHint
}

/**
 * Maps a reducer step to what the class gives: throws a `LocalProtocolError` (and a
 * `RemoteProtocolError` while `opened` is false), otherwise the events, followed by the violation's
 * close the first time one is reported.
 */
const classView = (
  face: { failed: boolean },
  events: ReadonlyArray<Events.Event>,
  error: RemoteProtocolError | LocalProtocolError | undefined,
  opened: boolean
): ReadonlyArray<Events.Event> => {
  if (error === undefined) return events
  if (error._tag === "LocalProtocolError" || !opened) throw error
  if (face.failed) return events
  face.failed = true
  return [...events, frameViolationEvent(error)]
}

/** The `WSConnection` reducer as a `Face`. */
export const wsReducerFace = (options: WSConnection.WSConnectionOptions): Face => {
  let state = WSConnection.make(options)
  const face = { failed: false }
  const step = (received: WSConnection.Received): ReadonlyArray<Events.Event> => {
    const events = classView(face, received.events, received.error, received.state.connection !== undefined)
    state = received.state
    return events
  }
  return {
    state: () => WSConnection.connectionState(state),
    send: (event) => {
      const result = WSConnection.send(state, event)
      if (result.error?._tag === "LocalProtocolError") throw result.error
      const events = step(result)
      return { bytes: concatAll(result.bytes), events }
    },
    receive: (data) => step(WSConnection.receive(state, data))
  }
}

/** The `WSConnection` class as a `Face`. */
export const wsClassFace = (options: WSConnection.WSConnectionOptions): Face => {
  const ws = new WSConnection.WSConnection(options.connectionType, options)
  return {
    state: () => ws.state,
    send: (event) => {
      const bytes = ws.send(event)
      return { bytes, events: [...ws.events()] }
    },
    receive: (data) => {
      ws.receiveData(data)
      return [...ws.events()]
    }
  }
}

/**
 * The `WSConnection.Service` Effect service as a `Face`, each operation run with `Effect.runSync`:
 * a failure's `events` are what the same input completed before it.
 */
export const wsServiceFace = (options: WSConnection.WSConnectionOptions): Face => {
  const service = Effect.runSync(WSConnection.makeService(options))
  const face = { failed: false }
  const run = <A>(
    effect: Effect.Effect<A, RemoteProtocolError | LocalProtocolError>
  ): A | RemoteProtocolError | LocalProtocolError =>
    Effect.runSync(Effect.either(effect)).pipe((result) => (Either.isLeft(result) ? result.left : result.right))
  const opened = () => {
    const state = Effect.runSync(service.state)
    return state !== ConnectionState.CONNECTING && state !== ConnectionState.REJECTING
  }
  const received = (result: ReadonlyArray<Events.Event> | RemoteProtocolError | LocalProtocolError, wasOpen: boolean) =>
    Array.isArray(result)
      ? (result as ReadonlyArray<Events.Event>)
      : classView(
        face,
        (result as RemoteProtocolError).events ?? [],
        result as RemoteProtocolError,
        wasOpen || opened()
      )
  return {
    state: () => Effect.runSync(service.state),
    send: (event) => {
      const result = run(service.send(event))
      if (result instanceof LocalProtocolError) throw result
      const sent = result as WSConnection.Sent
      const events = sent.error === undefined ? sent.events : classView(face, sent.events, sent.error, true)
      return { bytes: concatAll(sent.bytes), events }
    },
    receive: (data) => {
      const wasOpen = opened()
      return received(run(service.receive(data)), wasOpen)
    }
  }
}

/** The `Connection` reducer as a `Face`, fed `trailingData` first as the class is. */
export const connectionReducerFace = (
  options: Connection.ConnectionOptions,
  trailingData: Uint8Array = new Uint8Array(0)
): Face & { readonly initial: ReadonlyArray<Events.Event> } => {
  let state = Connection.make(options)
  const face = { failed: false }
  const receive = (data: Uint8Array | null): ReadonlyArray<Events.Event> => {
    const received = Connection.receive(state, data)
    const events = classView(face, received.events, received.error, true)
    state = received.state
    return events
  }
  const initial = trailingData.length > 0 ? receive(trailingData) : []
  return {
    initial,
    state: () => state.state,
    send: (event) => {
      const result = Connection.send(state, event)
      if (result.error !== undefined) throw result.error
      state = result.state
      return { bytes: concatAll(result.bytes), events: result.events }
    },
    receive
  }
}

/** The `Connection` class as a `Face`; `initial` holds the events of the trailing data. */
export const connectionClassFace = (
  connectionType: ConnectionType,
  options: Omit<Connection.ConnectionOptions, "connectionType" | "extensions"> = {},
  trailingData: Uint8Array = new Uint8Array(0)
): Face & { readonly initial: ReadonlyArray<Events.Event> } => {
  const connection = new Connection.Connection(connectionType, [], trailingData, options)
  return {
    initial: [...connection.events()],
    state: () => connection.state,
    send: (event) => ({ bytes: connection.send(event), events: [...connection.events()] }),
    receive: (data) => {
      connection.receiveData(data)
      return [...connection.events()]
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Wire helpers: reading frames back from bytes without the decoder under test

/** A frame as read back from the wire: header bits and the unmasked payload. */
export interface WireFrame {
  readonly fin: boolean
  /** RSV bits as `Frame.RSV1 | Frame.RSV2 | Frame.RSV3`. */
  readonly rsv: number
  readonly opcode: number
  readonly masked: boolean
  readonly payload: Uint8Array
}

/**
 * Reads the complete frames at the start of `bytes` (RFC 6455 §5.2), unmasking their payloads,
 * independently of the decoder under test; `rest` is what follows the last complete frame.
 */
export const parseWireFrames = (
  bytes: Uint8Array
): { readonly frames: Array<WireFrame>; readonly rest: Uint8Array } => {
  const frames: Array<WireFrame> = []
  let pos = 0
  while (bytes.length - pos >= 2) {
    const b0 = bytes[pos]!
    const b1 = bytes[pos + 1]!
    const masked = (b1 & 0x80) !== 0
    let length = b1 & 0x7f
    let offset = pos + 2
    if (length === 126) {
      if (bytes.length - offset < 2) break
      length = (bytes[offset]! << 8) | bytes[offset + 1]!
      offset += 2
    } else if (length === 127) {
      if (bytes.length - offset < 8) break
      length = Number(new DataView(bytes.buffer, bytes.byteOffset + offset, 8).getBigUint64(0))
      offset += 8
    }
    const key = masked ? bytes.subarray(offset, offset + 4) : undefined
    if (masked) offset += 4
    if (bytes.length - offset < length) break
    const body = bytes.subarray(offset, offset + length)
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >>> 4) & 0x7,
      opcode: b0 & 0x0f,
      masked,
      payload: key === undefined ? body.slice() : applyMask(body, key)
    })
    pos = offset + length
  }
  return { frames, rest: bytes.subarray(pos) }
}
