/**
 * permessage-deflate (RFC 7692), rule by rule: the options and the client's offer, the server's
 * acceptance and the client's check of the answer (through the hooks, `Extensions` and the whole
 * handshake), the RFC 7692 §7.2.3 examples byte for byte, the inbound and outbound hooks, the data
 * rules end to end, window bits, context takeover, the threshold and the compression level. Tests
 * name the wsproto test they follow, as wsproto tests/<file>::<test>, from wsproto's
 * tests/test_permessage_deflate.py or, where its tests are silent, the RFC section that governs the
 * behaviour, adapted where this implementation deliberately differs from wsproto (it declines what
 * it cannot satisfy instead of crashing, and control frames between fragments do not disturb
 * decompression).
 */
import * as crypto from "node:crypto"
import { performance } from "node:perf_hooks"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { ConnectionState, ConnectionType } from "../src/ConnectionState.js"
import { LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import * as Extensions from "../src/Extensions.js"
import * as Frame from "../src/Frame.js"
import * as Handshake from "../src/Handshake.js"
import * as PMD from "../src/PerMessageDeflate.js"
import * as WSConnection from "../src/WSConnection.js"
import {
  binaryData,
  closePayload,
  concatAll,
  concatBytes,
  decodeAll,
  encodedBytes,
  expectOk,
  type Fed,
  feed,
  fixedKey,
  hex,
  httpHead,
  latin1Text,
  parseWireFrames,
  rawFrame,
  repeatByte,
  right,
  toHex,
  utf8,
  type WireFrame
} from "./helpers.js"

const { CLIENT, SERVER } = ConnectionType
const { RSV1, RSV2, RSV3 } = Frame

const NONCE = new Uint8Array(16).fill(1)
/** `Sec-WebSocket-Accept` for NONCE, computed independently (RFC 6455 §4.2.2). */
const ACCEPT = crypto
  .createHash("sha1")
  .update(`${Buffer.from(NONCE).toString("base64")}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
  .digest("base64")
const MASK = hex("01 02 03 04")
/** RFC 7692 §7.2.1: what a sender removes from the end of each compressed message. */
const TAIL = hex("00 00 ff ff")
const X23 = repeatByte(0x78, 23)
const X23_DEFLATED = "aaa8c00a0000"

const HELLO = "f248cdc9c90700"
const HELLO_AGAIN = "f200110000"

type Options = PMD.PerMessageDeflateOptions

/** The parameters a negotiated (or un-negotiated) permessage-deflate instance agreed on. */
const agreedOf = (extension: Extensions.Extension): PMD.Agreed => {
  if (!("agreed" in extension)) throw new Error(`${extension.name} has no agreed parameters`)
  return (extension as Extensions.Extension & { readonly agreed: PMD.Agreed }).agreed
}

const agreed = (partial: Partial<PMD.Agreed> = {}): PMD.Agreed => ({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  ...partial
})

/** The parameters of a `permessage-deflate; ...` element. */
const parameters = (text: string): ReadonlyArray<Extensions.Parameter> => {
  const element = Extensions.parseElement(text === "" ? PMD.NAME : `${PMD.NAME}; ${text}`)
  if (element === undefined) throw new Error(`malformed element: ${text}`)
  return element.parameters
}

/** The value of a header in an HTTP head, or undefined. */
const headerValue = (head: string, name: string): string | undefined => {
  const line = head.split("\r\n").find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
  return line?.slice(name.length + 1).trim()
}

/**
 * Inflates a message's compressed payload with Node's zlib and the given window. The output comes
 * in chunks of 64 bytes, so that every match is read from zlib's window: with one large output
 * buffer zlib would copy matches from the buffer and not notice a distance beyond the window.
 */
const inflateWith = (payload: Uint8Array, windowBits: number): Uint8Array =>
  zlib.inflateRawSync(concatBytes(payload, TAIL), {
    windowBits,
    chunkSize: 64,
    finishFlush: zlib.constants.Z_SYNC_FLUSH
  })

/** Raw DEFLATE of `data` by Node's zlib, ended like a permessage-deflate message (§7.2.1). */
const deflateWith = (data: Uint8Array, options: zlib.ZlibOptions = {}): Uint8Array => {
  const out = zlib.deflateRawSync(data, { ...options, finishFlush: zlib.constants.Z_SYNC_FLUSH })
  expect(toHex(out.subarray(out.length - 4))).toBe("0000ffff")
  return new Uint8Array(out.subarray(0, out.length - 4))
}

/** Deterministic pseudo-random lowercase text (a linear congruential generator). */
const noise = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = 0x61 + (x >>> 24) % 26
  }
  return out
}

/** A block of noise repeated: its matches lie `block` bytes back, beyond a smaller window. */
const farRepeats = (block: number, times: number): Uint8Array =>
  concatAll(Array.from({ length: times }, () => noise(block, 42)))

// ---------------------------------------------------------------------------------------------
// Conversations: our client and our server, through WSConnection's class

interface PairOptions {
  readonly client?: Options | undefined
  /** Offer nothing from the client. */
  readonly noOffer?: boolean
  readonly server?: ReadonlyArray<Extensions.Extension>
  readonly clientConnection?: Partial<WSConnection.WSConnectionOptions>
  readonly serverConnection?: Partial<WSConnection.WSConnectionOptions>
}

interface Pair {
  readonly client: WSConnection.WSConnection
  readonly server: WSConnection.WSConnection
  readonly requestHead: string
  readonly responseHead: string
  /** The offers the server's `Request` event carried. */
  readonly offers: ReadonlyArray<string | Extensions.Extension>
  /** The extensions the client's `AcceptConnection` event carried. */
  readonly agreedByClient: ReadonlyArray<Extensions.Extension>
}

const pair = (options: PairOptions = {}): Pair => {
  const client = new WSConnection.WSConnection(CLIENT, {
    nonce: () => NONCE,
    maskKey: fixedKey(MASK),
    ...options.clientConnection
  })
  const server = new WSConnection.WSConnection(SERVER, { ...options.serverConnection })
  const offered = options.noOffer === true ? [] : [PMD.make(options.client ?? {})]
  const request = client.send(new Events.Request({ host: "localhost", target: "/", extensions: offered }))
  server.receiveData(request)
  const received = [...server.events()]
  expect(received.map((e) => e._tag)).toEqual(["Request"])
  const response = server.send(new Events.AcceptConnection({ extensions: options.server ?? [PMD.make()] }))
  client.receiveData(response)
  const accepted = [...client.events()]
  expect(accepted.map((e) => e._tag)).toEqual(["AcceptConnection"])
  expect(client.state).toBe(ConnectionState.OPEN)
  expect(server.state).toBe(ConnectionState.OPEN)
  return {
    client,
    server,
    requestHead: latin1Text(request),
    responseHead: latin1Text(response),
    offers: (received[0] as Events.Request).extensions,
    agreedByClient: (accepted[0] as Events.AcceptConnection).extensions
  }
}

/** Sends an event from one end and feeds the bytes to the other: the bytes and what it surfaced. */
const transfer = (
  from: WSConnection.WSConnection,
  to: WSConnection.WSConnection,
  event: Events.Event
): { readonly bytes: Uint8Array; readonly events: Array<Events.Event>; readonly frames: Array<WireFrame> } => {
  const bytes = from.send(event)
  to.receiveData(bytes)
  const parsed = parseWireFrames(bytes)
  expect(parsed.rest.length).toBe(0)
  return { bytes, events: [...to.events()], frames: parsed.frames }
}

/** The text of the text pieces, joined. */
const textOf = (events: ReadonlyArray<Events.Event>): string =>
  events.map((e) => (e._tag === "TextMessage" ? e.data : "")).join("")

/** The bytes of the binary pieces, joined. */
const bytesOf = (events: ReadonlyArray<Events.Event>): Uint8Array =>
  concatAll(events.flatMap((e) => (e._tag === "BytesMessage" ? [e.data] : [])))

const closeCodes = (events: ReadonlyArray<Events.Event>): Array<number> =>
  events.flatMap((e) => (e._tag === "CloseConnection" ? [e.code] : []))

/** A frame decoder with permessage-deflate framing over the given (un-negotiated) settings. */
const deflateDecoder = (role: Frame.Role, options: Options = {}, decoder: Partial<Frame.DecoderOptions> = {}) =>
  Frame.decoder({ ...decoder, role, extensions: [PMD.make(options)] })

const deflateEncoder = (role: Frame.Role, options: Options = {}, encoder: Partial<Frame.EncoderOptions> = {}) =>
  Frame.encoder({ ...encoder, role, maskKey: fixedKey(MASK), extensions: [PMD.make(options)] })

/** The frame a peer of `role` sends: masked when it is a client. */
const sent = (role: Frame.Role, frame: { fin: boolean; rsv?: number; opcode: number; payload: Uint8Array }) =>
  rawFrame(role === "client" ? { ...frame, mask: MASK } : frame)

/** Decodes, as `role`, frames its peer sends. */
const receiveAs = (
  role: Frame.Role,
  frames: ReadonlyArray<Uint8Array>,
  options: Options = {},
  decoder: Partial<Frame.DecoderOptions> = {}
): Fed => feed(deflateDecoder(role, options, decoder), ...frames)

const peerOf = (role: Frame.Role): Frame.Role => (role === "client" ? "server" : "client")

const expectError = (fed: Fed, closeCode: number, message?: RegExp): void => {
  expect(fed.error).toBeInstanceOf(RemoteProtocolError)
  expect(fed.error?.closeCode).toBe(closeCode)
  if (message !== undefined) expect(fed.error?.message).toMatch(message)
}

const textData = (fed: Fed): string => fed.frames.map((f) => (f._tag === "Text" ? f.data : "")).join("")

/** Encodes messages in order, as `role`, returning the wire frames of each. */
const encodeAll = (
  role: Frame.Role,
  options: Options,
  messages: ReadonlyArray<string | Uint8Array>,
  encoder: Partial<Frame.EncoderOptions> = {}
): Array<Array<WireFrame>> => {
  let state = deflateEncoder(role, options, encoder)
  return messages.map((message) => {
    const encoded = Frame.encodeMessage(state, message)
    if (encoded.error !== undefined) throw encoded.error
    state = encoded.state
    return parseWireFrames(concatAll(encoded.bytes)).frames
  })
}

// ---------------------------------------------------------------------------------------------

describe("options and the client's offer (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_offer, ::test_repr)", () => {
  it("is named permessage-deflate", () => {
    expect(PMD.NAME).toBe("permessage-deflate")
    expect(PMD.make().name).toBe("permessage-deflate")
  })

  // The parameter sets of wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_offer as options; a value-less server_max_window_bits is never offered (a server
  // must answer it with a value anyway), and the bare name needs client_max_window_bits off.
  const offers: ReadonlyArray<readonly [string, Options, string]> = [
    ["default: value-less client_max_window_bits", {}, "permessage-deflate; client_max_window_bits"],
    [
      "(1) both windows 15",
      { clientMaxWindowBits: 15, serverMaxWindowBits: 15 },
      "permessage-deflate; server_max_window_bits=15; client_max_window_bits=15"
    ],
    [
      "(2) client cnt, client mwb 9, server mwb 15",
      { clientNoContextTakeover: true, clientMaxWindowBits: 9, serverMaxWindowBits: 15 },
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=9"
    ],
    [
      "(3) client mwb 15, server cnt, server mwb 9",
      { clientMaxWindowBits: 15, serverNoContextTakeover: true, serverMaxWindowBits: 9 },
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=15"
    ],
    [
      "(4) everything",
      { clientNoContextTakeover: true, serverNoContextTakeover: true, clientMaxWindowBits: 9, serverMaxWindowBits: 9 },
      "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9"
    ],
    [
      "(5) client cnt and server mwb 9",
      { clientNoContextTakeover: true, serverMaxWindowBits: 9 },
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits"
    ],
    [
      "(6) server cnt and client mwb 9",
      { serverNoContextTakeover: true, clientMaxWindowBits: 9 },
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"
    ],
    [
      "(7) value-less client_max_window_bits",
      { clientMaxWindowBits: true },
      "permessage-deflate; client_max_window_bits"
    ],
    ["(8) nothing: the bare name", { clientMaxWindowBits: false }, "permessage-deflate"],
    [
      "threshold, level and memLevel are local",
      { threshold: 100, level: 9, memLevel: 1 },
      "permessage-deflate; client_max_window_bits"
    ]
  ]

  it.each(offers)("%s", (_, options, header) => {
    expect(Extensions.formatElement(PMD.NAME, PMD.make(options).offer!() ?? [])).toBe(header)
    const { requestHead } = pair({ client: options })
    expect(headerValue(requestHead, "Sec-WebSocket-Extensions")).toBe(header)
  })

  it.each([
    [{}, agreed()],
    [
      { clientNoContextTakeover: true, serverMaxWindowBits: 9 },
      agreed({ clientNoContextTakeover: true, serverMaxWindowBits: 9 })
    ],
    [
      { serverNoContextTakeover: true, clientMaxWindowBits: 9 },
      agreed({ serverNoContextTakeover: true, clientMaxWindowBits: 9 })
    ],
    [{ clientMaxWindowBits: true }, agreed()],
    [{ clientMaxWindowBits: false, serverMaxWindowBits: 12 }, agreed({ serverMaxWindowBits: 12 })]
  ] as ReadonlyArray<readonly [Options, PMD.Agreed]>)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_repr: used without negotiation, make(%j) frames with %j",
    (options, expected) => {
      expect(agreedOf(PMD.make(options))).toEqual(expected)
    }
  )

  it.each([
    ["serverMaxWindowBits 8 (zlib cannot compress with 8)", { serverMaxWindowBits: 8 }],
    ["serverMaxWindowBits 16", { serverMaxWindowBits: 16 }],
    ["serverMaxWindowBits 7", { serverMaxWindowBits: 7 }],
    ["serverMaxWindowBits 9.5", { serverMaxWindowBits: 9.5 }],
    ["serverMaxWindowBits NaN", { serverMaxWindowBits: NaN }],
    ["clientMaxWindowBits 8", { clientMaxWindowBits: 8 }],
    ["clientMaxWindowBits 16", { clientMaxWindowBits: 16 }],
    ["clientMaxWindowBits 0", { clientMaxWindowBits: 0 }],
    ["threshold -1", { threshold: -1 }],
    ["threshold NaN", { threshold: NaN }],
    ["level -1", { level: -1 }],
    ["level 10", { level: 10 }],
    ["level 1.5", { level: 1.5 }],
    ["memLevel 0", { memLevel: 0 }],
    ["memLevel 10", { memLevel: 10 }]
  ] as ReadonlyArray<readonly [string, Options]>)(
    "rejects the option %s with a LocalProtocolError (InvalidOption)",
    (_, options) => {
      expect(() => PMD.make(options)).toThrow(LocalProtocolError)
      expect(() => PMD.make(options)).toThrow(expect.objectContaining({ reason: "InvalidOption" }))
    }
  )

  it("accepts the boundaries of every option", () => {
    for (const bits of [9, 15]) {
      expect(() => PMD.make({ serverMaxWindowBits: bits, clientMaxWindowBits: bits })).not.toThrow()
    }
    expect(() => PMD.make({ threshold: 0, level: 0, memLevel: 1 })).not.toThrow()
    expect(() => PMD.make({ threshold: Infinity, level: 9, memLevel: 9 })).not.toThrow()
  })
})

describe("the server's acceptance (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_accept, ::test_accept_ignores_rubbish, RFC 7692 §7.1)", () => {
  /** Negotiates one offer against a server's settings: the answer header and the agreed parameters. */
  const negotiate = (offer: string, options: Options = {}) => {
    const result = Extensions.serverNegotiate([offer], [PMD.make(options)])
    return { header: result.header, agreed: result.extensions.map(agreedOf) }
  }

  const accepted: ReadonlyArray<readonly [string, Options, string, PMD.Agreed]> = [
    ["", {}, "permessage-deflate", agreed()],
    // Value-less: the client lets the server choose; a server with no preference answers nothing.
    ["client_max_window_bits", {}, "permessage-deflate", agreed()],
    [
      "client_max_window_bits",
      { clientMaxWindowBits: 12 },
      "permessage-deflate; client_max_window_bits=12",
      agreed({ clientMaxWindowBits: 12 })
    ],
    // The server may only lower the client's window (wsproto answered 14 here, RFC 7692 §7.1.2.2).
    [
      "client_max_window_bits=14",
      { clientMaxWindowBits: 12 },
      "permessage-deflate; client_max_window_bits=12",
      agreed({ clientMaxWindowBits: 12 })
    ],
    [
      "client_max_window_bits=10",
      { clientMaxWindowBits: 12 },
      "permessage-deflate; client_max_window_bits=10",
      agreed({ clientMaxWindowBits: 10 })
    ],
    [
      "client_max_window_bits=10",
      {},
      "permessage-deflate; client_max_window_bits=10",
      agreed({ clientMaxWindowBits: 10 })
    ],
    // A client compressing with 8 is fine: the server inflates with 9, which reads it.
    [
      "client_max_window_bits=8",
      {},
      "permessage-deflate; client_max_window_bits=8",
      agreed({ clientMaxWindowBits: 8 })
    ],
    // §7.1.2.2: not offered, so not answered, whatever the server would like; inflate with 15.
    ["", { clientMaxWindowBits: 10 }, "permessage-deflate", agreed()],
    [
      "",
      { serverNoContextTakeover: true },
      "permessage-deflate; server_no_context_takeover",
      agreed({ serverNoContextTakeover: true })
    ],
    [
      "server_no_context_takeover",
      {},
      "permessage-deflate; server_no_context_takeover",
      agreed({ serverNoContextTakeover: true })
    ],
    [
      "client_no_context_takeover",
      {},
      "permessage-deflate; client_no_context_takeover",
      agreed({ clientNoContextTakeover: true })
    ],
    [
      "",
      { clientNoContextTakeover: true },
      "permessage-deflate; client_no_context_takeover",
      agreed({ clientNoContextTakeover: true })
    ],
    [
      "server_max_window_bits=10; client_no_context_takeover",
      {},
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=10",
      agreed({ clientNoContextTakeover: true, serverMaxWindowBits: 10 })
    ],
    ["server_max_window_bits=15", {}, "permessage-deflate; server_max_window_bits=15", agreed()],
    [
      "server_max_window_bits=12",
      { serverMaxWindowBits: 10 },
      "permessage-deflate; server_max_window_bits=10",
      agreed({ serverMaxWindowBits: 10 })
    ],
    [
      "server_max_window_bits=9",
      { serverMaxWindowBits: 12 },
      "permessage-deflate; server_max_window_bits=9",
      agreed({ serverMaxWindowBits: 9 })
    ],
    // §7.1.2.1: the server may announce a smaller window even when the client did not ask.
    [
      "",
      { serverMaxWindowBits: 10 },
      "permessage-deflate; server_max_window_bits=10",
      agreed({ serverMaxWindowBits: 10 })
    ],
    [
      "server_max_window_bits=\"10\"",
      {},
      "permessage-deflate; server_max_window_bits=10",
      agreed({ serverMaxWindowBits: 10 })
    ],
    [
      "client_max_window_bits=\"9\"",
      {},
      "permessage-deflate; client_max_window_bits=9",
      agreed({ clientMaxWindowBits: 9 })
    ],
    // wsproto's own client offer (wsproto src/wsproto/extensions.py, PerMessageDeflate.offer).
    [
      "client_max_window_bits=15; server_max_window_bits=15",
      {},
      "permessage-deflate; server_max_window_bits=15; client_max_window_bits=15",
      agreed()
    ],
    [
      "client_no_context_takeover; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12",
      { serverMaxWindowBits: 13, clientMaxWindowBits: 10 },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10",
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 10 }
    ]
  ]

  it.each(accepted)("offer %j with settings %j → %s", (offer, options, header, expected) => {
    const result = negotiate(offer === "" ? PMD.NAME : `${PMD.NAME}; ${offer}`, options)
    expect(result.header).toBe(header)
    expect(result.agreed).toEqual([expected])
  })

  const declined: ReadonlyArray<readonly [string, string, Options]> = [
    [
      "an unknown parameter (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_accept_ignores_rubbish)",
      "permessage-deflate; worship_me",
      {}
    ],
    ["an unknown parameter with a value", "permessage-deflate; x=1", {}],
    ["an unknown parameter beside known ones", "permessage-deflate; client_max_window_bits; max_window_bits=10", {}],
    ["a duplicate flag", "permessage-deflate; client_no_context_takeover; client_no_context_takeover", {}],
    [
      "a duplicate server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      {}
    ],
    ["a duplicate window", "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11", {}],
    ["a duplicate client window", "permessage-deflate; client_max_window_bits; client_max_window_bits=10", {}],
    ["server_max_window_bits without a value", "permessage-deflate; server_max_window_bits", {}],
    ["server_max_window_bits=8 (zlib cannot compress with 8)", "permessage-deflate; server_max_window_bits=8", {}],
    ["server_max_window_bits=8 whatever the server's settings", "permessage-deflate; server_max_window_bits=8", {
      serverMaxWindowBits: 12
    }],
    ["server_max_window_bits=16", "permessage-deflate; server_max_window_bits=16", {}],
    ["server_max_window_bits=7", "permessage-deflate; server_max_window_bits=7", {}],
    ["server_max_window_bits=0", "permessage-deflate; server_max_window_bits=0", {}],
    ["server_max_window_bits=abc", "permessage-deflate; server_max_window_bits=abc", {}],
    ["server_max_window_bits=-9", "permessage-deflate; server_max_window_bits=-9", {}],
    ["server_max_window_bits=1e1", "permessage-deflate; server_max_window_bits=1e1", {}],
    ["server_max_window_bits=9.0", "permessage-deflate; server_max_window_bits=9.0", {}],
    ["client_max_window_bits=16", "permessage-deflate; client_max_window_bits=16", {}],
    ["client_max_window_bits=7", "permessage-deflate; client_max_window_bits=7", {}],
    ["client_max_window_bits=abc", "permessage-deflate; client_max_window_bits=abc", {}],
    ["a flag with a value", "permessage-deflate; client_no_context_takeover=1", {}],
    ["server_no_context_takeover with a value", "permessage-deflate; server_no_context_takeover=true", {}],
    ["an empty parameter", "permessage-deflate;; client_max_window_bits", {}],
    ["a parameter with no name", "permessage-deflate; =10", {}],
    ["a parameter with a space", "permessage-deflate; client max_window_bits", {}],
    ["an unterminated quoted value", "permessage-deflate; server_max_window_bits=\"10", {}],
    ["a quoted value that is no token", "permessage-deflate; server_max_window_bits=\"1 0\"", {}],
    [
      "a name that is no token (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_accept_ignores_rubbish)",
      "i am the lizard queen; worship me",
      {}
    ]
  ]

  it.each(declined)("declines %s", (_, offer, options) => {
    expect(negotiate(offer, options)).toEqual({ header: undefined, agreed: [] })
  })

  // RFC 7692 §7.1.2.1 and §7.1.2.2: "a decimal integer value without leading zeroes between 8 to
  // 15"; §7: a server MUST decline an offer with an invalid value.
  it.each([
    "permessage-deflate; server_max_window_bits=09",
    "permessage-deflate; server_max_window_bits=010",
    "permessage-deflate; client_max_window_bits=09",
    "permessage-deflate; client_max_window_bits=015"
  ])("declines a window value with a leading zero: %s", (offer) => {
    expect(negotiate(offer)).toEqual({ header: undefined, agreed: [] })
  })

  it("goes through the offers in order and takes the first it can satisfy, once", () => {
    const result = Extensions.serverNegotiate(
      [
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; unknown",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover",
        "permessage-deflate"
      ],
      [PMD.make()]
    )
    expect(result.header).toBe("permessage-deflate; client_max_window_bits=10")
    expect(result.extensions.map(agreedOf)).toEqual([agreed({ clientMaxWindowBits: 10 })])
  })

  it("declines everything when no offer can be satisfied", () => {
    const result = Extensions.serverNegotiate(
      ["permessage-deflate; server_max_window_bits=8", "permessage-deflate; bogus"],
      [PMD.make()]
    )
    expect(result.header).toBeUndefined()
    expect(result.extensions).toEqual([])
  })

  it("ignores offers of other extensions and malformed elements around its own", () => {
    const result = Extensions.serverNegotiate(
      ["x-webkit-deflate-frame", "permessage-deflate; =", "permessage-deflate; server_no_context_takeover"],
      [PMD.make()]
    )
    expect(result.header).toBe("permessage-deflate; server_no_context_takeover")
  })

  it("one configured extension serves any number of connections, each with its own agreement", () => {
    const configured = PMD.make({ serverMaxWindowBits: 12 })
    const a = Extensions.serverNegotiate(["permessage-deflate; server_max_window_bits=9"], [configured])
    const b = Extensions.serverNegotiate(["permessage-deflate; client_no_context_takeover"], [configured])
    expect(a.extensions.map(agreedOf)).toEqual([agreed({ serverMaxWindowBits: 9 })])
    expect(b.extensions.map(agreedOf)).toEqual([agreed({ serverMaxWindowBits: 12, clientNoContextTakeover: true })])
    expect(agreedOf(configured)).toEqual(agreed({ serverMaxWindowBits: 12 }))
    expect(a.extensions[0]).not.toBe(configured)
  })

  it("answers through the handshake: the 101 carries the answer to the first acceptable offer", () => {
    const server = new WSConnection.WSConnection(SERVER)
    server.receiveData(
      httpHead("GET / HTTP/1.1", [
        "Host: localhost",
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${Buffer.from(NONCE).toString("base64")}`,
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits=9",
        "Sec-WebSocket-Extensions: permessage-deflate"
      ])
    )
    const [request] = [...server.events()]
    expect((request as Events.Request).extensions).toEqual([
      "permessage-deflate; server_max_window_bits=8",
      "permessage-deflate; client_max_window_bits=9",
      "permessage-deflate"
    ])
    const response = latin1Text(server.send(new Events.AcceptConnection({ extensions: [PMD.make()] })))
    expect(headerValue(response, "Sec-WebSocket-Extensions")).toBe("permessage-deflate; client_max_window_bits=9")
  })

  it("a server that declines every offer sends no extension header and rejects RSV1 (RFC 6455 §5.2, §9.1)", () => {
    const server = new WSConnection.WSConnection(SERVER)
    server.receiveData(
      httpHead("GET / HTTP/1.1", [
        "Host: localhost",
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Key: ${Buffer.from(NONCE).toString("base64")}`,
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8"
      ])
    )
    expect([...server.events()].map((e) => e._tag)).toEqual(["Request"])
    const response = latin1Text(server.send(new Events.AcceptConnection({ extensions: [PMD.make()] })))
    expect(headerValue(response, "Sec-WebSocket-Extensions")).toBeUndefined()
    server.receiveData(sent("client", { fin: true, rsv: RSV1, opcode: 1, payload: hex(HELLO) }))
    const events = [...server.events()]
    expect(closeCodes(events)).toEqual([1002])
    expect((events[0] as Events.CloseConnection).reason).toBe("Reserved bit set unexpectedly")
  })
})

describe("the client's check of the answer (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_finalize, ::test_finalize_ignores_rubbish)", () => {
  const finalize = (options: Options, answer: string) => PMD.make(options).finalize!(parameters(answer))

  const accepted: ReadonlyArray<readonly [string, Options, string, PMD.Agreed]> = [
    ["the bare name", {}, "", agreed()],
    ["the bare name to the bare offer", { clientMaxWindowBits: false }, "", agreed()],
    ["server_max_window_bits=10 (not offered)", {}, "server_max_window_bits=10", agreed({ serverMaxWindowBits: 10 })],
    [
      "server_max_window_bits=9 under an offered 12",
      { serverMaxWindowBits: 12 },
      "server_max_window_bits=9",
      agreed({ serverMaxWindowBits: 9 })
    ],
    [
      "server_max_window_bits equal to the offer",
      { serverMaxWindowBits: 12 },
      "server_max_window_bits=12",
      agreed({ serverMaxWindowBits: 12 })
    ],
    // The client inflates with 9, which reads what a window of 8 produced.
    ["server_max_window_bits=8", {}, "server_max_window_bits=8", agreed({ serverMaxWindowBits: 8 })],
    // An offered window the server leaves unanswered: it may compress with up to 15.
    ["no server_max_window_bits to an offered 10", { serverMaxWindowBits: 10 }, "", agreed()],
    [
      "client_max_window_bits=9 to a value-less offer",
      {},
      "client_max_window_bits=9",
      agreed({ clientMaxWindowBits: 9 })
    ],
    [
      "client_max_window_bits=9 under an offered 10",
      { clientMaxWindowBits: 10 },
      "client_max_window_bits=9",
      agreed({ clientMaxWindowBits: 9 })
    ],
    [
      "client_max_window_bits equal to the offer",
      { clientMaxWindowBits: 10 },
      "client_max_window_bits=10",
      agreed({ clientMaxWindowBits: 10 })
    ],
    [
      "no client_max_window_bits to an offered 10: the client keeps 10",
      { clientMaxWindowBits: 10 },
      "",
      agreed({ clientMaxWindowBits: 10 })
    ],
    [
      "server_no_context_takeover as requested",
      { serverNoContextTakeover: true },
      "server_no_context_takeover",
      agreed({ serverNoContextTakeover: true })
    ],
    [
      "server_no_context_takeover unrequested (§7.1.1.1 allows it)",
      {},
      "server_no_context_takeover",
      agreed({ serverNoContextTakeover: true })
    ],
    [
      "client_no_context_takeover unoffered (§7.1.1.2 allows it)",
      {},
      "client_no_context_takeover",
      agreed({ clientNoContextTakeover: true })
    ],
    [
      "client_no_context_takeover offered, not echoed: the client still resets",
      { clientNoContextTakeover: true },
      "",
      agreed({ clientNoContextTakeover: true })
    ],
    [
      "quoted values",
      {},
      "server_max_window_bits=\"11\"; client_max_window_bits=\"12\"",
      agreed({ serverMaxWindowBits: 11, clientMaxWindowBits: 12 })
    ],
    [
      "(wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_finalize, set 4) everything",
      { clientNoContextTakeover: true, serverNoContextTakeover: true, clientMaxWindowBits: 9, serverMaxWindowBits: 9 },
      "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9",
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 }
    ]
  ]

  it.each(accepted)("takes %s", (_, options, answer, expected) => {
    const finalized = finalize(options, answer)
    if (finalized.error !== undefined) throw new Error(finalized.error)
    expect(finalized.extension.name).toBe(PMD.NAME)
    expect(agreedOf(finalized.extension)).toEqual(expected)
  })

  const rejected: ReadonlyArray<readonly [string, Options, string, string]> = [
    [
      "an unknown parameter (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_finalize_ignores_rubbish)",
      {},
      "worship_me",
      "unknown parameter worship_me"
    ],
    ["an unknown parameter with a value", {}, "max_window_bits=10", "unknown parameter max_window_bits"],
    [
      "a duplicate flag",
      {},
      "server_no_context_takeover; server_no_context_takeover",
      "duplicate parameter server_no_context_takeover"
    ],
    [
      "a duplicate window",
      {},
      "server_max_window_bits=10; server_max_window_bits=10",
      "duplicate parameter server_max_window_bits"
    ],
    ["server_max_window_bits=16", {}, "server_max_window_bits=16", "server_max_window_bits must be 8 to 15, got 16"],
    ["server_max_window_bits=7", {}, "server_max_window_bits=7", "server_max_window_bits must be 8 to 15, got 7"],
    ["server_max_window_bits=abc", {}, "server_max_window_bits=abc", "server_max_window_bits must be 8 to 15, got abc"],
    ["client_max_window_bits=16", {}, "client_max_window_bits=16", "client_max_window_bits must be 8 to 15, got 16"],
    ["a flag with a value", {}, "client_no_context_takeover=yes", "client_no_context_takeover takes no value"],
    [
      "a value-less server_max_window_bits",
      {},
      "server_max_window_bits",
      "server_max_window_bits needs a value in an answer"
    ],
    [
      "a window larger than offered",
      { serverMaxWindowBits: 10 },
      "server_max_window_bits=12",
      "server_max_window_bits=12 is larger than offered (10)"
    ],
    [
      "a client window larger than offered",
      { clientMaxWindowBits: 10 },
      "client_max_window_bits=12",
      "client_max_window_bits=12 is larger than offered (10)"
    ],
    [
      "client_max_window_bits when not offered",
      { clientMaxWindowBits: false },
      "client_max_window_bits=10",
      "client_max_window_bits answered but not offered"
    ],
    [
      "a value-less client_max_window_bits",
      {},
      "client_max_window_bits",
      "client_max_window_bits needs a value in an answer"
    ],
    [
      "client_max_window_bits=8 (zlib cannot compress with 8)",
      {},
      "client_max_window_bits=8",
      "cannot compress with an 8-bit window (zlib uses 9)"
    ],
    [
      "a missing server_no_context_takeover it requested",
      { serverNoContextTakeover: true },
      "",
      "server_no_context_takeover was requested but not answered"
    ],
    [
      "a missing server_no_context_takeover among other answers",
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
      "client_no_context_takeover; server_max_window_bits=10",
      "server_no_context_takeover was requested but not answered"
    ]
  ]

  it.each(rejected)("rejects %s", (_, options, answer, reason) => {
    expect(finalize(options, answer)).toEqual({ error: reason })
  })

  // RFC 7692 §7.1.2.1/§7.1.2.2 ("without leading zeroes") and §7: a client MUST fail the
  // connection on a response parameter with an invalid value.
  it.each(["server_max_window_bits=09", "server_max_window_bits=010", "client_max_window_bits=09"])(
    "rejects a window value with a leading zero: %s",
    (answer) => {
      expect(typeof finalize({}, answer).error).toBe("string")
    }
  )

  /** Our client offering `options`, answered by a 101 whose extension header is `answer`. */
  const answeredWith = (options: Options, answer: string | undefined) => {
    const state = WSConnection.make({ connectionType: CLIENT, nonce: () => NONCE, maskKey: fixedKey(MASK) })
    const request = expectOk(
      WSConnection.send(state, new Events.Request({ host: "localhost", target: "/", extensions: [PMD.make(options)] }))
    )
    const response = httpHead("HTTP/1.1 101 Switching Protocols", [
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${ACCEPT}`,
      ...(answer === undefined ? [] : [`Sec-WebSocket-Extensions: ${answer}`])
    ])
    return { state: request.state, response }
  }

  it.each(rejected)("fails the client handshake with a RemoteProtocolError on %s", (_, options, answer, reason) => {
    const { response, state } = answeredWith(options, answer === "" ? PMD.NAME : `${PMD.NAME}; ${answer}`)
    // The reducer.
    const received = WSConnection.receive(state, response)
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    expect(received.error?.message).toBe(`extension permessage-deflate: ${reason}`)
    // A handshake failure: no connection exists, so no close code (RFC 6455 §4.1, §9.1).
    expect((received.error as RemoteProtocolError).reason).toBe("InvalidHandshake")
    expect((received.error as RemoteProtocolError).closeCode).toBeUndefined()
    expect(received.events).toEqual([])
    expect(WSConnection.connectionState(received.state)).toBe(ConnectionState.CONNECTING)
    // The handshake reducer on its own.
    const handshake = Handshake.receive(state.handshake, response)
    expect(handshake.error?.message).toBe(`extension permessage-deflate: ${reason}`)
    // The class throws it.
    const ws = new WSConnection.WSConnection(CLIENT, { nonce: () => NONCE })
    ws.send(new Events.Request({ host: "localhost", target: "/", extensions: [PMD.make(options)] }))
    let thrown: unknown
    try {
      ws.receiveData(response)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RemoteProtocolError)
    expect((thrown as RemoteProtocolError).message).toBe(`extension permessage-deflate: ${reason}`)
    expect(ws.state).toBe(ConnectionState.CONNECTING)
  })

  it.each([
    ["accepted twice", `${PMD.NAME}, ${PMD.NAME}`, "extension permessage-deflate accepted twice"],
    ["an extension never offered", "x-webkit-deflate-frame", "unrecognized extension x-webkit-deflate-frame"],
    ["a malformed element", `${PMD.NAME}; =1`, `malformed extension "${PMD.NAME}; =1"`]
  ])("fails the client handshake on %s", (_, answer, message) => {
    const { response, state } = answeredWith({}, answer)
    const received = WSConnection.receive(state, response)
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    expect(received.error?.message).toBe(message)
  })

  it("opens with the agreed extension when the answer is acceptable", () => {
    const { response, state } = answeredWith(
      { serverMaxWindowBits: 12 },
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11"
    )
    const received = WSConnection.receive(state, response)
    expect(received.error).toBeUndefined()
    const [accept] = received.events
    expect(accept?._tag).toBe("AcceptConnection")
    expect((accept as Events.AcceptConnection).extensions.map(agreedOf)).toEqual([
      agreed({ serverMaxWindowBits: 10, clientMaxWindowBits: 11 })
    ])
    expect(WSConnection.connectionState(received.state)).toBe(ConnectionState.OPEN)
  })

  it("RFC 6455 §5.2, §9.1: an offer the 101 leaves out opens without the extension; RSV1 is then a protocol error", () => {
    const { response, state } = answeredWith({}, undefined)
    const received = WSConnection.receive(state, response)
    expect(received.error).toBeUndefined()
    expect((received.events[0] as Events.AcceptConnection).extensions).toEqual([])
    // Messages go out uncompressed.
    const hello = expectOk(WSConnection.send(received.state, new Events.TextMessage({ data: "Hello" })))
    expect(parseWireFrames(concatAll(hello.bytes)).frames.map((f) => [f.rsv, f.opcode])).toEqual([[0, 1]])
    const rsv1 = WSConnection.receive(hello.state, hex(`c1 07 ${HELLO}`))
    expect(rsv1.error).toBeInstanceOf(RemoteProtocolError)
    expect((rsv1.error as RemoteProtocolError).closeCode).toBe(1002)
    expect(rsv1.error?.message).toBe("Reserved bit set unexpectedly")
  })
})

