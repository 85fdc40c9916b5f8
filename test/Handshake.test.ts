/**
 * The opening handshake (RFC 6455 §4), rule by rule, both roles: the accept token, the client's
 * request byte for byte, the server's 101, every check of the server and of the client with the
 * exact status and headers of the rejection hinted at, rejections with their bodies on both sides,
 * IDNA hosts, the bytes after the handshake, `initiateUpgradeConnection`, the end of the input,
 * what may be sent in which state, the limits, header injection, the `H11Handshake` class and the
 * extension negotiation functions. Tests name the wsproto test they follow, as wsproto
 * tests/<file>::<test>, from wsproto's tests/test_handshake.py, test_client.py and test_server.py
 * or, where its tests are silent, the RFC section that governs the behaviour; where this port
 * deliberately differs from wsproto the test says so.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import { Connection } from "../src/Connection.js"
import { CLIENT, ConnectionState, SERVER, stateName } from "../src/ConnectionState.js"
import { type HandshakeReason, LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import * as Extensions from "../src/Extensions.js"
import type { Extension, Negotiation, Parameter } from "../src/Extensions.js"
import { H11Handshake } from "../src/H11Handshake.js"
import * as Handshake from "../src/Handshake.js"
import { sha1 } from "../src/internal/sha1.js"
import {
  concatAll,
  concatBytes,
  expectError,
  expectOk,
  hex,
  httpHead,
  latin1,
  latin1Text,
  plainEvent,
  plainEvents,
  rawFrame,
  receiveAll,
  repeatByte,
  sendOk,
  toHex,
  utf8
} from "./helpers.js"

// ---------------------------------------------------------------------------------------------
// Fixtures

/** RFC 6455 §1.3: the sample nonce, its key and its accept token. */
const RFC_NONCE = latin1("the sample nonce")
const RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/** The header lines of a valid request (RFC 6455 §4.1). */
const STD = [
  "Host: example.com",
  "Upgrade: websocket",
  "Connection: Upgrade",
  `Sec-WebSocket-Key: ${RFC_KEY}`,
  "Sec-WebSocket-Version: 13"
]

/** STD without the lines of the header `name`, with `extra` lines appended. */
const stdWithout = (name: string, ...extra: ReadonlyArray<string>): Array<string> => [
  ...STD.filter((line) => !line.toLowerCase().startsWith(`${name.toLowerCase()}:`)),
  ...extra
]

const request = (lines: ReadonlyArray<string> = STD, requestLine = "GET / HTTP/1.1"): Uint8Array =>
  httpHead(requestLine, lines)

