/**
 * Properties of the frame codec, checked with fast-check:
 * (a) what the encoder writes, the decoder of the other role reads back;
 * (b) the way a byte stream is cut into chunks does not change what is decoded;
 * (c) arbitrary bytes never make the decoder throw, and it only fails with 1002, 1007 or 1009;
 * (d) text pieces always hold whole code points, and the decoder accepts exactly valid UTF-8.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RemoteProtocolError } from "../src/Errors.js"
import * as Frame from "../src/Frame.js"
import {
  closePayload,
  concatAll,
  concatBytes,
  type Fed,
  feedAll,
  type Plain,
  plain,
  rawFrame,
  right,
  splitAt,
  toHex,
  utf8
} from "./helpers.js"

const otherRole = (role: Frame.Role): Frame.Role => (role === "client" ? "server" : "client")

/** Sorted, distinct cut offsets inside `length`, from arbitrary numbers. */
const cutsWithin = (length: number, raw: ReadonlyArray<number>): Array<number> =>
  length <= 1 ? [] : [...new Set(raw.map((n) => 1 + (n % (length - 1))))].sort((a, b) => a - b)

/**
 * Cuts `bytes` at offsets derived from `raw`, into fresh copies (so that chunks never share
 * memory), each at a different offset from a 4-byte boundary of its buffer, as pooled socket
 * buffers are.
 */
const cut = (bytes: Uint8Array, raw: ReadonlyArray<number>): Array<Uint8Array> =>
  splitAt(bytes, cutsWithin(bytes.length, raw)).map((chunk, i) => {
    const pad = (i + (raw[0] ?? 0)) % 4
    const copy = new Uint8Array(pad + chunk.length).subarray(pad)
    copy.set(chunk)
    return copy
  })

/** Data pieces merged into one event per message; control frames as they are. */
type MessageEvent = Plain

const byMessage = (frames: ReadonlyArray<Frame.Frame>): Array<MessageEvent> => {
  const out: Array<MessageEvent> = []
  let text = ""
  let bytes: Array<Uint8Array> = []
  for (const frame of frames) {
    if (frame._tag === "Text") {
      text += frame.data
      if (frame.messageFinished) {
        out.push({ _tag: "Text", data: text, frameFinished: true, messageFinished: true })
        text = ""
      }
    } else if (frame._tag === "Binary") {
      bytes.push(frame.data)
      if (frame.messageFinished) {
        out.push({ _tag: "Binary", data: toHex(concatAll(bytes)), frameFinished: true, messageFinished: true })
        bytes = []
      }
    } else {
      out.push(plain(frame))
    }
  }
  return out
}

/**
 * Data pieces merged into one event per wire frame (pieces up to `frameFinished`); control frames
 * as they are. The pieces of a frame left unfinished at the end are kept as a last, unfinished
 * event unless `dropPartial`.
 */
const byWireFrame = (frames: ReadonlyArray<Frame.Frame>, dropPartial: boolean): Array<Plain> => {
  const out: Array<Plain> = []
  let pending: { tag: "Text" | "Binary"; text: string; bytes: Array<Uint8Array> } | undefined
  for (const frame of frames) {
    if (frame._tag === "Text" || frame._tag === "Binary") {
      pending ??= { tag: frame._tag, text: "", bytes: [] }
      expect(pending.tag).toBe(frame._tag)
      if (frame._tag === "Text") pending.text += frame.data
      else pending.bytes.push(frame.data)
      if (frame.frameFinished) {
        out.push(merged(pending, true, frame.messageFinished))
        pending = undefined
      }
    } else {
      out.push(plain(frame))
    }
  }
  if (pending !== undefined && !dropPartial) out.push(merged(pending, false, false))
  return out
}

const merged = (
  pending: { tag: "Text" | "Binary"; text: string; bytes: Array<Uint8Array> },
  frameFinished: boolean,
  messageFinished: boolean
): Plain =>
  pending.tag === "Text"
    ? { _tag: "Text", data: pending.text, frameFinished, messageFinished }
    : { _tag: "Binary", data: toHex(concatAll(pending.bytes)), frameFinished, messageFinished }