describe("the handshake end to end (RFC 7692 §7.1)", () => {
  it("RFC 7692 §7.1: defaults on both sides agree on the defaults", () => {
    const { agreedByClient, client, offers, requestHead, responseHead, server } = pair()
    expect(headerValue(requestHead, "Sec-WebSocket-Extensions")).toBe("permessage-deflate; client_max_window_bits")
    expect(offers).toEqual(["permessage-deflate; client_max_window_bits"])
    expect(headerValue(responseHead, "Sec-WebSocket-Extensions")).toBe("permessage-deflate")
    expect(agreedByClient.map((e) => e.name)).toEqual([PMD.NAME])
    expect(agreedByClient.map(agreedOf)).toEqual([agreed()])
    // Both directions compressed.
    expect(transfer(client, server, new Events.TextMessage({ data: "Hello" })).frames.map((f) => f.rsv)).toEqual([RSV1])
    expect(toHex(transfer(server, client, new Events.TextMessage({ data: "Hello" })).bytes)).toBe(`c107${HELLO}`)
  })

  it("every parameter at once: both ends agree, and each compresses as agreed", () => {
    const { agreedByClient, client, responseHead, server } = pair({
      client: {
        clientNoContextTakeover: true,
        serverNoContextTakeover: true,
        serverMaxWindowBits: 12,
        clientMaxWindowBits: 11
      },
      server: [PMD.make({ serverMaxWindowBits: 10, clientMaxWindowBits: 9 })]
    })
    expect(headerValue(responseHead, "Sec-WebSocket-Extensions")).toBe(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"
    )
    const expected = {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 9
    }
    expect(agreedByClient.map(agreedOf)).toEqual([expected])
    // No context kept: the same message compresses the same way each time, in both directions.
    const first = transfer(server, client, new Events.TextMessage({ data: "Hello" }))
    const second = transfer(server, client, new Events.TextMessage({ data: "Hello" }))
    expect(toHex(first.bytes)).toBe(`c107${HELLO}`)
    expect(second.bytes).toEqual(first.bytes)
    expect(textOf(second.events)).toBe("Hello")
    const up1 = transfer(client, server, new Events.TextMessage({ data: "Hello" }))
    const up2 = transfer(client, server, new Events.TextMessage({ data: "Hello" }))
    expect(up1.frames).toEqual(up2.frames)
    expect(toHex(up2.frames[0]!.payload)).toBe(HELLO)
    expect(textOf(up2.events)).toBe("Hello")
  })

  it("a server that supports no extension answers none; both ends then send plain frames", () => {
    const { agreedByClient, client, responseHead, server } = pair({ server: [] })
    expect(headerValue(responseHead, "Sec-WebSocket-Extensions")).toBeUndefined()
    expect(agreedByClient).toEqual([])
    expect(transfer(client, server, new Events.TextMessage({ data: "Hello" })).frames.map((f) => f.rsv)).toEqual([0])
    expect(toHex(transfer(server, client, new Events.TextMessage({ data: "Hello" })).bytes)).toBe("810548656c6c6f")
  })

  it("a client that offers nothing gets nothing, even from a server that supports it", () => {
    const { client, offers, requestHead, responseHead, server } = pair({ noOffer: true })
    expect(headerValue(requestHead, "Sec-WebSocket-Extensions")).toBeUndefined()
    expect(offers).toEqual([])
    expect(headerValue(responseHead, "Sec-WebSocket-Extensions")).toBeUndefined()
    server.receiveData(hex(`c1 07 ${HELLO}`))
    expect(closeCodes([...server.events()])).toEqual([1002])
    client.receiveData(hex(`c1 07 ${HELLO}`))
    expect(closeCodes([...client.events()])).toEqual([1002])
  })
})