/** A 101 answer to the RFC nonce, with `lines` after the three required ones. */
const response101 = (lines: ReadonlyArray<string> = [], accept = RFC_ACCEPT): Uint8Array =>
  httpHead("HTTP/1.1 101 Switching Protocols", [
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${accept}`,
    ...lines
  ])

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable"
}

const newServer = (options: Omit<Handshake.HandshakeOptions, "connectionType"> = {}): Handshake.HandshakeState =>
  Handshake.make({ ...options, connectionType: SERVER })

const newClient = (options: Omit<Handshake.HandshakeOptions, "connectionType"> = {}): Handshake.HandshakeState =>
  Handshake.make({ nonce: () => RFC_NONCE, ...options, connectionType: CLIENT })

/** The bytes a send wrote, or `undefined` when it failed. */
const sentBytes = (sent: Handshake.Sent): Uint8Array | undefined =>
  sent.error === undefined ? concatAll(sent.bytes) : undefined

const sendFails = (state: Handshake.HandshakeState, event: Events.Event): LocalProtocolError => {
  const error = expectError(Handshake.send(state, event))
  expect(error).toBeInstanceOf(LocalProtocolError)
  return error
}

/** A server that received `bytes` without error. */
const serverReceived = (bytes: Uint8Array = request()): Handshake.Received => {
  const received = Handshake.receive(newServer(), bytes)
  expect(received.error).toBeUndefined()
  return received
}

const GET_ROOT = new Events.Request({ host: "example.com", target: "/" })

/** A client that sent `event`. */
const clientSent = (event: Events.Request = GET_ROOT, options = {}): Handshake.HandshakeState =>
  sendOk(newClient(options), event).state

/** What a client that sent `event` makes of `inputs`. */
const clientReceives = (inputs: ReadonlyArray<Uint8Array | null>, event: Events.Request = GET_ROOT) =>
  receiveAll(clientSent(event), inputs)

/** A fake extension: a name, no framing hooks, the given negotiation hooks. */
const fakeExtension = (name: string, negotiation: Negotiation = {}): Extension => ({
  name,
  init: () => undefined,
  ...negotiation
})

const param = (name: string, value?: string): Parameter => ({ name, value })

/** A server extension that accepts every offer, echoing its parameters, and records them. */
const echoing = (name: string, calls: Array<ReadonlyArray<Parameter>> = []): Extension => {
  const extension: Extension = fakeExtension(name, {
    accept: (parameters) => {
      calls.push(parameters)
      return { extension, parameters }
    }
  })
  return extension
}

// Plain forms of the expected events.
const acceptEvent = (fields: Record<string, unknown> = {}) => ({
  _tag: "AcceptConnection",
  subprotocol: undefined,
  extensions: [],
  extraHeaders: [],
  ...fields
})
const rejectEvent = (statusCode: number, headers: Array<[string, string]> = [], hasBody = true) => ({
  _tag: "RejectConnection",
  statusCode,
  headers,
  hasBody
})
const dataEvent = (text: string, bodyFinished = false) => ({
  _tag: "RejectData",
  data: toHex(latin1(text)),
  bodyFinished
})
const requestEvent = (fields: Record<string, unknown>) => ({
  _tag: "Request",
  host: "example.com",
  target: "/",
  subprotocols: [],
  extensions: [],
  extraHeaders: [],
  ...fields
})

/** The server's extra headers for STD (names lowercased, Host left out). */
const STD_EXTRA = [
  ["upgrade", "websocket"],
  ["connection", "Upgrade"],
  ["sec-websocket-key", RFC_KEY],
  ["sec-websocket-version", "13"]
]

/**
 * Asserts that a server fails `bytes` with a RemoteProtocolError of `reason` whose hint is a
 * bodiless RejectConnection with `statusCode` and `headers`, that nothing is emitted and the state
 * stays CONNECTING, and that sending the hint writes the rejection and closes.
 */
const expectServerRejects = (
  bytes: Uint8Array,
  statusCode: number,
  reason: HandshakeReason,
  headers: Array<[string, string]> = [],
  message?: string | RegExp
): RemoteProtocolError => {
  const received = Handshake.receive(newServer(), bytes)
  expect(received.events).toEqual([])
  if (message !== undefined) expect(received.error?.message).toMatch(message)
  return expectHintCloses(received, statusCode, reason, headers)
}

/**
 * Asserts that `received` failed with a RemoteProtocolError of `reason` with `statusCode` and no
 * close code (no connection exists), whose hint is a bodiless RejectConnection with `statusCode`
 * and `headers`, the state still CONNECTING, and that sending the hint from that state writes the
 * rejection and closes.
 */
const expectHintCloses = (
  received: { readonly state: Handshake.HandshakeState; readonly error: unknown },
  statusCode: number,
  reason: HandshakeReason,
  headers: Array<[string, string]> = []
): RemoteProtocolError => {
  expect(received.error).toBeInstanceOf(RemoteProtocolError)
  const error = received.error as RemoteProtocolError
  expect(error.reason).toBe(reason)
  expect(error.statusCode).toBe(statusCode)
  expect(error.closeCode).toBeUndefined()
  expect(error.eventHint).toBeInstanceOf(Events.RejectConnection)
  expect(plainEvent(error.eventHint!)).toEqual(rejectEvent(statusCode, headers, false))
  expect(Handshake.state(received.state)).toBe(ConnectionState.CONNECTING)
  const sent = sendOk(received.state, error.eventHint!)
  const lines = headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")
  expect(latin1Text(sent.bytes)).toBe(
    `HTTP/1.1 ${statusCode} ${REASONS[statusCode]}\r\n${lines}content-length: 0\r\n\r\n`
  )
  expect(Handshake.state(sent.state)).toBe(ConnectionState.CLOSED)
  return error
}

const exactMessage = (text: string): RegExp => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`)

// ---------------------------------------------------------------------------------------------

describe("the accept token (RFC 6455 §1.3, §4.2.2)", () => {
  it("the RFC 6455 §1.3 sample key dGhlIHNhbXBsZSBub25jZQ== gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo= (RFC 6455 §4.1, §4.2.2)", () => {
    expect(Handshake.acceptToken(RFC_KEY)).toBe(RFC_ACCEPT)
  })

  it("the token is base64 of SHA-1 over the key and the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11", () => {
    const key = "x3JJHMbDL1EzLkh9GBhXDw=="
    const digest = sha1(latin1(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`))
    expect(Handshake.acceptToken(key)).toBe(Buffer.from(digest).toString("base64"))
    expect(Handshake.acceptToken(key)).toBe("HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
  })

  it("SHA-1 gives the FIPS 180-2 test vectors, across the padding boundaries of one and two blocks", () => {
    expect(toHex(sha1(new Uint8Array(0)))).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    expect(toHex(sha1(latin1("abc")))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d")
    expect(toHex(sha1(latin1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe(
      "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
    )
    expect(toHex(sha1(repeatByte(0x61, 1_000_000)))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    for (const length of [55, 56, 63, 64, 65]) {
      expect(toHex(sha1(repeatByte(0x61, length)))).toBe(
        createHash("sha1").update("a".repeat(length)).digest("hex")
      )
    }
  })

  it("the default nonce is 16 fresh random bytes, base64 in Sec-WebSocket-Key (RFC 6455 §4.1, §4.2.2)", () => {
    const key = (bytes: Uint8Array) => /Sec-WebSocket-Key: (.*)\r\n/.exec(latin1Text(bytes))?.[1] ?? ""
    const first = key(sendOk(Handshake.make({ connectionType: CLIENT }), GET_ROOT).bytes)
    const second = key(sendOk(Handshake.make({ connectionType: CLIENT }), GET_ROOT).bytes)
    expect(first).toMatch(/^[A-Za-z0-9+/]{22}==$/)
    expect(Buffer.from(first, "base64")).toHaveLength(16)
    expect(second).not.toBe(first)
  })
})

describe("the client's request (RFC 6455 §4.1)", () => {
  it("is written byte for byte: request line, Host, Upgrade, Connection, key, version, subprotocols, offers, extra headers", () => {
    const sent = sendOk(
      newClient(),
      new Events.Request({
        host: "example.com",
        target: "/chat?x=1",
        subprotocols: ["chat", "superchat"],
        extensions: [
          fakeExtension("fake", { offer: () => [] }),
          fakeExtension("fake2", { offer: () => [param("a", "1"), param("b")] }),
          fakeExtension("declined", { offer: () => undefined }),
          fakeExtension("silent")
        ],
        extraHeaders: [["Origin", "http://o"], ["X-Foo", "Bar"]]
      })
    )
    expect(latin1Text(sent.bytes)).toBe(
      "GET /chat?x=1 HTTP/1.1\r\n" +
        "Host: example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Extensions: fake, fake2; a=1; b\r\n" +
        "Origin: http://o\r\n" +
        "X-Foo: Bar\r\n" +
        "\r\n"
    )
    expect(Handshake.state(sent.state)).toBe(ConnectionState.CONNECTING)
  })

  it("a bare request has only the five handshake headers (wsproto tests/test_client.py::test_connection_request)", () => {
    expect(latin1Text(sendOk(newClient(), GET_ROOT).bytes)).toBe(
      `GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`
    )
  })

  it("extra headers are appended verbatim, case kept (wsproto tests/test_client.py::test_connection_request_additional_headers)", () => {
    const sent = sendOk(
      newClient(),
      new Events.Request({ ...GET_ROOT, extraHeaders: [["X-Foo", "Bar"], ["x-bar", "Foo"]] })
    )
    expect(latin1Text(sent.bytes)).toMatch(/Sec-WebSocket-Version: 13\r\nX-Foo: Bar\r\nx-bar: Foo\r\n\r\n$/)
  })

  it("an extension offering no parameters is offered by its bare name (wsproto tests/test_client.py::test_connection_request_simple_extension)", () => {
    const sent = sendOk(
      newClient(),
      new Events.Request({ ...GET_ROOT, extensions: [fakeExtension("fake", { offer: () => [] })] })
    )
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Extensions: fake\r\n")
  })

  it("an extension whose offer gives undefined, or that has no offer hook, is not offered: no extensions header (wsproto tests/test_client.py::test_connection_request_simple_extension_no_offer)", () => {
    const extensions = [fakeExtension("fake", { offer: () => undefined }), fakeExtension("other")]
    const sent = sendOk(newClient(), new Events.Request({ ...GET_ROOT, extensions }))
    expect(latin1Text(sent.bytes)).not.toContain("Sec-WebSocket-Extensions")
  })

  it("an extension's parameters are written `name; p=v; flag` (wsproto tests/test_client.py::test_connection_request_parametrised_extension)", () => {
    const offer = () => [param("parameter1", "value1"), param("parameter2", "value2")]
    const sent = sendOk(
      newClient(),
      new Events.Request({ ...GET_ROOT, extensions: [fakeExtension("fake", { offer })] })
    )
    expect(latin1Text(sent.bytes)).toContain(
      "\r\nSec-WebSocket-Extensions: fake; parameter1=value1; parameter2=value2\r\n"
    )
  })

  it("subprotocols are joined with ', ' in the order given (wsproto tests/test_client.py::test_connection_request_subprotocols)", () => {
    const sent = sendOk(newClient(), new Events.Request({ ...GET_ROOT, subprotocols: ["one", "two"] }))
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Protocol: one, two\r\n")
  })

  it("an extension given as a string is a LocalProtocolError (a client offers Extension values)", () => {
    sendFails(newClient(), new Events.Request({ ...GET_ROOT, extensions: ["permessage-deflate"] }))
  })

  it("a nonce source that does not give 16 bytes is a LocalProtocolError", () => {
    sendFails(newClient({ nonce: () => new Uint8Array(15) }), GET_ROOT)
    sendFails(newClient({ nonce: () => new Uint8Array(17) }), GET_ROOT)
  })

  it("an empty host is a LocalProtocolError", () => {
    sendFails(newClient(), new Events.Request({ host: "", target: "/" }))
  })

  it.each([
    ["empty", ""],
    ["non-ASCII (RFC 9112 §3.2)", "/é"],
    ["holding a space", "/a b"],
    ["holding CR LF (request splitting)", "/\r\nX-Injected: 1"],
    ["holding DEL", "/\x7f"]
  ])("a target that is %s is a LocalProtocolError", (_, target) => {
    sendFails(newClient(), new Events.Request({ host: "example.com", target }))
  })

  it.each([["an empty string", ""], ["a space", "a b"], ["a comma", "a,b"], ["CR LF", "a\r\nX: 1"], [
    "non-ASCII",
    "é"
  ]])(
    "a subprotocol with %s is not a token: LocalProtocolError",
    (_, subprotocol) => {
      sendFails(newClient(), new Events.Request({ ...GET_ROOT, subprotocols: ["ok", subprotocol] }))
    }
  )

  it("a failed send leaves the client as it was: a correct request can follow", () => {
    const client = newClient()
    sendFails(client, new Events.Request({ host: "", target: "/" }))
    expect(Handshake.state(sendOk(client, GET_ROOT).state)).toBe(ConnectionState.CONNECTING)
  })
})

describe("header injection: what the user gives is checked before it reaches the wire", () => {
  it.each([
    ["CR LF", "a\r\nX-Injected: 1"],
    ["CR", "a\rb"],
    ["LF", "a\nb"],
    ["NUL", "a\x00b"],
    ["a control character", "a\x01b"],
    ["DEL", "a\x7fb"],
    ["a character beyond Latin-1", "a€"]
  ])("a request's extra header value with %s is a LocalProtocolError", (_, value) => {
    sendFails(newClient(), new Events.Request({ ...GET_ROOT, extraHeaders: [["X", value]] }))
  })

  it.each([["empty", ""], ["with a space", "X Y"], ["with a colon", "X:"], ["with CR LF", "X\r\nY"], [
    "non-ASCII",
    "Ä"
  ]])(
    "a request's extra header name that is %s is a LocalProtocolError",
    (_, name) => {
      sendFails(newClient(), new Events.Request({ ...GET_ROOT, extraHeaders: [[name, "v"]] }))
    }
  )

  it("a host with CR LF is a LocalProtocolError", () => {
    sendFails(newClient(), new Events.Request({ host: "example.com\r\nX-Injected: 1", target: "/" }))
  })

  it("an AcceptConnection extra header with CR LF, or an invalid name, is a LocalProtocolError and the server can still accept", () => {
    const { state } = serverReceived()
    sendFails(state, new Events.AcceptConnection({ extraHeaders: [["X", "a\r\nX-Injected: 1"]] }))
    sendFails(state, new Events.AcceptConnection({ extraHeaders: [["X Y", "a"]] }))
    expect(Handshake.state(sendOk(state, new Events.AcceptConnection()).state)).toBe(ConnectionState.OPEN)
  })

  it("a RejectConnection header with CR LF, NUL or an invalid name is a LocalProtocolError", () => {
    const { state } = serverReceived()
    sendFails(state, new Events.RejectConnection({ headers: [["X", "a\r\nX-Injected: 1"]] }))
    sendFails(state, new Events.RejectConnection({ headers: [["X", "a\x00"]] }))
    sendFails(state, new Events.RejectConnection({ headers: [["", "a"]] }))
  })

  it("an offered extension name or parameter that is not a token is a LocalProtocolError (RFC 6455 §9.1)", () => {
    const cases: ReadonlyArray<readonly [string, ReadonlyArray<Parameter>]> = [
      ["fa ke", []],
      ["fake, other", []],
      ["fake", [param("p q")]],
      ["fake", [param("p", "a,b")]],
      ["fake", [param("p", "a;b")]],
      ["fake", [param("p", "a b")]]
    ]
    const written = cases.flatMap(([name, parameters]) => {
      const result = Handshake.send(
        newClient(),
        new Events.Request({ ...GET_ROOT, extensions: [fakeExtension(name, { offer: () => parameters })] })
      )
      const bytes = sentBytes(result)
      return bytes === undefined ? [] : [/Sec-WebSocket-Extensions: (.*)\r\n/.exec(latin1Text(bytes))?.[1]]
    })
    expect(written).toEqual([])
  })

  it("an accepted extension parameter that is not a token is a LocalProtocolError (RFC 6455 §9.1)", () => {
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: fake"]))
    const written = [param("p", "a,b"), param("p", "a b"), param("p q")].flatMap((answer) => {
      const supported: Extension = fakeExtension("fake", {
        accept: () => ({ extension: supported, parameters: [answer] })
      })
      const result = Handshake.send(state, new Events.AcceptConnection({ extensions: [supported] }))
      const bytes = sentBytes(result)
      return bytes === undefined ? [] : [/Sec-WebSocket-Extensions: (.*)\r\n/.exec(latin1Text(bytes))?.[1]]
    })
    expect(written).toEqual([])
  })

  it("initiateUpgradeConnection refuses headers with CR LF, and invalid paths, with a LocalProtocolError", () => {
    const headers = STD.map((line) => line.split(": ") as [string, string])
    const bad: Events.Headers = [...headers, ["X", "a\r\nX-Injected: 1"]]
    expect(expectError(Handshake.initiateUpgradeConnection(newServer(), bad, "/"))).toBeInstanceOf(LocalProtocolError)
    for (const path of ["", "/a b", "/\r\n", "/é"]) {
      expect(expectError(Handshake.initiateUpgradeConnection(newServer(), headers, path))).toBeInstanceOf(
        LocalProtocolError
      )
    }
  })
})

describe("IDNA hosts (RFC 5890, RFC 3492)", () => {
  it("a non-ASCII host is sent as xn-- labels: 芝士汉堡 → xn--7ks3rz39bh7u, and the server decodes it back (wsproto tests/test_handshake.py::test_host_encoding)", () => {
    const sent = sendOk(newClient(), new Events.Request({ host: "芝士汉堡", target: "/" }))
    expect(latin1Text(sent.bytes)).toContain("\r\nHost: xn--7ks3rz39bh7u\r\n")
    const received = serverReceived(sent.bytes)
    expect(received.events[0]).toMatchObject({ _tag: "Request", host: "芝士汉堡" })
  })

  it("only non-ASCII labels are encoded; ASCII labels and the port stay as given: bücher.example (RFC 3490 §4)", () => {
    const sent = sendOk(newClient(), new Events.Request({ host: "bücher.Example:8080", target: "/" }))
    expect(latin1Text(sent.bytes)).toContain("\r\nHost: xn--bcher-kva.Example:8080\r\n")
    expect(serverReceived(sent.bytes).events[0]).toMatchObject({ host: "bücher.Example:8080" })
  })

  it("an ASCII host keeps its case and port (RFC 6455 §4.2.1)", () => {
    const received = serverReceived(request(stdWithout("Host", "Host: Example.COM:8080")))
    expect(received.events[0]).toMatchObject({ host: "Example.COM:8080" })
  })

  it("the port after a non-ASCII last label is not encoded into it: 芝士汉堡:8080 → xn--7ks3rz39bh7u:8080", () => {
    const sent = sendOk(newClient(), new Events.Request({ host: "芝士汉堡:8080", target: "/" }))
    expect(latin1Text(sent.bytes)).toContain("\r\nHost: xn--7ks3rz39bh7u:8080\r\n")
  })

  it("the server decodes an xn-- label followed by a port: Host xn--7ks3rz39bh7u:8080 → 芝士汉堡:8080", () => {
    const received = Handshake.receive(newServer(), request(stdWithout("Host", "Host: xn--7ks3rz39bh7u:8080")))
    expect(received.error).toBeUndefined()
    expect(received.events[0]).toMatchObject({ _tag: "Request", host: "芝士汉堡:8080" })
  })

  it("only lowercase xn-- labels are decoded; XN-- stays as it is", () => {
    expect(serverReceived(request(stdWithout("Host", "Host: XN--7ks3rz39bh7u"))).events[0]).toMatchObject({
      host: "XN--7ks3rz39bh7u"
    })
  })

  it.each(["xn--a", "xn--", "xn--ab!c", "xn--7ks3rz39bh7u.xn--zz"])(
    "an invalid Punycode label (Host: %s) is rejected with 400 (wsproto lets a Unicode error escape)",
    (host) => {
      expectServerRejects(request(stdWithout("Host", `Host: ${host}`)), 400, "InvalidHandshake")
    }
  )
})

describe("the server's checks of the request (RFC 6455 §4.2.1)", () => {
  it("a valid request gives a Request event with the host, target and the other headers lowercased (wsproto tests/test_server.py::test_connection_request)", () => {
    const received = serverReceived(
      request([
        "Host: localhost",
        "Connection: Keep-Alive, Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        `Sec-WebSocket-Key: ${RFC_KEY}`,
        "X-Foo: bar"
      ])
    )
    expect(plainEvents(received.events)).toEqual([
      requestEvent({
        host: "localhost",
        extraHeaders: [
          ["connection", "Keep-Alive, Upgrade"],
          ["upgrade", "websocket"],
          ["sec-websocket-version", "13"],
          ["sec-websocket-key", RFC_KEY],
          ["x-foo", "bar"]
        ]
      })
    ])
    expect(Handshake.state(received.state)).toBe(ConnectionState.CONNECTING)
  })

  it("the Request of the RFC's sample request holds the four handshake headers, Host left out", () => {
    expect(plainEvents(serverReceived().events)).toEqual([requestEvent({ extraHeaders: STD_EXTRA })])
  })

  it("names and token values are case-insensitive: keep-alive, UPGRADE / WebSocket; the target is kept (RFC 6455 §4.2.1)", () => {
    const received = serverReceived(
      request(
        [
          "host: a",
          "CONNECTION: keep-alive, UPGRADE",
          "upgrade: WebSocket",
          `sec-websocket-key: ${RFC_KEY}`,
          "SEC-WEBSOCKET-VERSION: 13"
        ],
        "GET /a/b?q=1 HTTP/1.1"
      )
    )
    expect(received.events[0]).toMatchObject({ _tag: "Request", host: "a", target: "/a/b?q=1" })
  })

  it("subprotocols and extension offers are read from every line, in order, empty elements dropped", () => {
    const received = serverReceived(
      request([
        ...STD,
        "Sec-WebSocket-Protocol: a, b",
        "Sec-WebSocket-Extensions: x; p=1",
        "Sec-WebSocket-Protocol: ,c,",
        "Sec-WebSocket-Extensions: y"
      ])
    )
    expect(received.events[0]).toMatchObject({ subprotocols: ["a", "b", "c"], extensions: ["x; p=1", "y"] })
  })

  it("extension offers are split at commas outside quoted strings (RFC 6455 §9.1; wsproto splits inside them)", () => {
    const received = serverReceived(request([...STD, "Sec-WebSocket-Extensions: foo; bar=\"a,b\", baz"]))
    expect(received.events[0]).toMatchObject({ extensions: ["foo; bar=\"a,b\"", "baz"] })
  })

  it("a method other than GET is rejected with 400: 'Request method must be GET' (wsproto tests/test_server.py::test_connection_request_bad_method)", () => {
    expectServerRejects(
      request(STD, "POST / HTTP/1.1"),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Request method must be GET")
    )
  })

  it("the method is case-sensitive: get is rejected with 400", () => {
    expectServerRejects(
      request(STD, "get / HTTP/1.1"),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Request method must be GET")
    )
  })

  it("an HTTP/1.0 request is rejected with 400 (wsproto accepts it, RFC 6455 §4.2.1)", () => {
    expectServerRejects(request(STD, "GET / HTTP/1.0"), 400, "InvalidHandshake")
  })

  it("a request of a later HTTP/1.x minor version is accepted", () => {
    expect(serverReceived(request(STD, "GET / HTTP/1.2")).events).toHaveLength(1)
  })

  it("a missing Connection header is rejected with 400: 'Missing header, 'Connection: Upgrade''", () => {
    expectServerRejects(
      request(stdWithout("Connection")),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Missing header, 'Connection: Upgrade'")
    )
  })

  it("Connection without the upgrade token (Keep-Alive, No-Upgrade) is rejected with 400 (wsproto tests/test_server.py::test_connection_request_bad_connection_header)", () => {
    expectServerRejects(
      request(stdWithout("Connection", "Connection: Keep-Alive, No-Upgrade")),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Missing header, 'Connection: Upgrade'")
    )
  })

  it("the upgrade token may be on any Connection line (RFC 9110 §5.3; wsproto reads only the last line)", () => {
    expect(serverReceived(request(stdWithout("Connection", "Connection: Upgrade", "Connection: keep-alive"))).events)
      .toHaveLength(1)
    expect(serverReceived(request(stdWithout("Connection", "Connection: keep-alive", "Connection: Upgrade"))).events)
      .toHaveLength(1)
  })

  it("a missing Sec-WebSocket-Version is rejected with 400 and Sec-WebSocket-Version: 13 (RFC 6455 §4.2.1, §4.4)", () => {
    expectServerRejects(
      request(stdWithout("Sec-WebSocket-Version")),
      400,
      "InvalidHandshake",
      [["Sec-WebSocket-Version", "13"]],
      exactMessage("Missing header, 'Sec-WebSocket-Version'")
    )
  })

  it.each([["12"], ["8"], ["not-a-digit"], ["13, 8"], ["013"], [""]])(
    "Sec-WebSocket-Version %j is rejected with 426 and Sec-WebSocket-Version: 13 (wsproto tests/test_server.py::test_connection_request_bad_version_header; RFC 6455 §4.4)",
    (version) => {
      expectServerRejects(
        request(stdWithout("Sec-WebSocket-Version", `Sec-WebSocket-Version: ${version}`)),
        426,
        "UnsupportedVersion",
        [["Sec-WebSocket-Version", "13"]],
        exactMessage(`Unsupported Sec-WebSocket-Version ${version || "\"\""}: this server speaks 13 (RFC 6455 §4.4)`)
      )
    }
  )

  it("two Sec-WebSocket-Version lines, even both 13, are rejected with 426", () => {
    expectServerRejects(
      request([...STD, "Sec-WebSocket-Version: 13"]),
      426,
      "UnsupportedVersion",
      [["Sec-WebSocket-Version", "13"]],
      /^Sec-WebSocket-Version sent 2 times: send it once/
    )
  })

  it("a missing Sec-WebSocket-Key is rejected with 400: 'Missing header, 'Sec-WebSocket-Key'' (wsproto tests/test_server.py::test_connection_request_key_header)", () => {
    expectServerRejects(
      request(stdWithout("Sec-WebSocket-Key")),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Missing header, 'Sec-WebSocket-Key'")
    )
  })

  it.each([
    ["x (wsproto accepts it)", "x"],
    ["base64 of 15 bytes", Buffer.alloc(15, 1).toString("base64")],
    ["base64 of 17 bytes", Buffer.alloc(17, 1).toString("base64")],
    ["base64 of 16 bytes without padding", RFC_KEY.slice(0, 22)],
    ["base64url of 16 bytes", "-_-_-_-_-_-_-_-_-_-_-w=="],
    ["a key with a space inside", "dGhlIHNhbXBsZSBub25j ZQ=="]
  ])("a Sec-WebSocket-Key that is %s is rejected with 400", (_, key) => {
    expectServerRejects(request(stdWithout("Sec-WebSocket-Key", `Sec-WebSocket-Key: ${key}`)), 400, "InvalidHandshake")
  })

  it("two Sec-WebSocket-Key lines are rejected with 400 (RFC 6455 §11.3.1; wsproto joins them)", () => {
    expectServerRejects(request([...STD, "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw=="]), 400, "InvalidHandshake")
  })

  it("a missing Upgrade header is rejected with 400: 'Missing header, 'Upgrade: websocket''", () => {
    expectServerRejects(
      request(stdWithout("Upgrade")),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Missing header, 'Upgrade: websocket'")
    )
  })

  it("Upgrade: h2c is rejected with 400 (wsproto tests/test_server.py::test_connection_request_bad_upgrade_header)", () => {
    expectServerRejects(
      request(stdWithout("Upgrade", "Upgrade: h2c")),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Missing header, 'Upgrade: websocket'")
    )
  })

  it("Upgrade is a token list: 'websocket, foo' and 'foo, websocket' are accepted (RFC 9110 §7.8; wsproto differs)", () => {
    expect(serverReceived(request(stdWithout("Upgrade", "Upgrade: websocket, foo"))).events).toHaveLength(1)
    expect(serverReceived(request(stdWithout("Upgrade", "Upgrade: foo, websocket"))).events).toHaveLength(1)
  })

  it("a missing Host is rejected with 400: 'Missing header, 'Host'' (wsproto tests/test_handshake.py::test_rejected_handshake for HTTP/1.1)", () => {
    expectServerRejects(
      request(stdWithout("Host")),
      400,
      "InvalidHandshake",
      [],
      exactMessage("Missing header, 'Host'")
    )
  })

  it("an empty Host is rejected with 400", () => {
    expectServerRejects(request(stdWithout("Host", "Host:")), 400, "InvalidHandshake")
  })

  it("two Host lines are rejected with 400", () => {
    expectServerRejects(request([...STD, "Host: other.example"]), 400, "InvalidHandshake")
  })

  it("the checks run in order: method, HTTP version, Connection, Sec-WebSocket-Version, Sec-WebSocket-Key, Upgrade, Host (RFC 6455 §4.2.1, §4.4)", () => {
    const messageOf = (bytes: Uint8Array) => Handshake.receive(newServer(), bytes).error?.message
    expect(messageOf(request([], "POST / HTTP/1.0"))).toBe("Request method must be GET")
    expect(messageOf(request([], "GET / HTTP/1.0"))).toBe("The opening handshake needs HTTP/1.1 or newer")
    expect(messageOf(request(["Host: a"]))).toBe("Missing header, 'Connection: Upgrade'")
    const version = Handshake.receive(newServer(), request(["Host: a", "Connection: upgrade"])).error
    expect(version?.message).toBe("Missing header, 'Sec-WebSocket-Version'")
    expect(version?.eventHint).toMatchObject({ statusCode: 400 })
    expect(messageOf(request(["Host: a", "Connection: upgrade", "Sec-WebSocket-Version: 13"]))).toBe(
      "Missing header, 'Sec-WebSocket-Key'"
    )
    expect(
      messageOf(
        request(["Host: a", "Connection: upgrade", "Sec-WebSocket-Version: 13", `Sec-WebSocket-Key: ${RFC_KEY}`])
      )
    )
      .toBe("Missing header, 'Upgrade: websocket'")
    expect(messageOf(request(stdWithout("Host")))).toBe("Missing header, 'Host'")
  })

  it.each([
    ["not HTTP at all (wsproto tests/test_server.py::test_protocol_error)", latin1("broken nonsense\r\n\r\n")],
    ["the HTTP/2 preface (RFC 9113 §3.4; wsproto fails the method check)", latin1("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")],
    ["an HTTP/2.0 request line", request(STD, "GET / HTTP/2.0")],
    ["obs-fold", request([...STD, "X-Folded: a", " b"])],
    ["a bare LF", latin1(`GET / HTTP/1.1\n${STD.join("\r\n")}\r\n\r\n`)],
    ["a bare CR in a value", request([...STD, "X: a\rb"])],
    ["a header name that is not a token", request([...STD, "X(Y): a"])],
    ["whitespace between a name and its colon", request([...STD, "X-Foo : a"])],
    ["a NUL in a value", request([...STD, "X: a\x00b"])],
    ["a non-ASCII byte in the target", request(STD, "GET /caf\xe9 HTTP/1.1")]
  ])("a request that is %s is malformed: 'Bad HTTP message', rejected with 400", (_, bytes) => {
    expectServerRejects(bytes, 400, "MalformedHttp", [], /^Bad HTTP message/)
  })

  it("a failed request leaves the server in CONNECTING; it is not poisoned: the hint can be sent with a body, delimited by the close since the request's version is unknown", () => {
    const received = Handshake.receive(newServer(), request(STD, "POST / HTTP/1.1"))
    const sent = sendOk(received.state, new Events.RejectConnection({ statusCode: 405, hasBody: true }))
    expect(latin1Text(sent.bytes)).toBe("HTTP/1.1 405 \r\nConnection: close\r\n\r\n")
    expect(Handshake.state(sent.state)).toBe(ConnectionState.REJECTING)
  })
})

describe("limits: the head's size and header count (431)", () => {
  /** STD padded with an X-Pad header so that the whole head is `size` bytes. */
  const paddedRequest = (size: number): Uint8Array => {
    const base = request([...STD, "X-Pad: "]).length
    return request([...STD, `X-Pad: ${"p".repeat(size - base)}`])
  }

  it("a request head of exactly 16 KiB is accepted", () => {
    const bytes = paddedRequest(16 * 1024)
    expect(bytes).toHaveLength(16 * 1024)
    expect(serverReceived(bytes).events).toHaveLength(1)
  })

  it("a request head over 16 KiB is rejected with 431 Request Header Fields Too Large", () => {
    expectServerRejects(paddedRequest(16 * 1024 + 1), 431, "HeadTooLarge", [], /^Bad HTTP message/)
  })

  it("a head that never ends is rejected with 431 as soon as it passes the limit, without waiting for its end", () => {
    const first = Handshake.receive(newServer(), latin1(`GET / HTTP/1.1\r\nX: ${"a".repeat(16 * 1024 - 20)}`))
    expect(first.error).toBeUndefined()
    expectHintCloses(Handshake.receive(first.state, repeatByte(0x61, 100)), 431, "HeadTooLarge")
  })

  it("100 header fields are accepted; 101 are rejected with 431", () => {
    const extra = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: ${i}`)
    expect(serverReceived(request([...STD, ...extra(95)])).events).toHaveLength(1)
    expectServerRejects(request([...STD, ...extra(96)]), 431, "HeadTooLarge")
  })

  it("maxHeadSize and maxHeaders are options", () => {
    expectHintCloses(Handshake.receive(newServer({ maxHeadSize: 100 }), request()), 431, "HeadTooLarge")
    expectHintCloses(Handshake.receive(newServer({ maxHeaders: 4 }), request()), 431, "HeadTooLarge")
    expect(Handshake.receive(newServer({ maxHeaders: 5, maxHeadSize: request().length }), request()).error)
      .toBeUndefined()
  })

  it("a client fails a response head over its limit with a RemoteProtocolError", () => {
    const fed = clientReceives([response101([`X-Pad: ${"p".repeat(200)}`])], GET_ROOT)
    expect(fed.error).toBeUndefined()
    const limited = receiveAll(clientSent(GET_ROOT, { maxHeadSize: 100 }), [response101([`X-Pad: ${"p".repeat(200)}`])])
    expect(limited.error).toBeInstanceOf(RemoteProtocolError)
    expect(limited.events).toEqual([])
  })
})

describe("the server's 101 (RFC 6455 §4.2.2)", () => {
  it("is written byte for byte with the accept token, the chosen subprotocol and extra headers (RFC 6455 §4.2.2)", () => {
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Protocol: chat, superchat"]))
    const sent = sendOk(state, new Events.AcceptConnection({ subprotocol: "superchat", extraHeaders: [["X-A", "1"]] }))
    expect(latin1Text(sent.bytes)).toBe(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "Sec-WebSocket-Protocol: superchat\r\n" +
        "X-A: 1\r\n" +
        "\r\n"
    )
    expect(Handshake.state(sent.state)).toBe(ConnectionState.OPEN)
    expect(Handshake.subprotocol(sent.state)).toBe("superchat")
  })

  it("with the defaults it has only Upgrade, Connection and the accept token (wsproto tests/test_server.py::test_handshake)", () => {
    const sent = sendOk(serverReceived().state, new Events.AcceptConnection())
    expect(latin1Text(sent.bytes)).toBe(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`
    )
    expect(Handshake.subprotocol(sent.state)).toBeUndefined()
    expect(Handshake.extensions(sent.state)).toEqual([])
  })

  it("extra headers follow the generated ones (wsproto tests/test_server.py::test_handshake_extra_headers)", () => {
    const sent = sendOk(serverReceived().state, new Events.AcceptConnection({ extraHeaders: [["X-Foo", "bar"]] }))
    expect(latin1Text(sent.bytes)).toMatch(/Sec-WebSocket-Accept: .*\r\nX-Foo: bar\r\n\r\n$/)
  })

  it("any offered subprotocol may be chosen (wsproto tests/test_server.py::test_handshake_with_subprotocol)", () => {
    const { state } = serverReceived(request([...STD, "Sec-Websocket-Protocol: one, two"]))
    for (const subprotocol of ["one", "two"]) {
      expect(latin1Text(sendOk(state, new Events.AcceptConnection({ subprotocol })).bytes)).toContain(
        `\r\nSec-WebSocket-Protocol: ${subprotocol}\r\n`
      )
    }
  })

  it("choosing a subprotocol that was not offered (case counts) is a LocalProtocolError; the server may still accept (RFC 6455 §4.2.2)", () => {
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Protocol: Chat"]))
    expect(sendFails(state, new Events.AcceptConnection({ subprotocol: "chat" })).message).toBe(
      "Cannot accept subprotocol \"chat\": the client offered \"Chat\"; accept one of those or none"
    )
    expect(Handshake.state(sendOk(state, new Events.AcceptConnection({ subprotocol: "Chat" })).state)).toBe(
      ConnectionState.OPEN
    )
  })

  it("an accepted extension's parameters are answered (wsproto tests/test_server.py::test_handshake_with_extension, ::test_handshake_with_extension_params)", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const supported = fakeExtension("fake", {
      accept: (parameters) => {
        calls.push(parameters)
        return { extension: supported, parameters: [param("parameter1", "value1"), param("parameter2", "value2")] }
      }
    })
    const { state } = serverReceived(
      request([...STD, "Sec-WebSocket-Extensions: fake; parameter1=value3; parameter2=value4"])
    )
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [supported] }))
    expect(calls).toEqual([[param("parameter1", "value3"), param("parameter2", "value4")]])
    expect(latin1Text(sent.bytes)).toContain(
      "\r\nSec-WebSocket-Extensions: fake; parameter1=value1; parameter2=value2\r\n"
    )
    expect(Handshake.extensions(sent.state)).toEqual([supported])
  })

  it("offers of unsupported extensions are skipped (wsproto tests/test_server.py::test_handshake_with_extra_unaccepted_extension)", () => {
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: pretend, fake"]))
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [echoing("fake")] }))
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Extensions: fake\r\n")
  })

  it("the agreed extension is the one accept returns (configured for this connection)", () => {
    const configured = fakeExtension("fake")
    const supported = fakeExtension("fake", { accept: () => ({ extension: configured, parameters: [] }) })
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: fake"]))
    expect(Handshake.extensions(sendOk(state, new Events.AcceptConnection({ extensions: [supported] })).state)).toEqual(
      [configured]
    )
  })

  it("of several offers of one extension the first acceptable wins, and accept is not asked again (RFC 7692 §5; wsproto differs: last wins)", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: fake; p=1, fake; p=2"]))
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [echoing("fake", calls)] }))
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Extensions: fake; p=1\r\n")
    expect(calls).toEqual([[param("p", "1")]])
  })

  it("a declined offer lets a later offer of the same extension be accepted", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const supported: Extension = fakeExtension("fake", {
      accept: (parameters) => {
        calls.push(parameters)
        return parameters[0]?.value === "2" ? { extension: supported, parameters } : undefined
      }
    })
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: fake; p=1, fake; p=2"]))
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [supported] }))
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Extensions: fake; p=2\r\n")
    expect(calls).toHaveLength(2)
  })

  it("a malformed offer is declined without asking the extension; a well-formed one after it is taken", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: fake; =x, fake; p=\"a b\", fake; q"]))
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [echoing("fake", calls)] }))
    expect(calls).toEqual([[param("q")]])
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Extensions: fake; q\r\n")
  })

  it("a quoted parameter value is unquoted for accept and answered as a token", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: fake; p=\"10\""]))
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [echoing("fake", calls)] }))
    expect(calls).toEqual([[param("p", "10")]])
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Extensions: fake; p=10\r\n")
  })

  it("answered extensions follow the order of the offers", () => {
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: b, a"]))
    const a = echoing("a")
    const b = echoing("b")
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [a, b] }))
    expect(latin1Text(sent.bytes)).toContain("\r\nSec-WebSocket-Extensions: b, a\r\n")
    expect(Handshake.extensions(sent.state)).toEqual([b, a])
  })

  it("a supported extension the client did not offer is neither answered nor agreed (RFC 6455 §9.1; wsproto differs)", () => {
    const sent = sendOk(serverReceived().state, new Events.AcceptConnection({ extensions: [echoing("fake")] }))
    expect(latin1Text(sent.bytes)).not.toContain("Sec-WebSocket-Extensions")
    expect(Handshake.extensions(sent.state)).toEqual([])
  })

  it("an extension without an accept hook declines every offer", () => {
    const { state } = serverReceived(request([...STD, "Sec-WebSocket-Extensions: fake"]))
    const sent = sendOk(state, new Events.AcceptConnection({ extensions: [fakeExtension("fake")] }))
    expect(latin1Text(sent.bytes)).not.toContain("Sec-WebSocket-Extensions")
  })

  it("accepting before a request arrived is a LocalProtocolError", () => {
    sendFails(newServer(), new Events.AcceptConnection())
  })

  it("accepting twice is a LocalProtocolError naming ConnectionState.OPEN (RFC 6455 §4.2.2)", () => {
    const open = sendOk(serverReceived().state, new Events.AcceptConnection()).state
    expect(sendFails(open, new Events.AcceptConnection()).message).toContain("ConnectionState.OPEN")
  })
})

describe("the server's rejection (RFC 6455 §4.2.2 point 4)", () => {
  it("RejectConnection() is `HTTP/1.1 400 Bad Request` with content-length: 0, and CLOSED (RFC 6455 §4.2.2)", () => {
    const sent = sendOk(serverReceived().state, new Events.RejectConnection())
    expect(latin1Text(sent.bytes)).toBe("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
    expect(Handshake.state(sent.state)).toBe(ConnectionState.CLOSED)
  })

  it("a second RejectConnection is a LocalProtocolError naming ConnectionState.CLOSED (RFC 6455 §4.2.2)", () => {
    const closed = sendOk(serverReceived().state, new Events.RejectConnection()).state
    expect(sendFails(closed, new Events.RejectConnection()).message).toContain("ConnectionState.CLOSED")
  })

  it.each(Object.entries(REASONS))("status %s has the reason phrase %s", (status, reason) => {
    const sent = sendOk(serverReceived().state, new Events.RejectConnection({ statusCode: Number(status) }))
    expect(latin1Text(sent.bytes)).toBe(`HTTP/1.1 ${status} ${reason}\r\ncontent-length: 0\r\n\r\n`)
  })

  it("an uncommon status has an empty reason phrase: `HTTP/1.1 418 `", () => {
    const sent = sendOk(serverReceived().state, new Events.RejectConnection({ statusCode: 418 }))
    expect(latin1Text(sent.bytes)).toBe("HTTP/1.1 418 \r\ncontent-length: 0\r\n\r\n")
  })

  it("the rejection's headers are written as given, before content-length (wsproto tests/test_server.py::test_handshake_rejection)", () => {
    const sent = sendOk(
      serverReceived().state,
      new Events.RejectConnection({ statusCode: 403, headers: [["X-Why", "no"]] })
    )
    expect(latin1Text(sent.bytes)).toBe("HTTP/1.1 403 Forbidden\r\nX-Why: no\r\ncontent-length: 0\r\n\r\n")
  })

  it("a status outside 200–999 (101, 199, 1000) is a LocalProtocolError (RFC 9110 §15)", () => {
    for (const statusCode of [101, 199, 1000]) {
      sendFails(serverReceived().state, new Events.RejectConnection({ statusCode }))
    }
  })

  it("a body without a framing header is chunked: `2\\r\\nno\\r\\n`, then `2\\r\\npe\\r\\n0\\r\\n\\r\\n`, then CLOSED", () => {
    const head = sendOk(
      serverReceived().state,
      new Events.RejectConnection({ statusCode: 403, headers: [["Content-Type", "text/plain"]], hasBody: true })
    )
    expect(latin1Text(head.bytes)).toBe(
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    expect(Handshake.state(head.state)).toBe(ConnectionState.REJECTING)
    const first = sendOk(head.state, new Events.RejectData({ data: latin1("no"), bodyFinished: false }))
    expect(latin1Text(first.bytes)).toBe("2\r\nno\r\n")
    expect(Handshake.state(first.state)).toBe(ConnectionState.REJECTING)
    const last = sendOk(first.state, new Events.RejectData({ data: latin1("pe") }))
    expect(latin1Text(last.bytes)).toBe("2\r\npe\r\n0\r\n\r\n")
    expect(Handshake.state(last.state)).toBe(ConnectionState.CLOSED)
  })

  it("chunk sizes are lowercase hex; empty pieces write nothing, an empty last piece writes the last chunk", () => {
    const head = sendOk(serverReceived().state, new Events.RejectConnection({ hasBody: true }))
    const big = sendOk(head.state, new Events.RejectData({ data: repeatByte(0x61, 300), bodyFinished: false }))
    expect(latin1Text(big.bytes)).toBe(`12c\r\n${"a".repeat(300)}\r\n`)
    const empty = sendOk(big.state, new Events.RejectData({ data: new Uint8Array(0), bodyFinished: false }))
    expect(empty.bytes).toHaveLength(0)
    const end = sendOk(empty.state, new Events.RejectData({ data: new Uint8Array(0) }))
    expect(latin1Text(end.bytes)).toBe("0\r\n\r\n")
    expect(Handshake.state(end.state)).toBe(ConnectionState.CLOSED)
  })

  it("with the user's Content-Length the body is written raw (wsproto tests/test_server.py::test_handshake_rejection_with_body)", () => {
    const head = sendOk(
      serverReceived().state,
      new Events.RejectConnection({ statusCode: 400, headers: [["content-length", "5"]], hasBody: true })
    )
    expect(latin1Text(head.bytes)).toBe("HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\n\r\n")
    const he = sendOk(head.state, new Events.RejectData({ data: latin1("He"), bodyFinished: false }))
    expect(latin1Text(he.bytes)).toBe("He")
    const llo = sendOk(he.state, new Events.RejectData({ data: latin1("llo") }))
    expect(latin1Text(llo.bytes)).toBe("llo")
    expect(Handshake.state(llo.state)).toBe(ConnectionState.CLOSED)
  })

  it("a body longer than the Content-Length, or finished short of it, is a LocalProtocolError and the state stays REJECTING", () => {
    const head = sendOk(
      serverReceived().state,
      new Events.RejectConnection({ headers: [["Content-Length", "5"]], hasBody: true })
    )
    sendFails(head.state, new Events.RejectData({ data: latin1("Hello!"), bodyFinished: false }))
    sendFails(head.state, new Events.RejectData({ data: latin1("Hell") }))
    expect(Handshake.state(head.state)).toBe(ConnectionState.REJECTING)
    expect(latin1Text(sendOk(head.state, new Events.RejectData({ data: latin1("Hello") })).bytes)).toBe("Hello")
  })

  it("an invalid or repeated user Content-Length is a LocalProtocolError", () => {
    const { state } = serverReceived()
    sendFails(state, new Events.RejectConnection({ headers: [["Content-Length", "abc"]], hasBody: true }))
    sendFails(
      state,
      new Events.RejectConnection({ headers: [["Content-Length", "5"], ["Content-Length", "5"]], hasBody: true })
    )
  })

  it("without a body, the user's content-length 0 is not repeated, and another length is a LocalProtocolError", () => {
    const { state } = serverReceived()
    const sent = sendOk(state, new Events.RejectConnection({ headers: [["Content-Length", "0"]] }))
    expect(latin1Text(sent.bytes)).toBe("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    sendFails(state, new Events.RejectConnection({ headers: [["Content-Length", "5"]] }))
  })

  it("with the user's Transfer-Encoding: chunked the pieces are chunk-encoded and nothing is added", () => {
    const head = sendOk(
      serverReceived().state,
      new Events.RejectConnection({ headers: [["Transfer-Encoding", "chunked"]], hasBody: true })
    )
    expect(latin1Text(head.bytes)).toBe("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n")
    expect(latin1Text(sendOk(head.state, new Events.RejectData({ data: latin1("x") })).bytes)).toBe(
      "1\r\nx\r\n0\r\n\r\n"
    )
  })

  it("with a user Transfer-Encoding that does not end in chunked the body is written raw", () => {
    const head = sendOk(
      serverReceived().state,
      new Events.RejectConnection({ headers: [["Transfer-Encoding", "gzip"]], hasBody: true })
    )
    expect(latin1Text(sendOk(head.state, new Events.RejectData({ data: latin1("x") })).bytes)).toBe("x")
  })

  /** What a client makes of a server's rejection: the events, or the LocalProtocolError that refused it. */
  const rejectionAtClient = (rejection: Events.RejectConnection, body: ReadonlyArray<Events.RejectData>) => {
    const head = Handshake.send(serverReceived().state, rejection)
    if (head.error !== undefined) return head.error
    const wire = [...head.bytes]
    let state = head.state
    for (const piece of body) {
      const sent = Handshake.send(state, piece)
      if (sent.error !== undefined) return sent.error
      wire.push(...sent.bytes)
      state = sent.state
    }
    const fed = clientReceives([concatBytes(...wire)])
    return {
      error: fed.error?.message,
      state: stateName(Handshake.state(fed.state)),
      events: plainEvents(fed.events).slice(1)
    }
  }

  it("Content-Length together with Transfer-Encoding is refused, or written so that a client reads the body (RFC 9112 §6.2)", () => {
    const outcome = rejectionAtClient(
      new Events.RejectConnection({
        headers: [["Content-Length", "5"], ["Transfer-Encoding", "chunked"]],
        hasBody: true
      }),
      [new Events.RejectData({ data: latin1("Hello") })]
    )
    if (outcome instanceof LocalProtocolError) return
    expect(outcome).toEqual({
      error: undefined,
      state: "ConnectionState.CLOSED",
      events: [dataEvent("Hello"), dataEvent("", true)]
    })
  })

  it("a bodiless rejection with the user's Transfer-Encoding: chunked is refused, or written so that a client reads it to its end", () => {
    const outcome = rejectionAtClient(new Events.RejectConnection({ headers: [["Transfer-Encoding", "chunked"]] }), [])
    if (outcome instanceof LocalProtocolError) return
    expect(outcome).toEqual({ error: undefined, state: "ConnectionState.CLOSED", events: [dataEvent("", true)] })
  })

  it("the rejection of an HTTP/1.0 request is not chunked: Connection: close and a raw body (RFC 9112 §6.1)", () => {
    const received = Handshake.receive(newServer(), request(STD, "GET / HTTP/1.0"))
    expect(received.error?.eventHint).toBeInstanceOf(Events.RejectConnection)
    const head = sendOk(received.state, new Events.RejectConnection({ statusCode: 400, hasBody: true }))
    expect(latin1Text(head.bytes)).toBe("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
    expect(latin1Text(sendOk(head.state, new Events.RejectData({ data: latin1("old") })).bytes)).toBe("old")
  })

  it("a 204 rejection carries neither Content-Length nor Transfer-Encoding (RFC 9110 §8.6, RFC 9112 §6.1)", () => {
    const { state } = serverReceived()
    const bodiless = sendOk(state, new Events.RejectConnection({ statusCode: 204 }))
    expect(latin1Text(bodiless.bytes)).toBe("HTTP/1.1 204 \r\n\r\n")
    expect(Handshake.state(bodiless.state)).toBe(ConnectionState.CLOSED)
    // A 204 cannot have a body: refused, or at least not framed as one.
    const bodied = Handshake.send(state, new Events.RejectConnection({ statusCode: 204, hasBody: true }))
    const outcome = bodied.error ?? latin1Text(concatAll(bodied.bytes))
    if (typeof outcome === "string") expect(outcome).not.toMatch(/transfer-encoding|content-length/i)
    else expect(outcome).toBeInstanceOf(LocalProtocolError)
  })

  it("a server may reject before any request arrived", () => {
    const sent = sendOk(newServer(), new Events.RejectConnection({ statusCode: 503 }))
    expect(latin1Text(sent.bytes)).toBe("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
  })

  it("RejectData while CONNECTING is a LocalProtocolError naming ConnectionState.CONNECTING (RFC 9112 §2.1)", () => {
    const error = sendFails(serverReceived().state, new Events.RejectData({ data: latin1("x") }))
    expect(error.message).toContain("ConnectionState.CONNECTING")
  })

  it("after a rejection a TextMessage is a LocalProtocolError (RFC 6455 §4.2.2)", () => {
    const closed = sendOk(serverReceived().state, new Events.RejectConnection()).state
    sendFails(closed, new Events.TextMessage({ data: "x" }))
  })

  it("data received while REJECTING or CLOSED is ignored", () => {
    const { state } = serverReceived()
    for (const event of [new Events.RejectConnection({ hasBody: true }), new Events.RejectConnection()]) {
      const rejected = sendOk(state, event).state
      const received = Handshake.receive(rejected, request())
      expect(received).toEqual({ state: rejected, events: [], bytes: [], error: undefined })
      expect(Handshake.receive(rejected, null)).toEqual({ state: rejected, events: [], bytes: [], error: undefined })
    }
  })

  it("a server's chunked rejection, fed to a client, gives the status, the headers lowercased and the body", () => {
    const head = sendOk(
      serverReceived().state,
      new Events.RejectConnection({ statusCode: 403, headers: [["X-Why", "no"]], hasBody: true })
    )
    const body1 = sendOk(head.state, new Events.RejectData({ data: latin1("go "), bodyFinished: false }))
    const body2 = sendOk(body1.state, new Events.RejectData({ data: latin1("away") }))
    const fed = clientReceives([head.bytes, body1.bytes, body2.bytes])
    expect(fed.error).toBeUndefined()
    expect(plainEvents(fed.events)).toEqual([
      rejectEvent(403, [["x-why", "no"], ["transfer-encoding", "chunked"]]),
      dataEvent("go "),
      dataEvent("away"),
      dataEvent("", true)
    ])
    expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
  })
})

describe("the client's checks of the response (RFC 6455 §4.1)", () => {
  it("a valid 101 gives exactly one AcceptConnection and OPEN; another Request is then a LocalProtocolError (wsproto tests/test_client.py::test_connection_send_state, ::test_handshake)", () => {
    const client = clientSent()
    expect(Handshake.state(client)).toBe(ConnectionState.CONNECTING)
    const fed = receiveAll(client, [response101()])
    expect(fed.error).toBeUndefined()
    expect(plainEvents(fed.events)).toEqual([acceptEvent()])
    expect(Handshake.state(fed.state)).toBe(ConnectionState.OPEN)
    sendFails(fed.state, GET_ROOT)
  })

  it("a 101 fed one byte at a time gives one AcceptConnection when complete (RFC 9112 §2.2)", () => {
    const fed = clientReceives(Array.from(response101(), (byte) => Uint8Array.of(byte)))
    expect(plainEvents(fed.events)).toEqual([acceptEvent()])
  })

  it("the 101's other headers are in extraHeaders, lowercased (wsproto tests/test_client.py::test_handshake_extra_accept_headers; RFC 6455 §4.1)", () => {
    const fed = clientReceives([response101(["X-Foo: bar", "Sec-WebSocket-Version: 13", "Server: x"])])
    expect(plainEvents(fed.events)).toEqual([
      acceptEvent({ extraHeaders: [["x-foo", "bar"], ["sec-websocket-version", "13"], ["server", "x"]] })
    ])
  })

  it("names and token values in odd case are accepted (UPGRADE: WEBSOCKET, Connection: keep-alive, upgrade) (RFC 6455 §4.1)", () => {
    const bytes = httpHead("HTTP/1.1 101 Whatever", [
      "UPGRADE: WEBSOCKET",
      "connection: keep-alive, upgrade",
      `SEC-WEBSOCKET-ACCEPT: ${RFC_ACCEPT}`
    ])
    expect(clientReceives([bytes]).events).toHaveLength(1)
  })

  it("Upgrade is a token list on the client too: 'foo, websocket' is accepted", () => {
    const bytes = httpHead("HTTP/1.1 101 Switching Protocols", [
      "Upgrade: foo, websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${RFC_ACCEPT}`
    ])
    expect(Handshake.state(clientReceives([bytes]).state)).toBe(ConnectionState.OPEN)
  })

  const failsWith = (bytes: Uint8Array, message: string | RegExp, event: Events.Request = GET_ROOT): void => {
    const fed = clientReceives([bytes], event)
    expect(fed.error).toBeInstanceOf(RemoteProtocolError)
    expect(fed.error?.message).toMatch(message)
    expect(fed.events).toEqual([])
    expect(Handshake.state(fed.state)).toBe(ConnectionState.CONNECTING)
  }

  it("a 101 without Connection, or with Connection: Keep-Alive, fails: 'Missing header, 'Connection: Upgrade'' (wsproto tests/test_client.py::test_handshake_response_broken_connection_header)", () => {
    const accept = `Sec-WebSocket-Accept: ${RFC_ACCEPT}`
    failsWith(
      httpHead("HTTP/1.1 101 Switching Protocols", ["Upgrade: websocket", accept]),
      exactMessage("Missing header, 'Connection: Upgrade'")
    )
    failsWith(
      httpHead("HTTP/1.1 101 Switching Protocols", ["Upgrade: websocket", "Connection: Keep-Alive", accept]),
      exactMessage("Missing header, 'Connection: Upgrade'")
    )
  })

  it("a 101 without Upgrade, or with Upgrade: h2, fails: 'Missing header, 'Upgrade: websocket'' (wsproto tests/test_client.py::test_handshake_response_broken_upgrade_header)", () => {
    const accept = `Sec-WebSocket-Accept: ${RFC_ACCEPT}`
    failsWith(
      httpHead("HTTP/1.1 101 Switching Protocols", ["Connection: Upgrade", accept]),
      exactMessage("Missing header, 'Upgrade: websocket'")
    )
    failsWith(
      httpHead("HTTP/1.1 101 Switching Protocols", ["Connection: Upgrade", "Upgrade: h2", accept]),
      exactMessage("Missing header, 'Upgrade: websocket'")
    )
  })

  it("a 101 without Sec-WebSocket-Accept fails: 'Bad accept token' (wsproto tests/test_client.py::test_handshake_response_missing_websocket_key_header)", () => {
    failsWith(
      httpHead("HTTP/1.1 101 Switching Protocols", ["Connection: Upgrade", "Upgrade: websocket"]),
      exactMessage("Bad accept token")
    )
  })

  it("a wrong accept token, or two accept lines, fail: 'Bad accept token'", () => {
    failsWith(response101([], Handshake.acceptToken("x3JJHMbDL1EzLkh9GBhXDw==")), exactMessage("Bad accept token"))
    failsWith(response101([`Sec-WebSocket-Accept: ${RFC_ACCEPT}`]), exactMessage("Bad accept token"))
    failsWith(response101([], RFC_ACCEPT.toLowerCase()), exactMessage("Bad accept token"))
  })

  it("the chosen subprotocol is reported when it was offered (wsproto tests/test_client.py::test_handshake_with_subprotocol)", () => {
    const fed = clientReceives(
      [response101(["Sec-WebSocket-Protocol: one"])],
      new Events.Request({ ...GET_ROOT, subprotocols: ["one", "two"] })
    )
    expect(plainEvents(fed.events)).toEqual([acceptEvent({ subprotocol: "one" })])
    expect(Handshake.subprotocol(fed.state)).toBe("one")
  })

  it("a subprotocol that was not offered fails: 'unrecognized subprotocol new' (wsproto tests/test_client.py::test_handshake_bad_subprotocol)", () => {
    failsWith(response101(["Sec-WebSocket-Protocol: new"]), exactMessage("unrecognized subprotocol new"))
  })

  it("a 101 naming two subprotocols fails, on one line or two (RFC 6455 §4.1, §11.3.4)", () => {
    const offered = new Events.Request({ ...GET_ROOT, subprotocols: ["a", "b"] })
    failsWith(response101(["Sec-WebSocket-Protocol: a, b"]), exactMessage("unrecognized subprotocol a, b"), offered)
    failsWith(
      response101(["Sec-WebSocket-Protocol: a", "Sec-WebSocket-Protocol: b"]),
      /unrecognized subprotocol/,
      offered
    )
    expect(plainEvents(clientReceives([response101(["Sec-WebSocket-Protocol: b"])], offered).events)).toEqual([
      acceptEvent({ subprotocol: "b" })
    ])
  })

  it("a server may choose no subprotocol of those offered", () => {
    const fed = clientReceives([response101()], new Events.Request({ ...GET_ROOT, subprotocols: ["a"] }))
    expect(plainEvents(fed.events)).toEqual([acceptEvent()])
  })

  it("an accepted extension that was offered is finalized with the answer's parameters and agreed (wsproto tests/test_client.py::test_handshake_with_extension)", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const finalized = fakeExtension("fake")
    const offered = fakeExtension("fake", {
      offer: () => [param("p", "1")],
      finalize: (parameters) => {
        calls.push(parameters)
        return { extension: finalized }
      }
    })
    const fed = clientReceives(
      [response101(["Sec-WebSocket-Extensions: fake; p=2; flag"])],
      new Events.Request({ ...GET_ROOT, extensions: [offered] })
    )
    expect(calls).toEqual([[param("p", "2"), param("flag")]])
    expect(plainEvents(fed.events)).toEqual([acceptEvent({ extensions: [finalized] })])
    expect(Handshake.extensions(fed.state)).toEqual([finalized])
  })

  it("an offered extension without finalize is agreed as it is", () => {
    const offered = fakeExtension("fake", { offer: () => [] })
    const fed = clientReceives(
      [response101(["Sec-WebSocket-Extensions: fake"])],
      new Events.Request({ ...GET_ROOT, extensions: [offered] })
    )
    expect(Handshake.extensions(fed.state)).toEqual([offered])
  })

  it("agreed extensions follow the order of the answer, read from every Sec-WebSocket-Extensions line", () => {
    const a = fakeExtension("a", { offer: () => [] })
    const b = fakeExtension("b", { offer: () => [] })
    const fed = clientReceives(
      [response101(["Sec-WebSocket-Extensions: b", "Sec-WebSocket-Extensions: a"])],
      new Events.Request({ ...GET_ROOT, extensions: [a, b] })
    )
    expect(Handshake.extensions(fed.state)).toEqual([b, a])
  })

  it("an extension that was not offered fails: 'unrecognized extension bad' (wsproto tests/test_client.py::test_handshake_bad_extension; RFC 6455 §4.1)", () => {
    failsWith(response101(["Sec-WebSocket-Extensions: bad, foo"]), /unrecognized extension bad/)
  })

  it("an extension whose offer gave undefined was not offered: accepting it fails", () => {
    const extension = fakeExtension("fake", { offer: () => undefined })
    failsWith(
      response101(["Sec-WebSocket-Extensions: fake"]),
      /unrecognized extension fake/,
      new Events.Request({ ...GET_ROOT, extensions: [extension] })
    )
  })

  it("an extension accepted twice fails", () => {
    const extension = fakeExtension("fake", { offer: () => [] })
    failsWith(
      response101(["Sec-WebSocket-Extensions: fake, fake"]),
      /fake/,
      new Events.Request({ ...GET_ROOT, extensions: [extension] })
    )
  })

  it("an answer finalize refuses (an error) fails with that reason", () => {
    const extension = fakeExtension("fake", { offer: () => [], finalize: () => ({ error: "window too small" }) })
    failsWith(
      response101(["Sec-WebSocket-Extensions: fake; w=8"]),
      /window too small/,
      new Events.Request({ ...GET_ROOT, extensions: [extension] })
    )
  })

  it("a malformed extension answer fails", () => {
    const extension = fakeExtension("fake", { offer: () => [] })
    failsWith(
      response101(["Sec-WebSocket-Extensions: fake; p=\"a b\""]),
      /malformed/,
      new Events.Request({ ...GET_ROOT, extensions: [extension] })
    )
  })

  it("a response that is not HTTP fails: 'Bad HTTP message' (wsproto tests/test_client.py::test_protocol_error)", () => {
    failsWith(latin1("broken nonsense\r\n\r\n"), /^Bad HTTP message/)
  })

  it("bytes before the request was sent are a RemoteProtocolError", () => {
    const received = Handshake.receive(newClient(), response101())
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
  })

  it("a 1xx other than 101 is a RejectConnection without a body, and CLOSED (wsproto tests/test_client.py::test_broken_handshake; RFC 9110 §15.2)", () => {
    for (const [status, reason] of [[100, "Continue"], [102, "Processing"]] as const) {
      const fed = clientReceives([
        httpHead(`HTTP/1.1 ${status} ${reason}`, ["Connection: Upgrade", "Upgrade: websocket"])
      ])
      expect(plainEvents(fed.events)).toEqual([
        rejectEvent(status, [["connection", "Upgrade"], ["upgrade", "websocket"]], false)
      ])
      expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
    }
  })
})