const feedChunks = (options: Frame.DecoderOptions, chunks: ReadonlyArray<Uint8Array>): Fed =>
  feedAll(Frame.decoder(options), chunks)

// ---------------------------------------------------------------------------------------------
// Generators

/** Characters from every UTF-8 length, U+FEFF and U+FFFD included. */
const charArb: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      "a",
      "Z",
      " ",
      "\u0000",
      "é",
      "ñ",
      "€",
      "∂",
      "語",
      "😃",
      "🙈",
      "\ufeff",
      "\ufffd",
      "\u{10ffff}"
    ),
    weight: 3
  },
  { arbitrary: fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 1 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 2 }
)

const textArb = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: charArb, maxLength })

const smallTextArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: textArb(20), weight: 8 },
  { arbitrary: textArb(200), weight: 2 },
  { arbitrary: fc.integer({ min: 30000, max: 70000 }).map((n) => "€".repeat(n / 3 | 0) + "x"), weight: 1 }
)

const bytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 8 },
  { arbitrary: fc.uint8Array({ minLength: 100, maxLength: 400 }), weight: 2 },
  {
    arbitrary: fc.integer({ min: 65530, max: 70000 }).map((n) =>
      Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff)
    ),
    weight: 1
  }
)

const pingPayloadArb: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 125 })

/** One message sent as one or more pieces, with pings sent after some pieces. */
type Message =
  | { readonly kind: "text"; readonly pieces: ReadonlyArray<string>; readonly pings: ReadonlyArray<Uint8Array | null> }
  | {
    readonly kind: "binary"
    readonly pieces: ReadonlyArray<Uint8Array>
    readonly pings: ReadonlyArray<Uint8Array | null>
  }

const pingsArb = (n: number) => fc.array(fc.option(pingPayloadArb, { freq: 3 }), { minLength: n, maxLength: n })

const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc
    .array(smallTextArb, { minLength: 1, maxLength: 4 })
    .chain((pieces) => pingsArb(pieces.length).map((pings) => ({ kind: "text" as const, pieces, pings }))),
  fc
    .array(bytesArb, { minLength: 1, maxLength: 4 })
    .chain((pieces) => pingsArb(pieces.length).map((pings) => ({ kind: "binary" as const, pieces, pings })))
)

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999]

const closeArb = fc.option(
  fc.record({ code: fc.constantFrom(...VALID_CODES), reason: textArb(25) }),
  { freq: 3 }
)

// ---------------------------------------------------------------------------------------------
// (a) round trip