describe("RFC 7692 §7.2.3 examples", () => {
  it("§7.2.3.1: \"Hello\" compressed by a server is c1 07 f2 48 cd c9 c9 07 00", () => {
    expect(toHex(encodedBytes(Frame.encodeMessage(deflateEncoder("server"), "Hello")))).toBe(`c107${HELLO}`)
  })

  it("§7.2.3.1: compressed by a client, the same payload, masked", () => {
    const bytes = encodedBytes(Frame.encodeMessage(deflateEncoder("client"), "Hello"))
    expect(toHex(bytes.subarray(0, 6))).toBe("c18701020304")
    expect(parseWireFrames(bytes).frames).toEqual([{
      fin: true,
      rsv: RSV1,
      opcode: 1,
      masked: true,
      payload: hex(HELLO)
    }])
  })

  it("§7.2.3.2: the second \"Hello\" with context takeover is c1 05 f2 00 11 00 00", () => {
    for (const role of ["server", "client"] as const) {
      const [first, second] = encodeAll(role, {}, ["Hello", "Hello"])
      expect(first!.map((f) => toHex(f.payload))).toEqual([HELLO])
      expect(second!.map((f) => [f.rsv, toHex(f.payload)])).toEqual([[RSV1, HELLO_AGAIN]])
    }
  })

  it("§7.2.3.2: without context takeover the second \"Hello\" is compressed afresh", () => {
    expect(encodeAll("server", { serverNoContextTakeover: true }, ["Hello", "Hello"]).map((m) => toHex(m[0]!.payload)))
      .toEqual([HELLO, HELLO])
    expect(encodeAll("client", { clientNoContextTakeover: true }, ["Hello", "Hello"]).map((m) => toHex(m[0]!.payload)))
      .toEqual([HELLO, HELLO])
  })

  const examples: ReadonlyArray<
    readonly [string, ReadonlyArray<{ fin: boolean; rsv: number; opcode: number; payload: string }>]
  > = [
    ["§7.2.3.1 a message of one frame", [{ fin: true, rsv: RSV1, opcode: 1, payload: HELLO }]],
    ["§7.2.3.1 a fragmented message", [{ fin: false, rsv: RSV1, opcode: 1, payload: "f248cd" }, {
      fin: true,
      rsv: 0,
      opcode: 0,
      payload: "c9c90700"
    }]],
    ["§7.2.3.3 a stored block", [{ fin: true, rsv: RSV1, opcode: 1, payload: "000500faff48656c6c6f00" }]],
    ["§7.2.3.4 a block with BFINAL set", [{ fin: true, rsv: RSV1, opcode: 1, payload: "f348cdc9c9070000" }]]
  ]

  it.each(examples)("decodes %s, as client and server, whole and byte by byte", (_, frames) => {
    for (const role of ["client", "server"] as const) {
      const wire = concatAll(frames.map((f) => sent(peerOf(role), { ...f, payload: hex(f.payload) })))
      const whole = receiveAs(role, [wire])
      expect(whole.error).toBeUndefined()
      expect(textData(whole)).toBe("Hello")
      expect(whole.frames.at(-1)).toMatchObject({ _tag: "Text", messageFinished: true })
      const bytewise = receiveAs(role, Array.from(wire, (b) => new Uint8Array([b])))
      expect(bytewise.error).toBeUndefined()
      expect(textData(bytewise)).toBe("Hello")
      const assembled = receiveAs(role, [wire], {}, { assembleMessages: true })
      expect(assembled.frames).toEqual([{ _tag: "Text", data: "Hello", frameFinished: true, messageFinished: true }])
    }
  })

  it("§7.2.3.4: the BFINAL example is c1 08 f3 48 cd c9 c9 07 00 00", () => {
    const fed = decodeAll({ role: "client", extensions: [PMD.make()] }, hex("c1 08 f3 48 cd c9 c9 07 00 00"))
    expect(fed.error).toBeUndefined()
    expect(textData(fed)).toBe("Hello")
  })

  it("§7.2.3.1 fragmented: the pieces surface as they inflate", () => {
    const fed = receiveAs("client", [hex("41 03 f2 48 cd"), hex("80 04 c9 c9 07 00")])
    expect(fed.frames).toEqual([
      { _tag: "Text", data: "He", frameFinished: true, messageFinished: false },
      { _tag: "Text", data: "llo", frameFinished: true, messageFinished: true }
    ])
  })

  it("§7.2.3.2: the two messages with context takeover decode to \"Hello\" twice", () => {
    for (const role of ["client", "server"] as const) {
      const fed = receiveAs(role, [
        sent(peerOf(role), { fin: true, rsv: RSV1, opcode: 1, payload: hex(HELLO) }),
        sent(peerOf(role), { fin: true, rsv: RSV1, opcode: 1, payload: hex(HELLO_AGAIN) })
      ])
      expect(fed.error).toBeUndefined()
      expect(fed.frames.map((f) => (f._tag === "Text" ? f.data : f._tag))).toEqual(["Hello", "Hello"])
    }
  })

  // RFC 7692 §7.2.3.4 lets a sender flush with a BFINAL block. The DEFLATE stream has then ended,
  // and the sender's next message starts a new one; its data must not vanish.
  it("a message after one flushed with BFINAL is decoded, not dropped", () => {
    for (const second of [`c1 07 ${HELLO}`, "c1 08 f3 48 cd c9 c9 07 00 00"]) {
      const fed = decodeAll(
        { role: "client", extensions: [PMD.make()] },
        hex("c1 08 f3 48 cd c9 c9 07 00 00"),
        hex(second)
      )
      expect(fed.error).toBeUndefined()
      expect(fed.frames.map((f) => (f._tag === "Text" ? f.data : f._tag))).toEqual(["Hello", "Hello"])
    }
  })

  it("an empty message is the payload 00, both ways (RFC 7692 §7.2.3.6)", () => {
    expect(toHex(encodedBytes(Frame.encodeMessage(deflateEncoder("server"), "")))).toBe("c10100")
    expect(toHex(encodedBytes(Frame.encodeMessage(deflateEncoder("server"), new Uint8Array(0))))).toBe("c20100")
    expect(
      parseWireFrames(encodedBytes(Frame.encodeMessage(deflateEncoder("client"), ""))).frames.map((f) =>
        toHex(f.payload)
      )
    ).toEqual(["00"])
    expect(receiveAs("client", [hex("c1 01 00")]).frames).toEqual([{
      _tag: "Text",
      data: "",
      frameFinished: true,
      messageFinished: true
    }])
    expect(receiveAs("server", [sent("client", { fin: true, rsv: RSV1, opcode: 2, payload: hex("00") })]).frames)
      .toEqual([
        { _tag: "Binary", data: new Uint8Array(0), frameFinished: true, messageFinished: true }
      ])
  })

  // RFC 7692 §7.2.3.6: an empty message is the empty stored block's first byte, 00, also when the
  // compressor has already flushed earlier messages (zlib then declines a second, empty flush).
  it("an empty message after others, with context takeover, is still the payload 00", () => {
    for (const role of ["server", "client"] as const) {
      const messages = encodeAll(role, {}, ["Hello", "", "Hello", "", new Uint8Array(0)])
      expect(messages.map((m) => m.map((f) => [f.rsv, toHex(f.payload)]))).toEqual([
        [[RSV1, HELLO]],
        [[RSV1, "00"]],
        [[RSV1, HELLO_AGAIN]],
        [[RSV1, "00"]],
        [[RSV1, "00"]]
      ])
      // zlib, as a peer such as ws uses it, reads the stream of messages, each with its tail.
      const stream = concatAll(messages.flatMap((m) => [...m.map((f) => f.payload), TAIL]))
      expect(latin1Text(zlib.inflateRawSync(stream, { finishFlush: zlib.constants.Z_SYNC_FLUSH }))).toBe("HelloHello")
    }
  })

  // RFC 7692 §7.2.1 and §7.2.3.6: a compressed message always holds at least the header bits of
  // its last block (the payload 00 for an empty message), so an empty payload is no DEFLATE data;
  // appending 00 00 ff ff to it leaves a stored block half read. The message may be refused as
  // corrupt, or read as empty; the next, valid message must not pay for it either way.
  it("a compressed message with an empty payload does not corrupt the next message", () => {
    for (const role of ["client", "server"] as const) {
      const peer = peerOf(role)
      const empty = Frame.decode(
        deflateDecoder(role),
        sent(peer, { fin: true, rsv: RSV1, opcode: 1, payload: new Uint8Array(0) })
      )
      if (empty.error !== undefined) {
        expect(empty.error.closeCode).toBe(1007)
        continue
      }
      expect(empty.frames).toEqual([{ _tag: "Text", data: "", frameFinished: true, messageFinished: true }])
      const next = Frame.decode(empty.state, sent(peer, { fin: true, rsv: RSV1, opcode: 1, payload: hex(HELLO) }))
      expect(next.error).toBeUndefined()
      expect(next.frames).toEqual([{ _tag: "Text", data: "Hello", frameFinished: true, messageFinished: true }])
    }
  })

  it("wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_outbound_compress_single_frame: 23 × x compresses to aa a8 c0 0a 00 00 in both roles (RFC 7692 §7.2.1)", () => {
    expect(toHex(encodedBytes(Frame.encodeMessage(deflateEncoder("server"), X23)))).toBe(`c206${X23_DEFLATED}`)
    expect(parseWireFrames(encodedBytes(Frame.encodeMessage(deflateEncoder("client"), X23))).frames).toEqual([
      { fin: true, rsv: RSV1, opcode: 2, masked: true, payload: hex(X23_DEFLATED) }
    ])
  })
})