describe("the client's reading of a rejection", () => {
  it("a Content-Length body delivered in pieces gives one RejectData per piece, then an empty finished one (wsproto tests/test_client.py::test_handshake_rejection_with_body; RFC 9112 §6.2)", () => {
    const client = clientSent()
    const head = receiveAll(client, [httpHead("HTTP/1.1 403 Forbidden", ["Content-Length: 5", "X: y"])])
    expect(plainEvents(head.events)).toEqual([rejectEvent(403, [["content-length", "5"], ["x", "y"]])])
    expect(Handshake.state(head.state)).toBe(ConnectionState.REJECTING)
    const he = receiveAll(head.state, [latin1("he")])
    expect(plainEvents(he.events)).toEqual([dataEvent("he")])
    expect(Handshake.state(he.state)).toBe(ConnectionState.REJECTING)
    const llo = receiveAll(he.state, [latin1("llo")])
    expect(plainEvents(llo.events)).toEqual([dataEvent("llo"), dataEvent("", true)])
    expect(Handshake.state(llo.state)).toBe(ConnectionState.CLOSED)
  })

  it("a body in the same chunk as the head surfaces with it; bytes after the body are ignored", () => {
    const fed = clientReceives([
      concatBytes(httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 5"]), latin1("Hello, more"))
    ])
    expect(plainEvents(fed.events)).toEqual([
      rejectEvent(400, [["content-length", "5"]]),
      dataEvent("Hello"),
      dataEvent("", true)
    ])
    expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
  })

  it("a body without framing lasts until the end of the input (wsproto tests/test_client.py::test_handshake_rejection; RFC 9112 §6.3)", () => {
    const fed = clientReceives([httpHead("HTTP/1.1 200 OK"), latin1("body"), null])
    expect(plainEvents(fed.events)).toEqual([rejectEvent(200), dataEvent("body"), dataEvent("", true)])
    expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
  })

  it("a close-delimited body with Connection: close and no data ends at the end of the input (wsproto tests/test_client.py::test_handshake_rejection)", () => {
    const fed = clientReceives([httpHead("HTTP/1.1 400 Bad Request", ["Connection: close"]), null])
    expect(plainEvents(fed.events)).toEqual([rejectEvent(400, [["connection", "close"]]), dataEvent("", true)])
  })

  it("a chunked body with chunk extensions and trailers gives its chunks' data, then an empty finished RejectData", () => {
    const fed = clientReceives([
      httpHead("HTTP/1.1 401 Unauthorized", ["Transfer-Encoding: chunked"]),
      latin1("5;ext=1\r\nHello\r\n"),
      latin1("7 ; q=\"x\"\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n")
    ])
    expect(plainEvents(fed.events)).toEqual([
      rejectEvent(401, [["transfer-encoding", "chunked"]]),
      dataEvent("Hello"),
      dataEvent(", world"),
      dataEvent("", true)
    ])
    expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
  })

  it("Transfer-Encoding overrides Content-Length", () => {
    const fed = clientReceives([
      httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 1", "Transfer-Encoding: chunked"]),
      latin1("2\r\nok\r\n0\r\n\r\n")
    ])
    expect(plainEvents(fed.events).slice(1)).toEqual([dataEvent("ok"), dataEvent("", true)])
  })

  it("a 204, a 304 and a Content-Length of 0 have an empty body: finished at once", () => {
    for (
      const head of [
        httpHead("HTTP/1.1 204 No Content"),
        httpHead("HTTP/1.1 304 Not Modified"),
        httpHead("HTTP/1.1 404 Not Found", ["Content-Length: 0"])
      ]
    ) {
      const fed = clientReceives([head])
      expect(plainEvents(fed.events).slice(1)).toEqual([dataEvent("", true)])
      expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
    }
  })

  it("conflicting Content-Length values are a RemoteProtocolError", () => {
    const fed = clientReceives([httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 5", "Content-Length: 6"])])
    expect(fed.error).toBeInstanceOf(RemoteProtocolError)
  })

  it("a repeated identical Content-Length is one length", () => {
    const fed = clientReceives([
      httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 2", "Content-Length: 2"]),
      latin1("ok")
    ])
    expect(plainEvents(fed.events).slice(1)).toEqual([dataEvent("ok"), dataEvent("", true)])
  })

  it.each([
    ["a bad chunk size", "zz\r\nok\r\n"],
    ["a bare LF", "2\nok\r\n"],
    ["data longer than its chunk size", "1\r\nok\r\n"]
  ])("a chunked body with %s is a RemoteProtocolError, after the data read before it", (_, body) => {
    const fed = clientReceives([httpHead("HTTP/1.1 400 Bad Request", ["Transfer-Encoding: chunked"]), latin1(body)])
    expect(fed.error).toBeInstanceOf(RemoteProtocolError)
  })

  it("data after the rejection is complete is ignored", () => {
    const fed = clientReceives([httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 0"]), latin1("more"), null])
    expect(fed.error).toBeUndefined()
    expect(fed.events).toHaveLength(2)
    expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
  })
})

describe("the end of the input (RFC 6455 §4.1)", () => {
  const idle = (state: Handshake.HandshakeState) => {
    expect(Handshake.receive(state, null)).toEqual({ state, events: [], bytes: [], error: undefined })
  }

  it("a client that sent nothing: nothing happens", () => {
    idle(newClient())
  })

  it("a client waiting for the response: RemoteProtocolError, state unchanged (RFC 6455 §4.1)", () => {
    const client = clientSent()
    const received = Handshake.receive(client, null)
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    expect(Handshake.state(received.state)).toBe(ConnectionState.CONNECTING)
    const partial = receiveAll(client, [latin1("HTTP/1.1 101 Swi"), null])
    expect(partial.error).toBeInstanceOf(RemoteProtocolError)
  })

  it("a client inside a Content-Length or chunked rejection body: RemoteProtocolError, state stays REJECTING", () => {
    for (
      const head of [
        httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 5"]),
        httpHead("HTTP/1.1 400 Bad Request", ["Transfer-Encoding: chunked"])
      ]
    ) {
      const fed = clientReceives([head, latin1("2"), null])
      expect(fed.error).toBeInstanceOf(RemoteProtocolError)
      expect(Handshake.state(fed.state)).toBe(ConnectionState.REJECTING)
    }
  })

  it("a client inside a close-delimited rejection body: RejectData(empty, finished), CLOSED", () => {
    const head = clientReceives([httpHead("HTTP/1.1 400 Bad Request")])
    const received = Handshake.receive(head.state, null)
    expect(plainEvents(received.events)).toEqual([dataEvent("", true)])
    expect(Handshake.state(received.state)).toBe(ConnectionState.CLOSED)
  })

  it("a client after the rejection or after OPEN: nothing happens", () => {
    idle(clientReceives([httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 0"])]).state)
    idle(clientReceives([response101()]).state)
  })

  it("a server before any byte: nothing happens, still CONNECTING (RFC 6455 §4.1)", () => {
    idle(newServer())
  })

  it("a server in the middle of a request: RemoteProtocolError with a 400 hint (RFC 6455 §4.1)", () => {
    expectHintCloses(receiveAll(newServer(), [latin1("GET / HTTP/1.1\r\nHost: a\r\n"), null]), 400, "UnexpectedEnd")
  })

  it("a server with a request not yet answered, or rejecting, or closed: nothing happens", () => {
    const { state } = serverReceived()
    idle(state)
    idle(sendOk(state, new Events.RejectConnection({ hasBody: true })).state)
    idle(sendOk(state, new Events.RejectConnection()).state)
  })

  it("an empty chunk is not the end of the input: a request can follow (wsproto takes an empty chunk for the end of the input)", () => {
    const fed = receiveAll(newServer(), [new Uint8Array(0), request()])
    expect(fed.error).toBeUndefined()
    expect(fed.events).toHaveLength(1)
    const client = receiveAll(clientSent(), [new Uint8Array(0), response101()])
    expect(client.events).toHaveLength(1)
  })
})

describe("bytes after the handshake are kept for the connection (RFC 9110 §7.8)", () => {
  const FRAME = rawFrame({ fin: true, opcode: 1, payload: utf8("hello"), mask: hex("01 02 03 04") })
  const SERVER_FRAME = rawFrame({ fin: true, opcode: 1, payload: utf8("hello") })

  it("a server keeps the frames pipelined after the request, and those that come before its 101 (RFC 9110 §7.8; wsproto differs)", () => {
    const received = serverReceived(concatBytes(request(), FRAME))
    expect(received.events).toHaveLength(1)
    expect(toHex(Handshake.trailingData(received.state))).toBe(toHex(FRAME))
    const more = Handshake.receive(received.state, FRAME)
    expect(more.events).toEqual([])
    const open = sendOk(more.state, new Events.AcceptConnection()).state
    expect(Handshake.state(open)).toBe(ConnectionState.OPEN)
    expect(toHex(Handshake.trailingData(open))).toBe(toHex(concatBytes(FRAME, FRAME)))
  })

  it("a server with nothing after the request has no trailing bytes", () => {
    expect(Handshake.trailingData(serverReceived().state)).toHaveLength(0)
  })

  it("a server refuses more than maxHeadSize bytes held before its answer", () => {
    const received = serverReceived(concatBytes(request(), repeatByte(0x82, 60)))
    const fits = Handshake.receive(newServer({ maxHeadSize: 200 }), concatBytes(request(), repeatByte(0x82, 200)))
    expect(fits.error).toBeUndefined()
    expectHintCloses(
      Handshake.receive(newServer({ maxHeadSize: 200 }), concatBytes(request(), repeatByte(0x82, 201))),
      400,
      "InvalidHandshake"
    )
    expectHintCloses(Handshake.receive(received.state, repeatByte(0x82, 16 * 1024)), 400, "InvalidHandshake")
  })

  it("a client keeps the bytes after the 101 (RFC 9110 §7.8)", () => {
    const fed = clientReceives([concatBytes(response101(), SERVER_FRAME, latin1("\x89"))])
    expect(fed.events).toHaveLength(1)
    expect(toHex(Handshake.trailingData(fed.state))).toBe(`${toHex(SERVER_FRAME)}89`)
  })

  it("a client keeps the bytes after a 101 that came one byte at a time, in the chunk that completed it", () => {
    const bytes = concatBytes(response101(), SERVER_FRAME)
    const head = response101().length
    const chunks = [...Array.from(bytes.subarray(0, head - 1), (byte) => Uint8Array.of(byte)), bytes.subarray(head - 1)]
    expect(toHex(Handshake.trailingData(clientReceives(chunks).state))).toBe(toHex(SERVER_FRAME))
  })

  it("the H11Handshake's connection starts with the trailing frames (client and server)", () => {
    const client = new H11Handshake(CLIENT, { nonce: () => RFC_NONCE })
    client.send(GET_ROOT)
    client.receiveData(concatBytes(response101(), SERVER_FRAME))
    expect(plainEvents([...client.connection!.events()])).toEqual([
      { _tag: "TextMessage", data: "hello", frameFinished: true, messageFinished: true }
    ])
    const server = new H11Handshake(SERVER)
    server.receiveData(concatBytes(request(), FRAME))
    server.send(new Events.AcceptConnection())
    expect(plainEvents([...server.connection!.events()])).toEqual([
      { _tag: "TextMessage", data: "hello", frameFinished: true, messageFinished: true }
    ])
  })
})

describe("the state is a value", () => {
  it("an earlier state can be stepped again with other input, unchanged by the first step", () => {
    const bytes = request()
    const half = Handshake.receive(newServer(), bytes.subarray(0, 60)).state
    const good = Handshake.receive(half, bytes.subarray(60))
    const bad = Handshake.receive(half, latin1(": broken\r\n\r\n"))
    expect(good.events).toHaveLength(1)
    expect(bad.error).toBeInstanceOf(RemoteProtocolError)
    expect(Handshake.receive(half, bytes.subarray(60)).events).toHaveLength(1)
  })

  it("a caller may reuse its read buffer: the partial head held is not a view of it", () => {
    const bytes = request()
    const buffer = new Uint8Array(80)
    buffer.set(bytes.subarray(0, 80))
    const first = Handshake.receive(newServer(), buffer)
    // The next read lands in the same buffer, as with a fixed read buffer.
    buffer.set(bytes.subarray(80, 160))
    const second = Handshake.receive(first.state, buffer.subarray(0, bytes.length - 80))
    expect(second.error).toBeUndefined()
    expect(plainEvents(second.events)).toEqual([requestEvent({ extraHeaders: STD_EXTRA })])
  })

  it("a caller may reuse its read buffer: the bytes after the 101 are not a view of it", () => {
    const buffer = concatBytes(response101(), latin1("\x81\x00"))
    const fed = receiveAll(clientSent(), [buffer])
    buffer.fill(0)
    expect(toHex(Handshake.trailingData(fed.state))).toBe("8100")
  })
})

describe("initiateUpgradeConnection (wsproto's H11Handshake.initiate_upgrade_connection)", () => {
  const S1_HEADERS: Events.Headers = [
    ["Host", "localhost"],
    ["Connection", "Keep-Alive, Upgrade"],
    ["Upgrade", "websocket"],
    ["Sec-WebSocket-Version", "13"],
    ["Sec-WebSocket-Key", RFC_KEY],
    ["X-Foo", "bar"]
  ]

  it("a request an HTTP server already parsed gives the same Request as the bytes would (wsproto tests/test_server.py::test_upgrade_request)", () => {
    const initiated = Handshake.initiateUpgradeConnection(newServer(), S1_HEADERS, "/")
    const bytes = serverReceived(request(S1_HEADERS.map(([name, value]) => `${name}: ${value}`)))
    expect(initiated.error).toBeUndefined()
    expect(plainEvents(initiated.events)).toEqual(plainEvents(bytes.events))
  })

  it("the path becomes the target, and the accept is the normal 101 (RFC 6455 §4.2.1, §4.2.2)", () => {
    const initiated = expectOk(Handshake.initiateUpgradeConnection(newServer(), S1_HEADERS, "/path?q"))
    expect(initiated.events[0]).toMatchObject({ _tag: "Request", target: "/path?q" })
    const sent = sendOk(initiated.state, new Events.AcceptConnection())
    expect(latin1Text(sent.bytes)).toContain(`\r\nSec-WebSocket-Accept: ${RFC_ACCEPT}\r\n`)
    expect(Handshake.trailingData(sent.state)).toHaveLength(0)
  })

  it("a client gets a LocalProtocolError (wsproto tests/test_handshake.py::test_initiate_upgrade_as_client)", () => {
    const error = expectError(Handshake.initiateUpgradeConnection(newClient(), S1_HEADERS, "/"))
    expect(error).toBeInstanceOf(LocalProtocolError)
    expect(error.message).toBe("Cannot initiate an upgrade connection when acting as the client")
  })

  it("invalid headers are checked as received ones: without Host a RemoteProtocolError with a 400 hint", () => {
    const initiated = Handshake.initiateUpgradeConnection(newServer(), S1_HEADERS.slice(1), "/")
    expect(initiated.error?.message).toBe("Missing header, 'Host'")
    expectHintCloses(initiated, 400, "InvalidHandshake")
  })

  it("a second call, after a request was already received, is a LocalProtocolError (it must not become frame bytes)", () => {
    const initiated = expectOk(Handshake.initiateUpgradeConnection(newServer(), S1_HEADERS, "/"))
    const again = Handshake.initiateUpgradeConnection(initiated.state, S1_HEADERS, "/")
    const outcome = again.error !== undefined
      ? again.error
      : `accepted, trailing bytes now ${JSON.stringify(latin1Text(Handshake.trailingData(again.state)).slice(0, 40))}`
    expect(outcome).toBeInstanceOf(LocalProtocolError)
  })
})

describe("a Chrome-like request with repeated protocol and extension lines (wsproto tests/test_handshake.py::test_h11_multiple_headers_handshake)", () => {
  const CHROME = [
    "Host: api.website.xyz",
    "Connection: Upgrade",
    "Pragma: no-cache",
    "Cache-Control: no-cache",
    "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.110 Safari/537.36",
    "Upgrade: websocket",
    "Origin: http://localhost:3000",
    "Sec-WebSocket-Version: 13",
    "Accept-Encoding: gzip, deflate, br",
    "Accept-Language: en-US,en;q=0.9",
    "Sec-WebSocket-Key: ZdCqRHQRNflNt6o7yU48Pg==",
    "Sec-WebSocket-Protocol: there-protocols",
    "Sec-WebSocket-Protocol: arent-seen",
    "Sec-WebSocket-Extensions: this-extension; isnt-seen, even-tho, it-should-be",
    "Sec-WebSocket-Protocol: only-these-protocols, are-seen, from-the-request-object",
    "Sec-WebSocket-Extensions: this-extension; were-gonna-see, and-another-extension; were-also; gonna-see=100; percent"
  ]

  it("every protocol and extension line is read, in order; the absolute target is kept", () => {
    const received = serverReceived(request(CHROME, "GET wss://api.website.xyz/ws HTTP/1.1"))
    expect(received.events[0]).toMatchObject({
      _tag: "Request",
      host: "api.website.xyz",
      target: "wss://api.website.xyz/ws",
      subprotocols: ["there-protocols", "arent-seen", "only-these-protocols", "are-seen", "from-the-request-object"],
      extensions: [
        "this-extension; isnt-seen",
        "even-tho",
        "it-should-be",
        "this-extension; were-gonna-see",
        "and-another-extension; were-also; gonna-see=100; percent"
      ]
    })
    const extra = (received.events[0] as Events.Request).extraHeaders.map(([name]) => name)
    expect(extra).toEqual([
      "connection",
      "pragma",
      "cache-control",
      "user-agent",
      "upgrade",
      "origin",
      "sec-websocket-version",
      "accept-encoding",
      "accept-language",
      "sec-websocket-key"
    ])
  })

  it("with a quoted comma in an offer, the offer stays whole (our quote-aware split)", () => {
    const received = serverReceived(request([...CHROME, "Sec-WebSocket-Extensions: quoted; p=\"a,b\", last"]))
    expect((received.events[0] as Events.Request).extensions.slice(-2)).toEqual(["quoted; p=\"a,b\"", "last"])
  })
})

describe("what may be sent in which state", () => {
  type Named = readonly [string, Handshake.HandshakeState]

  const serverStates = (): ReadonlyArray<Named> => {
    const requested = serverReceived().state
    return [
      ["CONNECTING before a request", newServer()],
      ["CONNECTING after a request", requested],
      ["OPEN", sendOk(requested, new Events.AcceptConnection()).state],
      ["REJECTING", sendOk(requested, new Events.RejectConnection({ hasBody: true })).state],
      ["CLOSED", sendOk(requested, new Events.RejectConnection()).state]
    ]
  }

  const clientStates = (): ReadonlyArray<Named> => [
    ["CONNECTING before a request", newClient()],
    ["CONNECTING after a request", clientSent()],
    ["OPEN", clientReceives([response101()]).state],
    ["REJECTING", clientReceives([httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 5"]), latin1("ab")]).state],
    ["CLOSED", clientReceives([httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 0"])]).state]
  ]

  const EVENTS: ReadonlyArray<Events.Event> = [
    GET_ROOT,
    new Events.AcceptConnection(),
    new Events.RejectConnection(),
    new Events.RejectData({ data: new Uint8Array(0), bodyFinished: false }),
    new Events.TextMessage({ data: "x" }),
    new Events.BytesMessage({ data: Uint8Array.of(1) }),
    new Events.Ping(),
    new Events.Pong(),
    new Events.CloseConnection({ code: 1000 })
  ]

  const ALLOWED: Record<"server" | "client", Record<string, ReadonlyArray<string>>> = {
    server: {
      "CONNECTING before a request": ["RejectConnection"],
      "CONNECTING after a request": ["AcceptConnection", "RejectConnection"],
      REJECTING: ["RejectData"]
    },
    client: { "CONNECTING before a request": ["Request"] }
  }

  const roles = { server: serverStates, client: clientStates } as const

  it("the states of the table are the ones named", () => {
    for (const states of [serverStates(), clientStates()]) {
      expect(states.map(([, state]) => stateName(Handshake.state(state)))).toEqual([
        "ConnectionState.CONNECTING",
        "ConnectionState.CONNECTING",
        "ConnectionState.OPEN",
        "ConnectionState.REJECTING",
        "ConnectionState.CLOSED"
      ])
    }
  })

  for (const role of ["server", "client"] as const) {
    for (const event of EVENTS) {
      const allowedIn = Object.entries(ALLOWED[role]).filter(([, tags]) => tags.includes(event._tag)).map(([name]) =>
        name
      )
      it(`a ${role} may send ${event._tag} ${allowedIn.length === 0 ? "in no state" : `only ${allowedIn.join(", ")}`}; elsewhere it is a LocalProtocolError`, () => {
        for (const [name, state] of roles[role]()) {
          const result = Handshake.send(state, event)
          if (allowedIn.includes(name)) expect(result.error, `${name}`).toBeUndefined()
          else expect(result.error, name).toBeInstanceOf(LocalProtocolError)
        }
      })
    }
  }

  it("every refusal names the event and the state (issue 4: 'a LocalProtocolError naming the event and the state')", () => {
    const unnamed: Array<string> = []
    for (const role of ["server", "client"] as const) {
      for (const [name, state] of roles[role]()) {
        for (const event of EVENTS) {
          const result = Handshake.send(state, event)
          if (result.error === undefined) continue
          const message = result.error.message
          if (!message.includes(event._tag) || !message.includes(stateName(Handshake.state(state)))) {
            unnamed.push(`${role} ${name} ${event._tag}: ${message}`)
          }
        }
      }
    }
    expect(unnamed).toEqual([])
  })

  it("a Ping during the handshake is a LocalProtocolError (wsproto tests/test_handshake.py::test_send_invalid_event)", () => {
    expect(sendFails(clientSent(), new Events.Ping()).message).toBe(
      "Event Ping cannot be sent in state ConnectionState.CONNECTING: only handshake events are sent during the handshake"
    )
  })
})

describe("H11Handshake, wsproto's class", () => {
  it("a client and a server handshake with each other and are both OPEN (wsproto tests/test_handshake.py::test_successful_handshake)", () => {
    const client = new H11Handshake(CLIENT)
    const server = new H11Handshake(SERVER)
    server.receiveData(client.send(new Events.Request({ host: "localhost", target: "/" })))
    const [request] = [...server.events()]
    expect(request).toBeInstanceOf(Events.Request)
    client.receiveData(server.send(new Events.AcceptConnection()))
    const [accepted] = [...client.events()]
    expect(accepted).toBeInstanceOf(Events.AcceptConnection)
    expect(client.state).toBe(ConnectionState.OPEN)
    expect(server.state).toBe(ConnectionState.OPEN)
    expect(String(client)).toBe("H11Handshake(client=true, state=ConnectionState.OPEN)")
    expect(String(server)).toBe("H11Handshake(client=false, state=ConnectionState.OPEN)")
  })

  it("toString names the role and the state while connecting and after a rejection", () => {
    const server = new H11Handshake(SERVER)
    expect(server.toString()).toBe("H11Handshake(client=false, state=ConnectionState.CONNECTING)")
    server.send(new Events.RejectConnection({ hasBody: true }))
    expect(server.toString()).toBe("H11Handshake(client=false, state=ConnectionState.REJECTING)")
  })

  it("events() drains the queue in order; a generator left early keeps the rest for the next call", () => {
    const client = new H11Handshake(CLIENT)
    client.send(GET_ROOT)
    client.receiveData(concatBytes(httpHead("HTTP/1.1 400 Bad Request", ["Content-Length: 2"]), latin1("no")))
    const first = client.events().next()
    expect(first.value).toBeInstanceOf(Events.RejectConnection)
    expect(plainEvents([...client.events()])).toEqual([dataEvent("no"), dataEvent("", true)])
    expect([...client.events()]).toEqual([])
    expect(client.state).toBe(ConnectionState.CLOSED)
  })

  it("events from several receiveData calls queue up until drained", () => {
    const client = new H11Handshake(CLIENT)
    client.send(GET_ROOT)
    client.receiveData(httpHead("HTTP/1.1 400 Bad Request"))
    client.receiveData(latin1("x"))
    client.receiveData(null)
    expect(plainEvents([...client.events()])).toEqual([rejectEvent(400), dataEvent("x"), dataEvent("", true)])
  })

  it("send throws the LocalProtocolError and keeps the state (wsproto tests/test_handshake.py::test_send_invalid_event)", () => {
    const client = new H11Handshake(CLIENT)
    expect(() => client.send(new Events.Ping())).toThrow(LocalProtocolError)
    expect(client.state).toBe(ConnectionState.CONNECTING)
    expect(client.send(GET_ROOT)).toBeInstanceOf(Uint8Array)
  })

  it("receiveData throws the RemoteProtocolError with its hint, keeps the state, and the hint can be sent", () => {
    const server = new H11Handshake(SERVER)
    let thrown: unknown
    try {
      server.receiveData(request(stdWithout("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RemoteProtocolError)
    const hint = (thrown as RemoteProtocolError).eventHint!
    expect(server.state).toBe(ConnectionState.CONNECTING)
    expect([...server.events()]).toEqual([])
    expect(latin1Text(server.send(hint))).toBe(
      "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\ncontent-length: 0\r\n\r\n"
    )
    expect(server.state).toBe(ConnectionState.CLOSED)
  })

  it("initiateUpgradeConnection on a client throws a LocalProtocolError (wsproto tests/test_handshake.py::test_initiate_upgrade_as_client)", () => {
    expect(() => new H11Handshake(CLIENT).initiateUpgradeConnection([], "/")).toThrow(LocalProtocolError)
  })

  it("initiateUpgradeConnection on a server queues the Request", () => {
    const server = new H11Handshake(SERVER)
    server.initiateUpgradeConnection(STD.map((line) => line.split(": ") as [string, string]), "/x")
    expect([...server.events()][0]).toMatchObject({ _tag: "Request", target: "/x" })
  })

  it("connection is undefined until OPEN, then one Connection with the role", () => {
    const server = new H11Handshake(SERVER)
    server.receiveData(request())
    expect(server.connection).toBeUndefined()
    server.send(new Events.AcceptConnection())
    const connection = server.connection
    expect(connection).toBeInstanceOf(Connection)
    expect(connection?.state).toBe(ConnectionState.OPEN)
    expect(server.connection).toBe(connection)
  })

  it("the options reach the reducer: a maxHeadSize of 100 makes the request 431", () => {
    const server = new H11Handshake(SERVER, { maxHeadSize: 100 })
    expect(() => server.receiveData(request())).toThrow(RemoteProtocolError)
  })

  it("the nonce option makes the request's key", () => {
    const client = new H11Handshake(CLIENT, { nonce: () => RFC_NONCE })
    expect(latin1Text(client.send(GET_ROOT))).toContain(`Sec-WebSocket-Key: ${RFC_KEY}\r\n`)
  })
})

describe("the extension negotiation functions (RFC 6455 §9.1)", () => {
  it("parseElement reads a bare name", () => {
    expect(Extensions.parseElement("permessage-deflate")).toEqual({ name: "permessage-deflate", parameters: [] })
  })

  it("parseElement reads flags and values, trimming whitespace", () => {
    expect(Extensions.parseElement(" fake ; a ;b=1;  c = x ")).toEqual({
      name: "fake",
      parameters: [param("a"), param("b", "1"), param("c", "x")]
    })
  })

  it("parseElement unquotes quoted values, with escapes", () => {
    expect(Extensions.parseElement("fake; a=\"10\"; b=\"x\\y\"")).toEqual({
      name: "fake",
      parameters: [param("a", "10"), param("b", "xy")]
    })
  })

  it("parseElement does not split at a semicolon inside a quoted value (which is then not a token)", () => {
    expect(Extensions.parseElement("fake; a=\"x;y\"")).toBeUndefined()
  })

  it.each([
    ["an empty element", ""],
    ["a name that is not a token", "fa ke"],
    ["an empty parameter", "fake;;a"],
    ["a trailing semicolon", "fake;"],
    ["a parameter without a name", "fake; =1"],
    ["an empty value", "fake; a="],
    ["a value that is not a token", "fake; a=b c"],
    ["a quoted value that is not a token once unquoted", "fake; a=\"b c\""],
    ["an unterminated quoted value", "fake; a=\"10"],
    ["a lone quote", "fake; a=\""]
  ])("parseElement refuses %s", (_, text) => {
    expect(Extensions.parseElement(text)).toBeUndefined()
  })

  it("formatElement writes `name; flag; key=value`", () => {
    expect(Extensions.formatElement("fake", [])).toBe("fake")
    expect(Extensions.formatElement("fake", [param("a"), param("b", "1")])).toBe("fake; a; b=1")
  })

  it("formatElement and parseElement round-trip", () => {
    const parameters = [param("client_max_window_bits", "10"), param("server_no_context_takeover")]
    expect(Extensions.parseElement(Extensions.formatElement("permessage-deflate", parameters))).toEqual({
      name: "permessage-deflate",
      parameters
    })
  })

  it("serverNegotiate: the first acceptable offer of an extension wins and accept is not asked again", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const fake = echoing("fake", calls)
    const result = Extensions.serverNegotiate(["fake; a=1", "fake; a=2"], [fake])
    expect(result).toEqual({
      extensions: [fake],
      answer: [{ name: "fake", parameters: [param("a", "1")] }],
      header: "fake; a=1"
    })
    expect(calls).toEqual([[param("a", "1")]])
  })

  it("serverNegotiate: malformed offers are declined without asking accept", () => {
    const calls: Array<ReadonlyArray<Parameter>> = []
    const fake = echoing("fake", calls)
    expect(Extensions.serverNegotiate(["fake; =1", "fake;", "fake; b"], [fake])).toEqual({
      extensions: [fake],
      answer: [{ name: "fake", parameters: [param("b")] }],
      header: "fake; b"
    })
    expect(calls).toEqual([[param("b")]])
  })

  it("serverNegotiate: unsupported offers are skipped, the answer follows the offers' order", () => {
    const a = echoing("a")
    const b = echoing("b")
    expect(Extensions.serverNegotiate(["x", "b; p", "a"], [a, b])).toEqual({
      extensions: [b, a],
      answer: [{ name: "b", parameters: [param("p")] }, { name: "a", parameters: [] }],
      header: "b; p, a"
    })
  })

  it("serverNegotiate: nothing agreed gives no header", () => {
    expect(Extensions.serverNegotiate(["x"], [echoing("a"), fakeExtension("x")])).toEqual({
      extensions: [],
      answer: [],
      header: undefined
    })
    expect(Extensions.serverNegotiate([], [])).toEqual({ extensions: [], answer: [], header: undefined })
  })

  it("clientNegotiate: each answered element is finalized with its parameters, in the answer's order", () => {
    const seen: Array<ReadonlyArray<Parameter>> = []
    const finalB = fakeExtension("b")
    const a = fakeExtension("a")
    const b = fakeExtension("b", {
      finalize: (parameters) => {
        seen.push(parameters)
        return { extension: finalB }
      }
    })
    expect(Extensions.clientNegotiate(["b; x=1", "a"], [a, b])).toEqual({ extensions: [finalB, a] })
    expect(seen).toEqual([[param("x", "1")]])
  })

  it("clientNegotiate: an extension not offered is an error naming it", () => {
    expect(Extensions.clientNegotiate(["bad"], [fakeExtension("fake")])).toEqual({
      error: "unrecognized extension bad"
    })
  })

  it("clientNegotiate: an extension answered twice is an error", () => {
    expect(Extensions.clientNegotiate(["fake", "fake; a"], [fakeExtension("fake")])).toEqual({
      error: expect.stringContaining("twice")
    })
  })

  it("clientNegotiate: finalize's refusal is the error", () => {
    const fake = fakeExtension("fake", { finalize: () => ({ error: "no thanks" }) })
    expect(Extensions.clientNegotiate(["fake"], [fake])).toEqual({ error: expect.stringContaining("no thanks") })
  })

  it("clientNegotiate: a malformed element is an error", () => {
    expect(Extensions.clientNegotiate(["fake; a=\"b c\""], [fakeExtension("fake")])).toEqual({
      error: expect.stringContaining("malformed")
    })
  })

  it("clientNegotiate: an empty answer agrees on nothing", () => {
    expect(Extensions.clientNegotiate([], [fakeExtension("fake")])).toEqual({ extensions: [] })
  })
})