describe("(a) encode then decode", () => {
  it("the decoder of the other role reads back every message, ping and close the encoder wrote", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Frame.Role>("client", "server"),
        fc.option(fc.integer({ min: 1, max: 300 }), { freq: 2 }),
        fc.array(messageArb, { maxLength: 5 }),
        closeArb,
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        (role, fragmentSize, messages, closing, key, rawCuts, assembleMessages) => {
          let counter = 0
          const maskKey: Frame.MaskKeySource = () =>
            Uint8Array.of(key[0]!, key[1]!, key[2]!, (key[3]! + counter++) & 0xff)
          let encoder = Frame.encoder(
            fragmentSize === null ? { role, maskKey } : { role, maskKey, fragmentSize }
          )
          const wire: Array<Uint8Array> = []
          const expected: Array<MessageEvent> = []
          const write = (result: ReturnType<typeof Frame.encodeMessage>) => {
            const encoded = right(result)
            for (const chunk of encoded.bytes) wire.push(chunk)
            encoder = encoded.state
          }
          for (const message of messages) {
            message.pieces.forEach((piece, i) => {
              write(Frame.encodeMessage(encoder, piece, i === message.pieces.length - 1))
              const pingPayload = message.pings[i]
              if (pingPayload !== null && pingPayload !== undefined && i < message.pieces.length - 1) {
                write(Frame.encodePing(encoder, pingPayload))
                expected.push({ _tag: "Ping", payload: toHex(pingPayload) })
              }
            })
            expected.push(
              message.kind === "text"
                ? { _tag: "Text", data: message.pieces.join(""), frameFinished: true, messageFinished: true }
                : {
                  _tag: "Binary",
                  data: toHex(concatBytes(...message.pieces)),
                  frameFinished: true,
                  messageFinished: true
                }
            )
            const after = message.pings[message.pings.length - 1]
            if (after !== null && after !== undefined) {
              write(Frame.encodePong(encoder, after))
              expected.push({ _tag: "Pong", payload: toHex(after) })
            }
          }
          if (closing !== null) {
            write(Frame.encodeClose(encoder, closing.code, closing.reason))
            expected.push({ _tag: "Close", code: closing.code, reason: closing.reason })
            wire.push(Uint8Array.of(0xff, 0xff, 0xff))
          }
          const bytes = concatAll(wire)
          const fed = feedChunks(
            { role: otherRole(role), assembleMessages, maxFrameSize: Infinity, maxMessageSize: Infinity },
            cut(bytes, rawCuts)
          )
          expect(fed.error).toBeUndefined()
          if (assembleMessages) {
            expect(fed.frames.map(plain)).toEqual(expected)
          } else {
            expect(byMessage(fed.frames)).toEqual(expected)
          }
          if (closing === null) expect(Frame.isIdle(fed.state)).toBe(true)
        }
      ),
      { numRuns: 200 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Streams of wire frames for (b) and (c): mostly well-formed, sometimes broken.

interface Stream {
  readonly role: Frame.Role
  readonly bytes: Uint8Array
}

type FrameSpec = {
  readonly fin: boolean
  readonly rsv: number
  readonly opcode: number
  readonly payload: Uint8Array
}

/** `arbitrary` with probability `weight / (weight + nullWeight)`, else null. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, weight: number, nullWeight: number): fc.Arbitrary<T | null> =>
  fc.oneof({ arbitrary: fc.constant(null), weight: nullWeight }, { arbitrary, weight })

/** UTF-8-ish payloads: valid text, with invalid or truncated sequences mixed in sometimes. */
const utf8ishOf = (maxTokens: number): fc.Arbitrary<Uint8Array> =>
  fc
    .array(
      fc.oneof(
        { arbitrary: textArb(6).map(utf8), weight: 10 },
        {
          arbitrary: fc.constantFrom(
            [0xff],
            [0xc0, 0x80],
            [0xed, 0xa0, 0x80],
            [0xf4, 0x90, 0x80, 0x80],
            [0xe0, 0x80, 0x80],
            [0xf0, 0x80, 0x80, 0x80],
            [0xe2, 0x82],
            [0xf0, 0x9f, 0x98],
            [0x80],
            [0xef, 0xbf, 0xbd],
            [0xef, 0xbb, 0xbf]
          ).map((b) => Uint8Array.from(b)),
          weight: 1
        }
      ),
      { maxLength: maxTokens }
    )
    .map((parts) => concatAll(parts))

const utf8ishArb = utf8ishOf(8)

/** Short and long UTF-8-ish payloads (long ones exceed the sizes where decoders switch strategy). */
const utf8ishAnyArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { arbitrary: utf8ishOf(8), weight: 2 },
  { arbitrary: utf8ishOf(80), weight: 2 },
  {
    arbitrary: fc
      .tuple(utf8ishOf(4), fc.integer({ min: 1, max: 3000 }), utf8ishOf(4))
      .map(([head, n, tail]) => concatBytes(head, utf8("é€😃a".repeat(n)), tail)),
    weight: 1
  }
)

/** A message as wire frames: a TEXT or BINARY frame and CONTINUATION frames, with control frames between. */
const wireMessageArb: fc.Arbitrary<ReadonlyArray<FrameSpec>> = fc
  .tuple(
    fc.constantFrom(1, 2),
    fc.array(
      fc.oneof(
        { arbitrary: textArb(30).map(utf8), weight: 5 },
        { arbitrary: textArb(200).map(utf8), weight: 1 },
        { arbitrary: utf8ishArb, weight: 1 },
        { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 1 }
      ),
      {
        minLength: 1,
        maxLength: 4
      }
    ),
    fc.array(sometimes(fc.tuple(fc.constantFrom(9, 10), fc.uint8Array({ maxLength: 20 })), 1, 2), { maxLength: 4 })
  )
  .map(([opcode, payloads, controls]) => {
    const frames: Array<FrameSpec> = []
    payloads.forEach((payload, i) => {
      frames.push({ fin: i === payloads.length - 1, rsv: 0, opcode: i === 0 ? opcode : 0, payload })
      const control = controls[i]
      if (control !== null && control !== undefined) {
        frames.push({ fin: true, rsv: 0, opcode: control[0], payload: control[1] })
      }
    })
    return frames
  })

const closeSpecArb: fc.Arbitrary<FrameSpec> = fc
  .oneof(
    fc.constant(new Uint8Array(0)),
    fc.tuple(
      fc.constantFrom(...VALID_CODES, 999, 1005, 1006, 1015, 2999, 5000),
      utf8ishOf(40).map((b) => b.subarray(0, 123))
    ).map(
      ([code, reason]) => closePayload(code, reason)
    ),
    fc.uint8Array({ minLength: 1, maxLength: 1 })
  )
  .map((payload) => ({ fin: true, rsv: 0, opcode: 8, payload }))

/** A broken frame: bad opcode, RSV bit, fragmented or oversized control frame, stray continuation. */
const brokenSpecArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  fc.record({
    fin: fc.boolean(),
    rsv: fc.constant(0),
    opcode: fc.constantFrom(3, 4, 7, 0xb, 0xf),
    payload: fc.uint8Array({ maxLength: 5 })
  }),
  fc.record({
    fin: fc.constant(true),
    rsv: fc.constantFrom(1, 2, 4),
    opcode: fc.constantFrom(1, 2, 9),
    payload: fc.uint8Array({ maxLength: 5 })
  }),
  fc.record({
    fin: fc.constant(false),
    rsv: fc.constant(0),
    opcode: fc.constantFrom(8, 9, 10),
    payload: fc.uint8Array({ maxLength: 5 })
  }),
  fc.record({
    fin: fc.constant(true),
    rsv: fc.constant(0),
    opcode: fc.constantFrom(9, 10),
    payload: fc.uint8Array({ minLength: 126, maxLength: 130 })
  }),
  fc.record({
    fin: fc.boolean(),
    rsv: fc.constant(0),
    opcode: fc.constant(0),
    payload: fc.uint8Array({ maxLength: 5 })
  })
)

const streamArb: fc.Arbitrary<Stream> = fc
  .tuple(
    fc.constantFrom<Frame.Role>("client", "server"),
    fc.array(wireMessageArb, { maxLength: 4 }),
    sometimes(brokenSpecArb, 1, 4),
    sometimes(closeSpecArb, 1, 2),
    sometimes(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), 1, 5),
    fc.boolean(),
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
    sometimes(fc.uint8Array({ minLength: 1, maxLength: 10 }), 1, 3)
  )
  .map(([role, messages, broken, closing, corruption, wrongMask, key, trailer]) => {
    const specs: Array<FrameSpec> = messages.flat()
    if (broken !== null) specs.splice(specs.length === 0 ? 0 : key[0]! % (specs.length + 1), 0, broken)
    if (closing !== null) specs.push(closing)
    // A decoder of `role` expects masked frames from a client peer, that is when it is a server.
    const masked = (role === "server") !== (wrongMask && key[1]! % 8 === 0)
    const bytes = concatBytes(
      ...specs.map((spec) => rawFrame(masked ? { ...spec, mask: key } : spec)),
      trailer ?? new Uint8Array(0)
    )
    if (corruption !== null && bytes.length > 0) bytes[corruption[0] % bytes.length] = corruption[1]
    return { role, bytes }
  })