describe("inbound hooks (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_inbound_uncompressed_control_frame to ::test_decompressor_reset)", () => {
  const ext = PMD.make()
  type State = ReturnType<typeof ext.init>
  const header = (opcode: number, rsv: number, payloadLength = 0, fin = true) =>
    ({ fin, rsv, opcode, payloadLength }) as Extensions.InboundHeader

  /** Runs a whole frame through the hooks: the bytes surfaced, or the error. */
  const inbound = (
    e: Extensions.Extension<State>,
    state: State,
    h: Extensions.InboundHeader,
    payload: Uint8Array,
    budget = Infinity
  ): { bytes: Uint8Array; claimed: number } | RemoteProtocolError => {
    const headed = e.inboundHeader!(state, h)
    if (headed.error !== undefined) return headed.error
    const data = e.inboundPayload!(headed.state, payload, budget)
    if (data.error !== undefined) return data.error
    const done = e.inboundComplete!(data.state, h.fin, budget - data.value.length)
    if (done.error !== undefined) return done.error
    return { bytes: concatBytes(data.value, done.value ?? new Uint8Array(0)), claimed: headed.value }
  }

  /** The value of a hook that succeeded. */
  const valueOf = <A>(result: Extensions.HookResult<State, A, RemoteProtocolError>): A => {
    if (result.error !== undefined) throw result.error
    return result.value
  }

  it("wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_inbound_uncompressed_control_frame: a control frame without RSV1 claims nothing and passes untouched", () => {
    const state = ext.init("client")
    const headed = ext.inboundHeader!(state, header(0x9, 0, 23))
    expect(headed).toEqual({ state, value: 0 })
    const data = ext.inboundPayload!(state, X23, Infinity)
    expect(data).toEqual({ state, value: X23 })
    expect(valueOf(data)).toBe(X23)
    expect(ext.inboundComplete!(state, true, Infinity)).toEqual({ state, value: undefined })
  })

  it.each([[0x8, "CLOSE"], [0x9, "PING"], [0xa, "PONG"]])(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_inbound_compressed_control_frame: RSV1 on a control frame (0x%s %s) is 1002",
    (opcode) => {
      for (const role of ["client", "server"] as const) {
        const error = ext.inboundHeader!(ext.init(role), header(opcode, RSV1)).error
        expect(error).toBeInstanceOf(RemoteProtocolError)
        expect((error as RemoteProtocolError).closeCode).toBe(1002)
        expect((error as RemoteProtocolError).message).toBe("RSV1 set on a control frame")
      }
    }
  )

  it("wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_inbound_compressed_continuation_frame: RSV1 on a continuation frame is 1002", () => {
    const state = ext.init("client")
    const first = ext.inboundHeader!(state, header(0x1, RSV1, 3, false))
    expect(first).toEqual({ state, value: RSV1 })
    const error = ext.inboundHeader!(state, header(0x0, RSV1)).error
    expect(error).toBeInstanceOf(RemoteProtocolError)
    expect((error as RemoteProtocolError).closeCode).toBe(1002)
    expect((error as RemoteProtocolError).message).toBe("RSV1 set on a continuation frame")
  })

  it("wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_inbound_uncompressed_data_frame: a data frame without RSV1 claims RSV1 and passes untouched", () => {
    const state = ext.init("client")
    expect(inbound(ext, state, header(0x2, 0, 23), X23)).toEqual({ bytes: X23, claimed: RSV1 })
    // A continuation of an uncompressed message too.
    expect(inbound(ext, state, header(0x2, 0, 3, false), X23.subarray(0, 3))).toEqual({
      bytes: X23.subarray(0, 3),
      claimed: RSV1
    })
    expect(inbound(ext, state, header(0x0, 0, 20), X23.subarray(3))).toEqual({ bytes: X23.subarray(3), claimed: RSV1 })
  })

  it.each(["client", "server"] as const)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_client_inbound_compressed_single_data_frame (%s): a compressed BINARY inflates to 23 × x",
    (role) => {
      expect(inbound(ext, ext.init(role), header(0x2, RSV1, 6), hex(X23_DEFLATED))).toEqual({
        bytes: X23,
        claimed: RSV1
      })
    }
  )

  it.each(["client", "server"] as const)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_client_inbound_compressed_multiple_data_frames (%s): compressed fragments inflate across frames",
    (role) => {
      const state = ext.init(role)
      const first = inbound(ext, state, header(0x2, RSV1, 3, false), hex("aa a8 c0"))
      const second = inbound(ext, state, header(0x0, 0, 3, true), hex("0a 00 00"))
      if (first instanceof RemoteProtocolError || second instanceof RemoteProtocolError) throw new Error("failed")
      expect(first.claimed).toBe(RSV1)
      expect(second.claimed).toBe(RSV1)
      expect(concatBytes(first.bytes, second.bytes)).toEqual(X23)
      // A non-final frame's completion adds nothing.
      const again = ext.init(role)
      ext.inboundHeader!(again, header(0x2, RSV1, 3, false))
      ext.inboundPayload!(again, hex("aa a8 c0"), Infinity)
      expect(ext.inboundComplete!(again, false, Infinity)).toEqual({ state: again, value: undefined })
    }
  )

  it.each(["client", "server"] as const)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_client_decompress_after_uncompressible_frame (%s): after a control frame, a compressed TEXT inflates in its payload hook",
    (role) => {
      const state = ext.init(role)
      expect(inbound(ext, state, header(0x9, 0), new Uint8Array(0))).toEqual({ bytes: new Uint8Array(0), claimed: 0 })
      ext.inboundHeader!(state, header(0x1, RSV1, 6))
      const data = ext.inboundPayload!(state, hex(X23_DEFLATED), Infinity)
      expect(data).toEqual({ state, value: X23 })
      const done = ext.inboundComplete!(state, true, Infinity)
      expect(done.error).toBeUndefined()
      expect(valueOf(done) ?? new Uint8Array(0)).toEqual(new Uint8Array(0))
    }
  )

  it("wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_inbound_bad_zlib_payload: a payload that is not DEFLATE is 1007 in the payload hook", () => {
    const state = ext.init("client")
    ext.inboundHeader!(state, header(0x2, RSV1, 23))
    const error = ext.inboundPayload!(state, X23, Infinity).error
    expect(error).toBeInstanceOf(RemoteProtocolError)
    expect((error as RemoteProtocolError).closeCode).toBe(1007)
    expect((error as RemoteProtocolError).message).toMatch(/^Invalid compressed data: /)
  })

  it("wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_inbound_bad_zlib_decoder_end_state: data that only proves corrupt once the tail is appended is 1007 in the completion hook", () => {
    // A stored block announcing 5 bytes whose NLEN the appended 00 00 ff ff contradicts.
    const state = ext.init("client")
    ext.inboundHeader!(state, header(0x2, RSV1, 3))
    const data = ext.inboundPayload!(state, hex("00 05 00"), Infinity)
    expect(data).toEqual({ state, value: new Uint8Array(0) })
    const error = ext.inboundComplete!(state, true, Infinity).error
    expect(error).toBeInstanceOf(RemoteProtocolError)
    expect((error as RemoteProtocolError).closeCode).toBe(1007)
  })

  // The flag that matters is the peer's: server_no_context_takeover for a client, and
  // client_no_context_takeover for a server.
  it.each([
    ["client", { serverNoContextTakeover: true }, true],
    ["client", { clientNoContextTakeover: true }, false],
    ["client", {}, false],
    ["server", { clientNoContextTakeover: true }, true],
    ["server", { serverNoContextTakeover: true }, false],
    ["server", {}, false]
  ] as ReadonlyArray<readonly [Frame.Role, Options, boolean]>)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_decompressor_reset (%s, %j): the decompressor is dropped after a message: %s",
    (role, options, dropped) => {
      const e = PMD.make(options)
      const state = e.init(role)
      // An empty compressed message: the payload 00.
      expect(inbound(e, state, header(0x2, RSV1, 1), hex("00"))).toEqual({ bytes: new Uint8Array(0), claimed: RSV1 })
      expect(state.inflater === undefined).toBe(dropped)
      expect(inbound(e, state, header(0x2, RSV1, 6), hex(X23_DEFLATED))).toEqual({ bytes: X23, claimed: RSV1 })
      expect(state.inflater === undefined).toBe(dropped)
    }
  )

  it("a budget: the payload hook fails with 1009 once the output would pass it", () => {
    const fits = inbound(ext, ext.init("client"), header(0x2, RSV1, 6), hex(X23_DEFLATED), 23)
    expect(fits).toEqual({ bytes: X23, claimed: RSV1 })
    const state = ext.init("client")
    ext.inboundHeader!(state, header(0x2, RSV1, 6))
    const error = ext.inboundPayload!(state, hex(X23_DEFLATED), 22).error
    expect(error).toBeInstanceOf(RemoteProtocolError)
    expect((error as RemoteProtocolError).closeCode).toBe(1009)
  })

  it("a budget: the completion hook fails with 1009 when the flushed output passes it", () => {
    // A stored block of 4 bytes whose data is the appended 00 00 ff ff: all of the message's
    // output comes from the completion hook.
    const stored = hex("00 04 00 fb ff")
    const run = (budget: number) => {
      const state = ext.init("server")
      ext.inboundHeader!(state, header(0x2, RSV1, stored.length))
      expect(ext.inboundPayload!(state, stored, budget)).toEqual({ state, value: new Uint8Array(0) })
      return ext.inboundComplete!(state, true, budget)
    }
    const fits = run(4)
    expect(fits.error).toBeUndefined()
    expect(valueOf(fits)).toEqual(TAIL)
    const error = run(3).error
    expect(error).toBeInstanceOf(RemoteProtocolError)
    expect((error as RemoteProtocolError).closeCode).toBe(1009)
  })
})

describe("outbound hooks (wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_outbound_uncompressible_opcode to ::test_compressor_reset)", () => {
  const ext = PMD.make()
  type State = ReturnType<typeof ext.init>
  const out = (
    e: Extensions.Extension<State>,
    state: State,
    frame: Extensions.OutboundFrame
  ): Extensions.OutboundFrame => {
    const result = e.outbound!(state, frame)
    if (result.error !== undefined) throw new Error("outbound failed")
    return result.value
  }

  it.each([[0x8, closePayload(1000)], [0x9, X23], [0xa, X23]] as ReadonlyArray<readonly [Frame.Opcode, Uint8Array]>)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_outbound_uncompressible_opcode: a control frame (0x%s) goes out untouched",
    (opcode, payload) => {
      const frame = { fin: true, rsv: 0, opcode, payload }
      expect(out(ext, ext.init("server"), frame)).toBe(frame)
    }
  )

  it("RFC 7692 §6: pings, pongs and closes are not compressed on the wire", () => {
    const encoder = deflateEncoder("server")
    expect(toHex(encodedBytes(Frame.encodePing(encoder, utf8("abc"))))).toBe("8903616263")
    expect(toHex(encodedBytes(Frame.encodePong(encoder, utf8("abc"))))).toBe("8a03616263")
    expect(toHex(encodedBytes(Frame.encodeClose(encoder, 1000)))).toBe("880203e8")
  })

  it.each(["client", "server"] as const)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_outbound_compress_single_frame (%s): a BINARY of 23 × x gets RSV1 and aa a8 c0 0a 00 00",
    (role) => {
      expect(out(ext, ext.init(role), { fin: true, rsv: 0, opcode: 0x2, payload: X23 })).toEqual({
        fin: true,
        rsv: RSV1,
        opcode: 0x2,
        payload: hex(X23_DEFLATED)
      })
    }
  )

  it.each(["client", "server"] as const)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_outbound_compress_multiple_frames (%s): a fragmented message has RSV1 on its first frame only",
    (role) => {
      const state = ext.init(role)
      const first = out(ext, state, { fin: false, rsv: 0, opcode: 0x2, payload: X23.subarray(0, 12) })
      const last = out(ext, state, { fin: true, rsv: 0, opcode: 0x0, payload: X23.subarray(12) })
      expect([first.rsv, last.rsv]).toEqual([RSV1, 0])
      expect(toHex(concatBytes(first.payload, last.payload))).toBe(X23_DEFLATED)
      // Through the encoder, sending the message in pieces.
      let encoder = deflateEncoder(role)
      const a = right(Frame.encodeMessage(encoder, X23.subarray(0, 12), false))
      encoder = a.state
      const b = right(Frame.encodeMessage(encoder, X23.subarray(12), true))
      const frames = parseWireFrames(concatAll([...a.bytes, ...b.bytes])).frames
      expect(frames.map((f) => [f.fin, f.rsv, f.opcode])).toEqual([[false, RSV1, 2], [true, 0, 0]])
      expect(toHex(concatAll(frames.map((f) => f.payload)))).toBe(X23_DEFLATED)
    }
  )

  // The flag that matters is the sender's own: client_no_context_takeover for a client, and
  // server_no_context_takeover for a server.
  it.each([
    ["client", { clientNoContextTakeover: true }, true],
    ["client", { serverNoContextTakeover: true }, false],
    ["client", {}, false],
    ["server", { serverNoContextTakeover: true }, true],
    ["server", { clientNoContextTakeover: true }, false],
    ["server", {}, false]
  ] as ReadonlyArray<readonly [Frame.Role, Options, boolean]>)(
    "wsproto tests/test_permessage_deflate.py::TestPerMessageDeflate::test_compressor_reset (%s, %j): the compressor is dropped after a message: %s",
    (role, options, dropped) => {
      const e = PMD.make(options)
      const state = e.init(role)
      expect(out(e, state, { fin: false, rsv: 0, opcode: 0x2, payload: new Uint8Array(0) }).rsv).toBe(RSV1)
      expect(state.deflater).toBeDefined()
      expect(out(e, state, { fin: true, rsv: 0, opcode: 0x0, payload: new Uint8Array(0) }).rsv).toBe(0)
      expect(state.deflater === undefined).toBe(dropped)
      expect(out(e, state, { fin: true, rsv: 0, opcode: 0x2, payload: X23 }).rsv).toBe(RSV1)
      expect(state.deflater === undefined).toBe(dropped)
    }
  )
})