const limitsArb: fc.Arbitrary<Partial<Pick<Frame.DecoderOptions, "maxFrameSize" | "maxMessageSize">>> = fc.record(
  {
    maxFrameSize: fc.oneof(
      { arbitrary: fc.constantFrom(Infinity, Frame.DEFAULT_MAX_SIZE), weight: 4 },
      { arbitrary: fc.constantFrom(1, 20, 130, 300), weight: 1 }
    ),
    maxMessageSize: fc.oneof(
      { arbitrary: fc.constantFrom(Infinity, Frame.DEFAULT_MAX_SIZE), weight: 4 },
      { arbitrary: fc.constantFrom(1, 20, 300, 500), weight: 1 }
    )
  },
  { requiredKeys: [] }
)

// ---------------------------------------------------------------------------------------------
// (b) chunking does not matter

describe("(b) any split of a byte stream", () => {
  it("gives the same frames, once the pieces of each wire frame are merged, and the same error code", () => {
    fc.assert(
      fc.property(streamArb, limitsArb, fc.array(fc.nat(), { maxLength: 12 }), (stream, limits, rawCuts) => {
        const options: Frame.DecoderOptions = { role: stream.role, ...limits }
        const whole = feedChunks(options, [stream.bytes])
        const split = feedChunks(options, cut(stream.bytes, rawCuts))
        expect(split.error?.closeCode).toBe(whole.error?.closeCode)
        const failed = whole.error !== undefined
        expect(byWireFrame(split.frames, failed)).toEqual(byWireFrame(whole.frames, failed))
        if (!failed) expect(byMessage(split.frames)).toEqual(byMessage(whole.frames))
      }),
      { numRuns: 500 }
    )
  })

  it("gives exactly the same frames with assembleMessages", () => {
    fc.assert(
      fc.property(streamArb, limitsArb, fc.array(fc.nat(), { maxLength: 12 }), (stream, limits, rawCuts) => {
        const options: Frame.DecoderOptions = { role: stream.role, assembleMessages: true, ...limits }
        const whole = feedChunks(options, [stream.bytes])
        const split = feedChunks(options, cut(stream.bytes, rawCuts))
        expect(split.error?.closeCode).toBe(whole.error?.closeCode)
        expect(split.frames.map(plain)).toEqual(whole.frames.map(plain))
      }),
      { numRuns: 500 }
    )
  })

  it("one byte at a time gives the same result as the whole stream at once", () => {
    fc.assert(
      fc.property(streamArb, fc.boolean(), (stream, assembleMessages) => {
        const options: Frame.DecoderOptions = { role: stream.role, assembleMessages }
        const whole = feedChunks(options, [stream.bytes])
        const bytewise = feedChunks(options, cut(stream.bytes, Array.from(stream.bytes, (_, i) => i)))
        expect(bytewise.error?.closeCode).toBe(whole.error?.closeCode)
        const failed = whole.error !== undefined
        expect(byWireFrame(bytewise.frames, failed)).toEqual(byWireFrame(whole.frames, failed))
      }),
      { numRuns: 200 }
    )
  })

  it("unmasking in place gives the same frames as copying, for any split", () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { maxLength: 12 }), (stream, rawCuts) => {
        const copying = feedChunks({ role: stream.role }, cut(stream.bytes, rawCuts))
        const inPlace = feedChunks({ role: stream.role, unmaskInPlace: true }, cut(stream.bytes, rawCuts))
        expect(inPlace.error?.closeCode).toBe(copying.error?.closeCode)
        expect(inPlace.frames.map(plain)).toEqual(copying.frames.map(plain))
      }),
      { numRuns: 300 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// (c) arbitrary bytes

const ALLOWED_CODES = [1002, 1007, 1009]

const checkOutcome = (options: Frame.DecoderOptions, chunks: ReadonlyArray<Uint8Array>): void => {
  let state = Frame.decoder(options)
  let failure: RemoteProtocolError | undefined = undefined
  for (const chunk of chunks) {
    const result = Frame.decode(state, chunk)
    if (failure !== undefined) {
      expect(result.frames).toEqual([])
      expect(result.error).toBe(failure)
    }
    for (const frame of result.frames) {
      if (frame._tag === "Text") expect(typeof frame.data).toBe("string")
      else if (frame._tag === "Binary") expect(frame.data).toBeInstanceOf(Uint8Array)
      else if (frame._tag === "Close") {
        expect(frame.code === 1005 || Frame.isValidCloseCode(frame.code)).toBe(true)
      } else expect(frame.payload.length).toBeLessThanOrEqual(125)
    }
    if (result.error !== undefined) {
      expect(result.error).toBeInstanceOf(RemoteProtocolError)
      expect(ALLOWED_CODES).toContain(result.error.closeCode)
      failure = result.error
    }
    state = result.state
  }
}

describe("(c) arbitrary bytes", () => {
  it("never make the decoder throw, and end in frames or a RemoteProtocolError with 1002, 1007 or 1009", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Frame.Role>("client", "server"),
        fc.boolean(),
        limitsArb,
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (role, assembleMessages, limits, bytes, rawCuts) => {
          checkOutcome({ role, assembleMessages, ...limits }, [...cut(bytes, rawCuts), Uint8Array.of(0x81, 0x01, 0x61)])
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("corrupted frame streams never make the decoder throw, and fail only with 1002, 1007 or 1009", () => {
    fc.assert(
      fc.property(
        streamArb,
        fc.boolean(),
        limitsArb,
        fc.array(fc.nat(), { maxLength: 10 }),
        (stream, assembleMessages, limits, rawCuts) => {
          checkOutcome({ role: stream.role, assembleMessages, ...limits }, cut(stream.bytes, rawCuts))
        }
      ),
      { numRuns: 500 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// (d) whole code points

/** Whether a JS string is well-formed UTF-16 (no lone surrogates): UTF-8 round trip keeps it. */
const lenient = new TextDecoder("utf-8", { ignoreBOM: true })
const isWellFormed = (text: string): boolean => lenient.decode(utf8(text)) === text

/** Cuts `payload` into frames at offsets from `rawCuts`: a TEXT frame and CONTINUATION frames. */
const textFrames = (
  payload: Uint8Array,
  rawFrameCuts: ReadonlyArray<number>,
  role: Frame.Role,
  key: Uint8Array
): Uint8Array => {
  const pieces = payload.length === 0
    ? [payload]
    : splitAt(payload, cutsWithin(payload.length + 1, rawFrameCuts).filter((n) => n < payload.length))
  return concatBytes(
    ...pieces.map((piece, i) =>
      rawFrame({
        fin: i === pieces.length - 1,
        opcode: i === 0 ? 1 : 0,
        payload: piece,
        ...(role === "server" ? { mask: key } : {})
      })
    )
  )
}

describe("(d) text pieces", () => {
  it("always hold whole code points, and never hold U+FFFD unless the text did", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Frame.Role>("client", "server"),
        fc.oneof(textArb(60), textArb(600)),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (role, text, frameCuts, chunkCuts, key) => {
          const wire = textFrames(utf8(text), frameCuts, role, key)
          const fed = feedChunks({ role }, cut(wire, chunkCuts))
          expect(fed.error).toBeUndefined()
          const pieces = fed.frames.map((frame) => (frame._tag === "Text" ? frame.data : ""))
          for (const piece of pieces) {
            expect(isWellFormed(piece)).toBe(true)
            if (!text.includes("\ufffd")) expect(piece.includes("\ufffd")).toBe(false)
          }
          expect(pieces.join("")).toBe(text)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("are accepted exactly when the message is valid UTF-8, and then equal its strict decoding", () => {
    const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
    fc.assert(
      fc.property(
        fc.constantFrom<Frame.Role>("client", "server"),
        utf8ishAnyArb,
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.boolean(),
        (role, payload, frameCuts, chunkCuts, key, assembleMessages) => {
          let expected: string | undefined
          try {
            expected = strict.decode(payload)
          } catch {
            expected = undefined
          }
          const wire = textFrames(payload, frameCuts, role, key)
          const fed = feedChunks({ role, assembleMessages }, cut(wire, chunkCuts))
          if (expected === undefined) {
            expect(fed.error?.closeCode).toBe(1007)
          } else {
            expect(fed.error).toBeUndefined()
            const pieces = fed.frames.map((frame) => (frame._tag === "Text" ? frame.data : ""))
            pieces.forEach((piece) => expect(isWellFormed(piece)).toBe(true))
            expect(pieces.join("")).toBe(expected)
          }
        }
      ),
      { numRuns: 1000 }
    )
  })
})