describe("data rules end to end (RFC 7692 §6, §7.2)", () => {
  it("RFC 7692 §7.2.1: 23 × x from the server and \"hello hello hello\" from the client", () => {
    const { client, server } = pair()
    const down = transfer(server, client, new Events.BytesMessage({ data: X23 }))
    expect(toHex(down.bytes)).toBe(`c206${X23_DEFLATED}`)
    expect(bytesOf(down.events)).toEqual(X23)
    const up = transfer(client, server, new Events.TextMessage({ data: "hello hello hello" }))
    expect(toHex(up.bytes.subarray(0, 2))).toBe("c18b")
    expect(textOf(up.events)).toBe("hello hello hello")
  })

  it("RFC 7692 §7.2.3.6: an empty text message is c1 01 00 and arrives as an empty TextMessage", () => {
    const { client, server } = pair()
    const down = transfer(server, client, new Events.TextMessage({ data: "" }))
    expect(toHex(down.bytes)).toBe("c10100")
    expect(down.events).toEqual([new Events.TextMessage({ data: "" })])
    const up = transfer(client, server, new Events.TextMessage({ data: "" }))
    expect(up.frames.map((f) => toHex(f.payload))).toEqual(["00"])
    expect(up.events).toEqual([new Events.TextMessage({ data: "" })])
  })

  it("RFC 7692 §7.1.1, §7.2.3.2: abcdefgh × 4 twice, with and without the server's context takeover", () => {
    const message = "abcdefgh".repeat(4)
    const withTakeover = pair()
    const a = transfer(withTakeover.server, withTakeover.client, new Events.TextMessage({ data: message }))
    const b = transfer(withTakeover.server, withTakeover.client, new Events.TextMessage({ data: message }))
    expect(toHex(a.bytes)).toBe("c10d4a4c4a4e494d4bcf48c4410300")
    expect(toHex(b.bytes)).toBe("c10422440300")
    expect([textOf(a.events), textOf(b.events)]).toEqual([message, message])
    const without = pair({ client: { serverNoContextTakeover: true } })
    const c = transfer(without.server, without.client, new Events.TextMessage({ data: message }))
    const d = transfer(without.server, without.client, new Events.TextMessage({ data: message }))
    expect(toHex(c.bytes)).toBe("c10d4a4c4a4e494d4bcf48c4410300")
    expect(toHex(d.bytes)).toBe("c10d4a4c4a4e494d4bcf48c4410300")
    expect([textOf(c.events), textOf(d.events)]).toEqual([message, message])
  })

  it("RFC 7692 §6.1: a message sent in pieces: 41 00 first, the data in the final frame", () => {
    const { client, server } = pair()
    const first = transfer(server, client, new Events.TextMessage({ data: "abc".repeat(10), messageFinished: false }))
    expect(toHex(first.bytes)).toBe("4100")
    expect(first.events).toEqual([new Events.TextMessage({ data: "", messageFinished: false })])
    const last = transfer(server, client, new Events.TextMessage({ data: "def".repeat(10) }))
    expect(toHex(last.bytes.subarray(0, 2))).toBe("800d")
    expect(last.events).toEqual([new Events.TextMessage({ data: "abc".repeat(10) + "def".repeat(10) })])
  })

  it("RFC 6455 §5.4, RFC 7692 §6.2, fixed where wsproto differs: control frames between compressed fragments do not disturb decompression", () => {
    for (const assembleMessages of [false, true]) {
      const { client, server } = pair({
        clientConnection: { assembleMessages },
        serverConnection: { assembleMessages }
      })
      const a = transfer(
        server,
        client,
        new Events.BytesMessage({ data: repeatByte(0x41, 40), messageFinished: false })
      )
      expect(a.frames.map((f) => [f.fin, f.rsv, f.opcode])).toEqual([[false, RSV1, 2]])
      const ping = transfer(server, client, new Events.Ping({ payload: utf8("p") }))
      expect(toHex(ping.bytes)).toBe("890170")
      const pong = transfer(server, client, new Events.Pong({ payload: utf8("q") }))
      const b = transfer(server, client, new Events.BytesMessage({ data: repeatByte(0x42, 40) }))
      expect(b.frames.map((f) => [f.fin, f.rsv, f.opcode])).toEqual([[true, 0, 0]])
      const events = [...a.events, ...ping.events, ...pong.events, ...b.events]
      expect(events.filter((e) => e._tag === "Ping" || e._tag === "Pong").map((e) => e._tag)).toEqual(["Ping", "Pong"])
      expect(bytesOf(events)).toEqual(concatBytes(repeatByte(0x41, 40), repeatByte(0x42, 40)))
      expect(closeCodes(events)).toEqual([])
      // The context survives too: the next message still inflates.
      const next = transfer(server, client, new Events.BytesMessage({ data: repeatByte(0x41, 40) }))
      expect(bytesOf(next.events)).toEqual(repeatByte(0x41, 40))
      // And a close in the middle of a compressed message is answered normally.
      const c = transfer(client, server, new Events.TextMessage({ data: "x".repeat(50), messageFinished: false }))
      const close = transfer(client, server, new Events.CloseConnection({ code: 1000 }))
      expect(close.frames.map((f) => [f.rsv, f.opcode, toHex(f.payload)])).toEqual([[0, 8, "03e8"]])
      expect(close.events).toEqual([new Events.CloseConnection({ code: 1000 })])
      expect(c.events.every((e) => e._tag === "TextMessage")).toBe(true)
    }
  })

  it("RFC 6455 §5.4, RFC 7692 §6.2, fixed where wsproto differs, on the wire: compressed fragment, PING, final continuation", () => {
    const a = deflateWith(concatBytes(repeatByte(0x41, 40), repeatByte(0x42, 40)))
    for (const role of ["client", "server"] as const) {
      const peer = peerOf(role)
      const fed = receiveAs(role, [
        sent(peer, { fin: false, rsv: RSV1, opcode: 2, payload: a.subarray(0, 2) }),
        sent(peer, { fin: true, opcode: 9, payload: utf8("p") }),
        sent(peer, { fin: false, opcode: 0, payload: a.subarray(2, 4) }),
        sent(peer, { fin: true, opcode: 10, payload: new Uint8Array(0) }),
        sent(peer, { fin: true, opcode: 0, payload: a.subarray(4) })
      ])
      expect(fed.error).toBeUndefined()
      expect(fed.frames.filter((f) => f._tag === "Ping" || f._tag === "Pong").map((f) => f._tag)).toEqual([
        "Ping",
        "Pong"
      ])
      expect(binaryData(fed.frames)).toEqual(concatBytes(repeatByte(0x41, 40), repeatByte(0x42, 40)))
    }
  })

  it("RFC 7692 §6, §7.2.2: what a client with the extension does with bad frames", () => {
    const bad = (...chunks: ReadonlyArray<string>) => receiveAs("client", chunks.map((c) => hex(c)))
    expectError(bad("c9 00"), 1002, /RSV1 set on a control frame/)
    expectError(bad("ca 00"), 1002, /RSV1 set on a control frame/)
    expectError(bad("c8 02 03 e8"), 1002, /RSV1 set on a control frame/)
    const continuation = bad("41 01 61", "c0 01 62")
    expect(continuation.frames).toEqual([{ _tag: "Text", data: "", frameFinished: true, messageFinished: false }])
    expectError(continuation, 1002, /RSV1 set on a continuation frame/)
    expectError(bad("c2 03 61 62 63"), 1007, /^Invalid compressed data/)
    expect(bad("82 03 61 62 63").frames).toEqual([{
      _tag: "Binary",
      data: utf8("abc"),
      frameFinished: true,
      messageFinished: true
    }])
    expectError(bad("e2 00"), 1002, /^Reserved bit set unexpectedly$/)
    expectError(bad("a2 00"), 1002, /^Reserved bit set unexpectedly$/)
    expectError(bad("92 00"), 1002, /^Reserved bit set unexpectedly$/)
  })

  it("RFC 7692 §6, §7.2.2 through the class: each violation is one CloseConnection with its code", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [["c9 00", 1002], ["c2 03 61 62 63", 1007], [
      "c1 01 ff",
      1007
    ], ["e2 00", 1002]]
    for (const [bytes, code] of cases) {
      const { client } = pair()
      client.receiveData(hex(bytes))
      expect(closeCodes([...client.events()])).toEqual([code])
    }
  })

  it("RSV1 without the extension is 1002, for either role", () => {
    for (const role of ["client", "server"] as const) {
      const wire = sent(peerOf(role), { fin: true, rsv: RSV1, opcode: 1, payload: hex(HELLO) })
      const fed = decodeAll({ role }, wire)
      expectError(fed, 1002, /^Reserved bit set unexpectedly$/)
    }
  })

  it("RSV2 and RSV3 stay errors with the extension", () => {
    for (const rsv of [RSV2, RSV3, RSV1 | RSV2, RSV1 | RSV3]) {
      expectError(
        receiveAs("server", [sent("client", { fin: true, rsv, opcode: 2, payload: hex(X23_DEFLATED) })]),
        1002,
        /^Reserved bit set unexpectedly$/
      )
    }
  })

  it("corrupt compressed data is 1007", () => {
    const corrupt = [
      "ff", // BFINAL with the reserved block type 11
      "06", // a reserved block type
      "05ff", // a dynamic block with too many length codes
      "010100fefe", // a final stored block whose NLEN is not LEN's complement
      "7800", // a stored block whose lengths do not match
      "fcffffff" // a dynamic block with impossible code lengths
    ]
    for (const payload of corrupt) {
      for (const role of ["client", "server"] as const) {
        const fed = receiveAs(role, [sent(peerOf(role), { fin: true, rsv: RSV1, opcode: 2, payload: hex(payload) })])
        expectError(fed, 1007, /^Invalid compressed data/)
      }
    }
  })

  it("a distance reaching before the start of the stream is 1007", () => {
    // The second "Hello" refers to the first; alone it reaches before the window's start.
    expectError(receiveAs("client", [hex(`c1 05 ${HELLO_AGAIN}`)]), 1007, /^Invalid compressed data/)
  })

  it("invalid UTF-8 in a compressed text message is 1007", () => {
    const fed = receiveAs("client", [
      sent("server", { fin: true, rsv: RSV1, opcode: 1, payload: deflateWith(hex("48 65 ff 6c")) })
    ])
    expectError(fed, 1007, /UTF-8/)
    // A code point split across the inflated pieces of a fragmented message is fine.
    const snow = deflateWith(utf8("a☃b😀"))
    const split = receiveAs("client", [
      sent("server", { fin: false, rsv: RSV1, opcode: 1, payload: snow.subarray(0, 3) }),
      sent("server", { fin: true, opcode: 0, payload: snow.subarray(3) })
    ])
    expect(split.error).toBeUndefined()
    expect(textData(split)).toBe("a☃b😀")
  })

  it("the message limit applies to the decompressed bytes: exactly the limit passes, one more is 1009", () => {
    const limit = 1000
    for (const assembleMessages of [false, true]) {
      for (const role of ["client", "server"] as const) {
        const exact = deflateWith(repeatByte(0x61, limit))
        const over = deflateWith(repeatByte(0x61, limit + 1))
        expect(over.length).toBeLessThan(20)
        const ok = receiveAs(role, [sent(peerOf(role), { fin: true, rsv: RSV1, opcode: 2, payload: exact })], {}, {
          maxMessageSize: limit,
          assembleMessages
        })
        expect(ok.error).toBeUndefined()
        expect(binaryData(ok.frames)).toEqual(repeatByte(0x61, limit))
        const failed = receiveAs(role, [sent(peerOf(role), { fin: true, rsv: RSV1, opcode: 2, payload: over })], {}, {
          maxMessageSize: limit,
          assembleMessages
        })
        expectError(failed, 1009)
        expect(binaryData(failed.frames).length).toBeLessThanOrEqual(limit)
      }
    }
  })

  it("the limit counts the whole message across its compressed fragments", () => {
    const limit = 1000
    const half = deflateWith(repeatByte(0x62, 600))
    // Two separately compressed halves make one valid stream (each ends on a sync flush).
    const wire = [
      sent("server", { fin: false, rsv: RSV1, opcode: 2, payload: concatBytes(half, TAIL) }),
      sent("server", { fin: true, opcode: 0, payload: half })
    ]
    const fed = receiveAs("client", wire, {}, { maxMessageSize: limit })
    expectError(fed, 1009)
    expect(binaryData(fed.frames).length).toBeLessThanOrEqual(limit)
    const roomy = receiveAs("client", wire, {}, { maxMessageSize: 1200 })
    expect(roomy.error).toBeUndefined()
    expect(binaryData(roomy.frames)).toEqual(repeatByte(0x62, 1200))
  })

  it("uncompressed messages still count against the limit with the extension", () => {
    const fed = receiveAs("client", [hex("82 05 61 62 63 64 65")], {}, { maxMessageSize: 4 })
    expectError(fed, 1009)
  })

  it("a small frame that inflates far past the limit fails quickly without producing the whole", () => {
    const bomb = deflateWith(new Uint8Array(64 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(100 * 1024)
    const started = performance.now()
    const fed = receiveAs("server", [sent("client", { fin: true, rsv: RSV1, opcode: 2, payload: bomb })], {}, {
      maxMessageSize: 1024 * 1024
    })
    expectError(fed, 1009)
    expect(binaryData(fed.frames).length).toBeLessThanOrEqual(1024 * 1024)
    // Inflating 64 MiB takes far longer than stopping after 1 MiB.
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it("the failure comes out of the class as a CloseConnection 1009", () => {
    const { client, server } = pair({ serverConnection: { maxMessageSize: 100 } })
    const up = transfer(client, server, new Events.BytesMessage({ data: new Uint8Array(101) }))
    expect(up.frames[0]!.payload.length).toBeLessThan(20)
    expect(closeCodes(up.events)).toEqual([1009])
  })
})

describe("window bits", () => {
  /** Client ↔ server, then the wire frames of one message from `from`. */
  const oneMessage = (options: PairOptions, direction: "up" | "down", data: Uint8Array) => {
    const { agreedByClient, client, server } = pair(options)
    const result = direction === "up"
      ? transfer(client, server, new Events.BytesMessage({ data }))
      : transfer(server, client, new Events.BytesMessage({ data }))
    expect(bytesOf(result.events)).toEqual(data)
    expect(result.frames.map((f) => f.rsv)).toEqual([RSV1])
    return { payload: result.frames[0]!.payload, agreed: agreedOf(agreedByClient[0]!) }
  }

  it("a client agreed to client_max_window_bits=9 compresses within a 9-bit window", () => {
    const message = farRepeats(700, 12)
    // Offered by the client, and chosen by the server when the client let it choose.
    for (
      const options of [{ client: { clientMaxWindowBits: 9 } }, { server: [PMD.make({ clientMaxWindowBits: 9 })] }]
    ) {
      const { agreed: a, payload } = oneMessage(options, "up", message)
      expect(a.clientMaxWindowBits).toBe(9)
      expect(inflateWith(payload, 9)).toEqual(Buffer.from(message))
    }
    // The check has teeth: with the default window the same message does not inflate with 9.
    const wide = oneMessage({}, "up", message).payload
    expect(() => inflateWith(wide, 9)).toThrow()
    expect(inflateWith(wide, 15)).toEqual(Buffer.from(message))
  })

  it("a server agreed to server_max_window_bits=9 compresses within a 9-bit window", () => {
    const message = farRepeats(700, 12)
    for (
      const options of [{ client: { serverMaxWindowBits: 9 } }, { server: [PMD.make({ serverMaxWindowBits: 9 })] }]
    ) {
      const { agreed: a, payload } = oneMessage(options, "down", message)
      expect(a.serverMaxWindowBits).toBe(9)
      expect(inflateWith(payload, 9)).toEqual(Buffer.from(message))
    }
    expect(() => inflateWith(oneMessage({}, "down", message).payload, 9)).toThrow()
  })

  it.each([9, 10, 11, 12, 13, 14, 15])("every window is honoured both ways: %i bits", (bits) => {
    // Repeats just beyond the window: a wider window would reach them.
    const message = farRepeats((1 << bits) + 64, 4)
    const up = oneMessage({ client: { clientMaxWindowBits: bits } }, "up", message)
    expect(up.agreed.clientMaxWindowBits).toBe(bits)
    expect(inflateWith(up.payload, bits)).toEqual(Buffer.from(message))
    const down = oneMessage({ client: { serverMaxWindowBits: bits } }, "down", message)
    expect(down.agreed.serverMaxWindowBits).toBe(bits)
    expect(inflateWith(down.payload, bits)).toEqual(Buffer.from(message))
    if (bits < 15) {
      const wider = deflateWith(message, { windowBits: 15 })
      expect(() => inflateWith(wider, bits)).toThrow()
    }
  })

  it("a window the peer agreed to and then exceeded is 1007", () => {
    const message = farRepeats(700, 12)
    const wide = deflateWith(message, { windowBits: 15 })
    const narrow = deflateWith(message, { windowBits: 9 })
    // A client that agreed to server_max_window_bits=9 inflates with 9.
    expectError(
      receiveAs("client", [sent("server", { fin: true, rsv: RSV1, opcode: 2, payload: wide })], {
        serverMaxWindowBits: 9
      }),
      1007
    )
    expect(
      binaryData(
        receiveAs("client", [sent("server", { fin: true, rsv: RSV1, opcode: 2, payload: narrow })], {
          serverMaxWindowBits: 9
        }).frames
      )
    ).toEqual(message)
    // A server that agreed to client_max_window_bits=9 likewise.
    expectError(
      receiveAs("server", [sent("client", { fin: true, rsv: RSV1, opcode: 2, payload: wide })], {
        clientMaxWindowBits: 9
      }),
      1007
    )
    // With 15 agreed, both inflate.
    expect(binaryData(receiveAs("client", [sent("server", { fin: true, rsv: RSV1, opcode: 2, payload: wide })]).frames))
      .toEqual(message)
  })

  it("an agreed window of 8 inflates what zlib produces for 8", () => {
    const message = farRepeats(300, 10)
    const eight = deflateWith(message, { windowBits: 8 })
    const offered = Extensions.serverNegotiate(["permessage-deflate; client_max_window_bits=8"], [PMD.make()])
    expect(offered.header).toBe("permessage-deflate; client_max_window_bits=8")
    const server = Frame.decoder({ role: "server", extensions: offered.extensions })
    const fed = feed(server, sent("client", { fin: true, rsv: RSV1, opcode: 2, payload: eight }))
    expect(fed.error).toBeUndefined()
    expect(binaryData(fed.frames)).toEqual(message)
    const finalized = PMD.make().finalize!(parameters("server_max_window_bits=8"))
    if (finalized.error !== undefined) throw new Error(finalized.error)
    const client = feed(
      Frame.decoder({ role: "client", extensions: [finalized.extension] }),
      sent("server", { fin: true, rsv: RSV1, opcode: 2, payload: eight })
    )
    expect(binaryData(client.frames)).toEqual(message)
  })
})

describe("context takeover", () => {
  const message = utf8(
    JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["alpha", "beta"] })))
  )

  /** Sends the message twice from `direction`'s sender: the two compressed payloads. */
  const twice = (options: PairOptions, direction: "up" | "down") => {
    const { client, server } = pair(options)
    const [from, to] = direction === "up" ? [client, server] : [server, client]
    return [0, 1].map(() => {
      const result = transfer(from, to, new Events.BytesMessage({ data: message }))
      expect(bytesOf(result.events)).toEqual(message)
      expect(result.frames.map((f) => f.rsv)).toEqual([RSV1])
      return result.frames[0]!.payload
    })
  }

  it("with takeover the second identical message is much smaller, in both directions", () => {
    for (const direction of ["up", "down"] as const) {
      const [first, second] = twice({}, direction)
      expect(second!.length * 5).toBeLessThan(first!.length)
    }
  })

  it("without the server's takeover, the server's second message is compressed afresh", () => {
    for (
      const options of [{ client: { serverNoContextTakeover: true } }, {
        server: [PMD.make({ serverNoContextTakeover: true })]
      }]
    ) {
      const [first, second] = twice(options, "down")
      expect(second).toEqual(first)
      // The client's direction keeps its context.
      const [up1, up2] = twice(options, "up")
      expect(up2!.length * 5).toBeLessThan(up1!.length)
    }
  })

  it("without the client's takeover, the client's second message is compressed afresh", () => {
    for (
      const options of [{ client: { clientNoContextTakeover: true } }, {
        server: [PMD.make({ clientNoContextTakeover: true })]
      }]
    ) {
      const [first, second] = twice(options, "up")
      expect(second).toEqual(first)
      const [down1, down2] = twice(options, "down")
      expect(down2!.length * 5).toBeLessThan(down1!.length)
    }
  })

  it("the decompressor is reset on the receiving side of the peer's flag only", () => {
    const hellos = (from: Frame.Role) => [
      sent(from, { fin: true, rsv: RSV1, opcode: 1, payload: hex(HELLO) }),
      sent(from, { fin: true, rsv: RSV1, opcode: 1, payload: hex(HELLO_AGAIN) })
    ]
    // A client told that the server resets its context inflates each message afresh: the
    // second "Hello", which refers to the first, then reaches outside its window.
    const reset = receiveAs("client", hellos("server"), { serverNoContextTakeover: true })
    expect(reset.frames.map((f) => (f._tag === "Text" ? f.data : f._tag))).toEqual(["Hello"])
    expectError(reset, 1007)
    // The client's own flag does not touch its decompressor.
    expect(textData(receiveAs("client", hellos("server"), { clientNoContextTakeover: true }))).toBe("HelloHello")
    // The same for a server.
    expectError(receiveAs("server", hellos("client"), { clientNoContextTakeover: true }), 1007)
    expect(textData(receiveAs("server", hellos("client"), { serverNoContextTakeover: true }))).toBe("HelloHello")
  })

  it("a fragmented message shares one context with the messages around it", () => {
    const { client, server } = pair({
      serverConnection: { fragmentSize: 100 },
      clientConnection: { fragmentSize: 100 }
    })
    for (const [from, to] of [[server, client], [client, server]] as const) {
      const first = transfer(from, to, new Events.BytesMessage({ data: message }))
      expect(first.frames.length).toBe(Math.ceil(message.length / 100))
      expect(first.frames.map((f) => f.rsv)).toEqual([RSV1, ...first.frames.slice(1).map(() => 0)])
      const second = transfer(from, to, new Events.BytesMessage({ data: message }))
      expect(bytesOf(first.events)).toEqual(message)
      expect(bytesOf(second.events)).toEqual(message)
      const size = (frames: ReadonlyArray<WireFrame>) => frames.reduce((n, f) => n + f.payload.length, 0)
      expect(size(second.frames) * 5).toBeLessThan(size(first.frames))
    }
  })
})

describe("threshold", () => {
  it("messages shorter than the threshold go out uncompressed, the rest compressed", () => {
    for (const role of ["server", "client"] as const) {
      const [short, exact, long] = encodeAll(role, { threshold: 10 }, ["123456789", "1234567890", "12345678901"])
      expect(short!.map((f) => [f.rsv, f.opcode])).toEqual([[0, 1]])
      expect(short![0]!.payload).toEqual(utf8("123456789"))
      expect(exact!.map((f) => f.rsv)).toEqual([RSV1])
      expect(long!.map((f) => f.rsv)).toEqual([RSV1])
    }
  })

  it("counts UTF-8 bytes", () => {
    const [four, five] = encodeAll("server", { threshold: 10 }, ["éééé", "ééééé"])
    expect(four![0]!.rsv).toBe(0)
    expect(five![0]!.rsv).toBe(RSV1)
    const [bytes] = encodeAll("server", { threshold: 10 }, [new Uint8Array(9)])
    expect(bytes!.map((f) => [f.rsv, f.opcode])).toEqual([[0, 2]])
  })

  it("compressed and uncompressed messages mix on one connection; the peer reads them all", () => {
    const { client, server } = pair({ server: [PMD.make({ threshold: 16 })], client: { threshold: 16 } })
    const messages = [
      "a long message that is compressed",
      "short",
      "",
      "a long message that is compressed",
      "tiny",
      "a long message that is compressed"
    ]
    for (const [from, to] of [[server, client], [client, server]] as const) {
      const rsvs: Array<number> = []
      for (const data of messages) {
        const result = transfer(from, to, new Events.TextMessage({ data }))
        expect(textOf(result.events)).toBe(data)
        rsvs.push(result.frames[0]!.rsv)
      }
      expect(rsvs).toEqual([RSV1, 0, 0, RSV1, 0, RSV1])
    }
  })

  it("the first piece of a message sent in pieces is compressed whatever its size", () => {
    const { client, server } = pair({ server: [PMD.make({ threshold: 100 })] })
    const a = transfer(server, client, new Events.TextMessage({ data: "ab", messageFinished: false }))
    const b = transfer(server, client, new Events.TextMessage({ data: "cd" }))
    expect([...a.frames, ...b.frames].map((f) => [f.rsv, f.opcode])).toEqual([[RSV1, 1], [0, 0]])
    expect(textOf([...a.events, ...b.events])).toBe("abcd")
  })

  it("a message shorter than the threshold goes out uncompressed even when split into fragments", () => {
    const [frames] = encodeAll("server", { threshold: 200 }, ["x".repeat(100)], { fragmentSize: 10 })
    expect(frames!.length).toBe(10)
    expect(frames!.map((f) => f.rsv)).toEqual(frames!.map(() => 0))
    expect(concatAll(frames!.map((f) => f.payload))).toEqual(utf8("x".repeat(100)))
  })
})

describe("compression level and memory level", () => {
  const message = concatBytes(utf8("hello hello hello "), farRepeats(300, 6))

  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])("level %i round-trips and inflates with zlib", (level) => {
    for (const role of ["server", "client"] as const) {
      const [frames] = encodeAll(role, { level }, [message])
      expect(frames!.map((f) => f.rsv)).toEqual([RSV1])
      const payload = frames![0]!.payload
      expect(inflateWith(payload, 15)).toEqual(Buffer.from(message))
      const fed = receiveAs(peerOf(role), [rawFrame({ ...frames![0]!, ...(role === "client" ? { mask: MASK } : {}) })])
      expect(binaryData(fed.frames)).toEqual(message)
    }
  })

  it("level 0 stores the data: a stored block holding the message", () => {
    const [frames] = encodeAll("server", { level: 0 }, ["hello hello hello"])
    expect(toHex(frames![0]!.payload)).toBe("001100eeff68656c6c6f2068656c6c6f2068656c6c6f00")
    const [large] = encodeAll("server", { level: 0 }, [message])
    expect(large![0]!.payload.length).toBeGreaterThan(message.length)
  })

  it("level 6 is the default, and higher levels do not compress worse on repetitive data", () => {
    const [byDefault] = encodeAll("server", {}, [message])
    const [six] = encodeAll("server", { level: 6 }, [message])
    expect(six).toEqual(byDefault)
    const [one] = encodeAll("server", { level: 1 }, [message])
    const [nine] = encodeAll("server", { level: 9 }, [message])
    expect(nine![0]!.payload.length).toBeLessThanOrEqual(one![0]!.payload.length)
  })

  it.each([1, 2, 5, 8, 9])("memLevel %i round-trips", (memLevel) => {
    const [frames] = encodeAll("server", { memLevel }, [message])
    expect(inflateWith(frames![0]!.payload, 15)).toEqual(Buffer.from(message))
    const fed = receiveAs("client", [rawFrame(frames![0]!)])
    expect(binaryData(fed.frames)).toEqual(message)
  })
})

describe("as a Connection's extension without negotiation", () => {
  it("frames with the defaults: context takeover both ways, 15-bit windows", () => {
    const server = Frame.encoder({ role: "server", extensions: [PMD.make()] })
    const first = right(Frame.encodeMessage(server, "Hello"))
    const second = right(Frame.encodeMessage(first.state, "Hello"))
    expect([toHex(concatAll(first.bytes)), toHex(concatAll(second.bytes))]).toEqual([
      `c107${HELLO}`,
      `c105${HELLO_AGAIN}`
    ])
    const client = feed(
      Frame.decoder({ role: "client", extensions: [PMD.make()] }),
      concatAll(first.bytes),
      concatAll(second.bytes)
    )
    expect(textData(client)).toBe("HelloHello")
  })

  it("each step's state carries the context on to the next message", () => {
    let state = Frame.encoder({ role: "server", extensions: [PMD.make()] })
    const payloads: Array<string> = []
    for (let i = 0; i < 3; i++) {
      const step = right(Frame.encodeMessage(state, "Hello"))
      payloads.push(toHex(parseWireFrames(concatAll(step.bytes)).frames[0]!.payload))
      state = step.state
    }
    expect(payloads[0]).toBe(HELLO)
    expect(payloads[1]).toBe(HELLO_AGAIN)
    const fed = feed(
      Frame.decoder({ role: "client", extensions: [PMD.make()] }),
      ...payloads.map((p) => rawFrame({ fin: true, rsv: RSV1, opcode: 1, payload: hex(p) }))
    )
    expect(textData(fed)).toBe("HelloHelloHello")
  })
})
