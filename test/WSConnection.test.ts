/**
 * The whole conversation, handshake then connection, through `WSConnection`'s two faces (the
 * reducer and wsproto's class), which must give the same bytes and events for the same inputs:
 * client ↔ server end to end, frames in the same read as the handshake (wsproto loses them, fixed
 * here: RFC 6455 §4.1 tells a client to wait for the 101, but a server keeps what an eager client
 * sent, and a client what follows the 101, RFC 9110 §7.8), handshake errors thrown, frame
 * violations as events, `initiateUpgradeConnection`, negotiated extensions, and
 * `H11Handshake.connection`.
 */
import { describe, expect, it } from "vitest"
import * as Connection from "../src/Connection.js"
import { ConnectionState, ConnectionType } from "../src/ConnectionState.js"
import { LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import type { Extension } from "../src/Extensions.js"
import * as Frame from "../src/Frame.js"
import { H11Handshake } from "../src/H11Handshake.js"
import * as WSConnection from "../src/WSConnection.js"
import {
  closePayload,
  concatBytes,
  expectError,
  expectOk,
  type Face,
  fixedKey,
  hex,
  latin1,
  latin1Text,
  plainEvents,
  rawFrame,
  splitAt,
  toHex,
  utf8,
  wsClassFace,
  wsReducerFace
} from "./helpers.js"

const { CLIENT, SERVER } = ConnectionType
const { CLOSED, CONNECTING, LOCAL_CLOSING, OPEN, REJECTING, REMOTE_CLOSING } = ConnectionState

const KEY = hex("01 02 03 04")
const PEER_KEY = hex("0a 0b 0c 0d")
const NONCE = new Uint8Array(16).fill(1)

const options = (
  type: ConnectionType,
  extra: Partial<WSConnection.WSConnectionOptions> = {}
): WSConnection.WSConnectionOptions => ({
  connectionType: type,
  nonce: () => NONCE,
  maskKey: fixedKey(KEY),
  ...extra
})

/** What a client with the fixed nonce sends for `Request(host="localhost", target="/")`. */
const REQUEST = latin1(
  "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: AQEBAQEBAQEBAQEBAQEBAQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
/** The server's answer to REQUEST; the token is base64(SHA-1(key + GUID)), computed independently. */
const RESPONSE_101 = latin1(
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: 5tWd1XMQfqfRMZqGrwjPEgEvyeE=\r\n\r\n"
)

// Plain forms of events, as `plainEvent` gives them.
const text = (data: string, frameFinished = true, messageFinished = true) =>
  ({ _tag: "TextMessage", data, frameFinished, messageFinished }) as const
const binary = (dataHex: string, frameFinished = true, messageFinished = true) =>
  ({ _tag: "BytesMessage", data: dataHex, frameFinished, messageFinished }) as const
const close = (code: number, reason = "") => ({ _tag: "CloseConnection", code, reason }) as const
const ping = (payloadHex: string) => ({ _tag: "Ping", payload: payloadHex }) as const
const pong = (payloadHex: string) => ({ _tag: "Pong", payload: payloadHex }) as const
const accept = { _tag: "AcceptConnection", subprotocol: undefined, extensions: [], extraHeaders: [] } as const

/** A frame from a client (masked with PEER_KEY) or from a server. */
const clientFrame = (opcode: number, payload: Uint8Array, fin = true) =>
  rawFrame({ fin, opcode, payload, mask: PEER_KEY })
const serverFrame = (opcode: number, payload: Uint8Array, fin = true) => rawFrame({ fin, opcode, payload })

const drain = (c: { events(): Generator<Events.Event, void, undefined> }): Array<Events.Event> => [...c.events()]

// ---------------------------------------------------------------------------------------------
// A conversation driven through a face, recorded step by step

type Side = "client" | "server"
const other = (side: Side): Side => (side === "client" ? "server" : "client")

type Action =
  /** `by` sends an event; the bytes wait in its outbox. */
  | { readonly by: Side; readonly send: Events.Event }
  /** `from`'s outbox goes to the other side, cut at `cuts`. */
  | { readonly deliver: Side; readonly cuts?: ReadonlyArray<number> }
  /** Bytes from outside (or the transport's end) go to `to`. */
  | { readonly to: Side; readonly feed: Uint8Array | null }

type Entry =
  | {
    readonly by: Side
    readonly sent: string
    readonly events: ReadonlyArray<unknown>
    readonly state: ConnectionState
  }
  | { readonly to: Side; readonly received: ReadonlyArray<unknown>; readonly state: ConnectionState }
  | { readonly side: Side; readonly threw: string; readonly message: string; readonly state: ConnectionState }

const converse = (
  makeFace: (options: WSConnection.WSConnectionOptions) => Face,
  actions: ReadonlyArray<Action>,
  extra: Partial<WSConnection.WSConnectionOptions> = {}
): Array<Entry> => {
  const faces: Record<Side, Face> = {
    client: makeFace(options(CLIENT, extra)),
    server: makeFace(options(SERVER, extra))
  }
  const outbox: Record<Side, Array<Uint8Array>> = { client: [], server: [] }
  const trace: Array<Entry> = []
  const attempt = (side: Side, f: () => Entry) => {
    try {
      trace.push(f())
    } catch (error) {
      if (!(error instanceof LocalProtocolError || error instanceof RemoteProtocolError)) throw error
      trace.push({ side, threw: error._tag, message: error.message, state: faces[side].state() })
    }
  }
  const receive = (to: Side, data: Uint8Array | null) =>
    attempt(to, () => {
      const events = faces[to].receive(data)
      return { to, received: plainEvents(events), state: faces[to].state() }
    })
  for (const action of actions) {
    if ("send" in action) {
      attempt(action.by, () => {
        const { bytes, events } = faces[action.by].send(action.send)
        outbox[action.by].push(bytes)
        return { by: action.by, sent: toHex(bytes), events: plainEvents(events), state: faces[action.by].state() }
      })
    } else if ("deliver" in action) {
      const bytes = concatBytes(...outbox[action.deliver])
      outbox[action.deliver] = []
      const cuts = (action.cuts ?? []).filter((cut) => cut > 0 && cut < bytes.length)
      for (const chunk of splitAt(bytes, cuts)) receive(other(action.deliver), chunk)
    } else {
      receive(action.to, action.feed)
    }
  }
  return trace
}

/** Runs the conversation through the reducers and through the classes; both must agree. */
const both = (actions: ReadonlyArray<Action>, extra: Partial<WSConnection.WSConnectionOptions> = {}): Array<Entry> => {
  const viaReducers = converse(wsReducerFace, actions, extra)
  const viaClasses = converse(wsClassFace, actions, extra)
  expect(viaClasses).toEqual(viaReducers)
  return viaReducers
}

const request = new Events.Request({ host: "localhost", target: "/" })
const handshake: ReadonlyArray<Action> = [
  { by: "client", send: request },
  { deliver: "client" },
  { by: "server", send: new Events.AcceptConnection({}) },
  { deliver: "server" }
]

// ---------------------------------------------------------------------------------------------

describe("client ↔ server end to end, the reducers and the classes alike", () => {
  it("a whole conversation: handshake, messages both ways, ping/pong, fragments, closing handshake", () => {
    const trace = both([
      { by: "client", send: request },
      { deliver: "client", cuts: [5, 40, 41] },
      { by: "server", send: new Events.AcceptConnection({}) },
      { by: "server", send: new Events.TextMessage({ data: "welcome" }) },
      { deliver: "server" },
      { by: "client", send: new Events.TextMessage({ data: "ƒñö", messageFinished: false }) },
      { by: "client", send: new Events.Ping({ payload: utf8("p") }) },
      { by: "client", send: new Events.TextMessage({ data: "®∂😎" }) },
      { by: "client", send: new Events.BytesMessage({ data: hex("00 ff") }) },
      { deliver: "client", cuts: [3, 9, 10, 11, 20] },
      { by: "server", send: new Events.Pong({ payload: utf8("p") }) },
      { by: "server", send: new Events.BytesMessage({ data: new Uint8Array(300).fill(7) }) },
      { deliver: "server", cuts: [4, 100] },
      { by: "server", send: new Events.CloseConnection({ code: 1001, reason: "going" }) },
      { deliver: "server" },
      { by: "client", send: new Events.CloseConnection({ code: 1001, reason: "going" }) },
      { deliver: "client" },
      { to: "client", feed: utf8("late") },
      { to: "server", feed: null }
    ])
    expect(trace[0]).toEqual({ by: "client", sent: toHex(REQUEST), events: [], state: CONNECTING })
    // The request in four reads: the Request once the head is complete.
    expect(trace.slice(1, 5).map((e) => ("received" in e ? e.received.length : -1))).toEqual([0, 0, 0, 1])
    const requestEntry = trace[4]
    expect(requestEntry).toMatchObject({ to: "server", state: CONNECTING })
    expect("received" in requestEntry! && requestEntry.received[0]).toMatchObject({
      _tag: "Request",
      host: "localhost",
      target: "/"
    })
    expect(trace[5]).toEqual({ by: "server", sent: toHex(RESPONSE_101), events: [], state: OPEN })
    expect(trace[6]).toEqual({ by: "server", sent: "8107" + toHex(utf8("welcome")), events: [], state: OPEN })
    // The 101 and the first frame in one read (RFC 9110 §7.8).
    expect(trace[7]).toEqual({ to: "client", received: [accept, text("welcome")], state: OPEN })
    const received = trace
      .filter((e): e is Extract<Entry, { to: Side }> => "to" in e && e.to === "server" && e.state === OPEN)
      .flatMap((e) => e.received)
    expect(received.filter((e) => (e as { _tag: string })._tag !== "TextMessage")).toEqual([ping("70"), binary("00ff")])
    const pieces = received.filter((e): e is ReturnType<typeof text> => (e as { _tag: string })._tag === "TextMessage")
    expect(pieces.map((p) => p.data).join("")).toBe("ƒñö®∂😎")
    expect(pieces.filter((p) => p.messageFinished).length).toBe(1)
    const toClient = trace
      .filter((e): e is Extract<Entry, { to: Side }> => "to" in e && e.to === "client" && e.state === OPEN)
      .flatMap((e) => e.received)
      .slice(2)
    expect(toClient[0]).toEqual(pong("70"))
    const chunks = toClient.slice(1) as Array<ReturnType<typeof binary>>
    expect(chunks.every((e) => e._tag === "BytesMessage")).toBe(true)
    expect(chunks.map((e) => e.data).join("")).toBe("07".repeat(300))
    expect(chunks.at(-1)).toMatchObject({ frameFinished: true, messageFinished: true })
    const last = trace.slice(-6)
    expect(last[0]).toEqual({ by: "server", sent: "880703e9" + toHex(utf8("going")), events: [], state: LOCAL_CLOSING })
    expect(last[1]).toEqual({ to: "client", received: [close(1001, "going")], state: REMOTE_CLOSING })
    expect(last[2]).toMatchObject({ by: "client", state: CLOSED })
    expect(last[3]).toEqual({ to: "server", received: [close(1001, "going")], state: CLOSED })
    expect(last[4]).toEqual({
      side: "client",
      threw: "LocalProtocolError",
      message: "Connection already closed: nothing more can be received (stop reading once the state is CLOSED).",
      state: CLOSED
    })
    expect(last[5]).toEqual({
      side: "server",
      threw: "LocalProtocolError",
      message: "Connection already closed: nothing more can be received (stop reading once the state is CLOSED).",
      state: CLOSED
    })
  })

  it("the client's frames are masked with its key source, the server's are not", () => {
    const trace = both([
      ...handshake,
      { by: "client", send: new Events.TextMessage({ data: "hi" }) },
      { by: "server", send: new Events.TextMessage({ data: "hi" }) }
    ])
    expect(trace.slice(-2)).toEqual([
      { by: "client", sent: "8182" + toHex(KEY) + "696b", events: [], state: OPEN },
      { by: "server", sent: "81026869", events: [], state: OPEN }
    ])
  })

  it("a rejection: RejectConnection with a body, RejectData, and the client's events", () => {
    const trace = both([
      { by: "client", send: request },
      { deliver: "client" },
      {
        by: "server",
        send: new Events.RejectConnection({ statusCode: 403, headers: [["content-length", "5"]], hasBody: true })
      },
      { by: "server", send: new Events.RejectData({ data: utf8("he"), bodyFinished: false }) },
      { deliver: "server" },
      { by: "server", send: new Events.RejectData({ data: utf8("llo") }) },
      { deliver: "server" }
    ])
    expect(trace.slice(2).map((e) => e.state)).toEqual([REJECTING, REJECTING, REJECTING, CLOSED, CLOSED])
    expect(trace[4]).toMatchObject({ to: "client", state: REJECTING })
    expect("received" in trace[4]! && trace[4].received[0]).toMatchObject({
      _tag: "RejectConnection",
      statusCode: 403,
      hasBody: true
    })
  })

  it("the options reach the connection: fragmentSize on send, maxMessageSize on receive", () => {
    const trace = both(
      [...handshake, { by: "server", send: new Events.TextMessage({ data: "abcdef" }) }, { deliver: "server" }],
      { fragmentSize: 4, maxMessageSize: 5 }
    )
    expect(trace.slice(-2)).toEqual([
      { by: "server", sent: "010461626364" + "80026566", events: [], state: OPEN },
      {
        to: "client",
        received: [text("abcd", true, false), close(1009, "Message exceeds the limit of 5 bytes")],
        state: OPEN
      }
    ])
  })
})

// ---------------------------------------------------------------------------------------------

describe("RFC 9110 §7.8, fixed where wsproto differs: frames pipelined behind the request reach the server after it accepts", () => {
  const accepted: Action = { by: "server", send: new Events.AcceptConnection({}) }

  it("a frame in the same read as the request comes out with the accept", () => {
    const trace = both([
      { to: "server", feed: concatBytes(REQUEST, clientFrame(1, utf8("hello"))) },
      accepted,
      { to: "server", feed: clientFrame(1, utf8("later")) }
    ])
    expect(trace[0]).toMatchObject({ to: "server", state: CONNECTING })
    expect("received" in trace[0]! && trace[0].received.map((e) => (e as { _tag: string })._tag)).toEqual(["Request"])
    expect(trace[1]).toEqual({ by: "server", sent: toHex(RESPONSE_101), events: [text("hello")], state: OPEN })
    expect(trace[2]).toEqual({ to: "server", received: [text("later")], state: OPEN })
  })

  it("through the reducer: the events are in the Step that sends AcceptConnection", () => {
    const s = WSConnection.receive(
      WSConnection.make(options(SERVER)),
      concatBytes(REQUEST, clientFrame(2, hex("01 02")))
    )
    expect(s.events.map((e) => e._tag)).toEqual(["Request"])
    const sent = expectOk(WSConnection.send(s.state, new Events.AcceptConnection({})))
    expect(plainEvents(sent.events)).toEqual([binary("0102")])
    expect(sent.error).toBeUndefined()
    expect(WSConnection.connectionState(sent.state)).toBe(OPEN)
  })

  it("a partial frame behind the request is completed by the next read", () => {
    const frame = clientFrame(1, utf8("hello"))
    const trace = both([
      { to: "server", feed: concatBytes(REQUEST, frame.subarray(0, frame.length - 3)) },
      accepted,
      { to: "server", feed: frame.subarray(frame.length - 3) }
    ])
    expect(trace.slice(1)).toEqual([
      { by: "server", sent: toHex(RESPONSE_101), events: [text("he", false, false)], state: OPEN },
      { to: "server", received: [text("llo")], state: OPEN }
    ])
  })

  it("the request fed byte by byte, then frames", () => {
    const bytes = concatBytes(REQUEST, clientFrame(9, utf8("p")))
    const trace = both([
      ...Array.from(bytes, (_, i) => ({ to: "server" as const, feed: bytes.subarray(i, i + 1) })),
      accepted
    ])
    expect(trace.filter((e) => "received" in e && e.received.length > 0).length).toBe(1)
    expect(trace.at(-1)).toEqual({ by: "server", sent: toHex(RESPONSE_101), events: [ping("70")], state: OPEN })
  })

  it("a pipelined close: REMOTE_CLOSING as soon as the server accepts", () => {
    const trace = both([
      { to: "server", feed: concatBytes(REQUEST, clientFrame(8, closePayload(1000, "bye"))) },
      accepted,
      { by: "server", send: new Events.CloseConnection({ code: 1000, reason: "bye" }) }
    ])
    expect(trace.slice(1)).toEqual([
      { by: "server", sent: toHex(RESPONSE_101), events: [close(1000, "bye")], state: REMOTE_CLOSING },
      { by: "server", sent: "880503e8627965", events: [], state: CLOSED }
    ])
  })

  it("a pipelined violation: the reducer's accept step carries the error, the class queues the close", () => {
    const input = concatBytes(REQUEST, serverFrame(1, utf8("a")))
    const s = WSConnection.receive(WSConnection.make(options(SERVER)), input)
    const sent = WSConnection.send(s.state, new Events.AcceptConnection({}))
    expect(sent.bytes.length).toBeGreaterThan(0)
    expect(sent.error).toBeInstanceOf(RemoteProtocolError)
    const error = sent.error as RemoteProtocolError
    expect(error.closeCode).toBe(1002)
    expect(plainEvents([error.eventHint!])).toEqual([close(1002, "server received unexpected unmasked frame")])
    expect(WSConnection.connectionState(sent.state)).toBe(OPEN)
    const trace = both([{ to: "server", feed: input }, accepted])
    expect(trace[1]).toEqual({
      by: "server",
      sent: toHex(RESPONSE_101),
      events: [close(1002, "server received unexpected unmasked frame")],
      state: OPEN
    })
  })
})

describe("RFC 9110 §7.8, RFC 9112 §2.2: frames in the same read as the 101 surface right after AcceptConnection", () => {
  const sendRequest: Action = { by: "client", send: request }

  it("101 + TextMessage(\"hello\") + Ping(\"p\") in one read", () => {
    const trace = both([sendRequest, {
      to: "client",
      feed: concatBytes(RESPONSE_101, serverFrame(1, utf8("hello")), serverFrame(9, utf8("p")))
    }])
    expect(trace[1]).toEqual({ to: "client", received: [accept, text("hello"), ping("70")], state: OPEN })
  })

  it("101 + a frame missing its last 3 bytes, then the 3 bytes", () => {
    const frame = serverFrame(1, utf8("hello"))
    const trace = both([
      sendRequest,
      { to: "client", feed: concatBytes(RESPONSE_101, frame.subarray(0, frame.length - 3)) },
      { to: "client", feed: frame.subarray(frame.length - 3) }
    ])
    expect(trace.slice(1)).toEqual([
      { to: "client", received: [accept, text("he", false, false)], state: OPEN },
      { to: "client", received: [text("llo", true, true)], state: OPEN }
    ])
  })

  it("RFC 9112 §2.2: the 101 fed one byte at a time gives a single AcceptConnection", () => {
    const trace = both([
      sendRequest,
      ...Array.from(RESPONSE_101, (_, i) => ({ to: "client" as const, feed: RESPONSE_101.subarray(i, i + 1) }))
    ])
    const received = trace.flatMap((e) => ("received" in e ? e.received : []))
    expect(received).toEqual([accept])
    expect(trace.at(-1)?.state).toBe(OPEN)
    expect(trace.slice(1, -1).every((e) => e.state === CONNECTING)).toBe(true)
  })

  it("101 + a close: REMOTE_CLOSING after the read", () => {
    const trace = both([sendRequest, {
      to: "client",
      feed: concatBytes(RESPONSE_101, serverFrame(8, closePayload(1001)))
    }])
    expect(trace[1]).toEqual({ to: "client", received: [accept, close(1001, "")], state: REMOTE_CLOSING })
  })

  it("101 + a violation: the reducer reports it with the events, the class queues the close", () => {
    const input = concatBytes(RESPONSE_101, hex("83 00"))
    const sent = expectOk(WSConnection.send(WSConnection.make(options(CLIENT)), request))
    const received = WSConnection.receive(sent.state, input)
    expect(plainEvents(received.events)).toEqual([accept])
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    expect((received.error as RemoteProtocolError).closeCode).toBe(1002)
    expect(WSConnection.connectionState(received.state)).toBe(OPEN)
    const trace = both([sendRequest, { to: "client", feed: input }])
    expect(trace[1]).toEqual({ to: "client", received: [accept, close(1002, "Invalid opcode 0x3")], state: OPEN })
  })
})

// ---------------------------------------------------------------------------------------------

describe("handshake errors: RemoteProtocolError thrown from receiveData, returned by the reducer", () => {
  it("a server fed nonsense throws with the 400 to answer; the state stays CONNECTING; the hint can be sent", () => {
    const ws = new WSConnection.WSConnection(SERVER, options(SERVER))
    let thrown: unknown
    try {
      ws.receiveData(latin1("broken nonsense\r\n\r\n"))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RemoteProtocolError)
    const error = thrown as RemoteProtocolError
    expect(error.eventHint).toBeInstanceOf(Events.RejectConnection)
    expect((error.eventHint as Events.RejectConnection).statusCode).toBe(400)
    expect(ws.state).toBe(CONNECTING)
    expect(drain(ws)).toEqual([])
    const bytes = ws.send(error.eventHint!)
    expect(latin1Text(bytes)).toMatch(/^HTTP\/1\.1 400 /)
    expect(ws.state).toBe(CLOSED)

    const before = WSConnection.make(options(SERVER))
    const received = WSConnection.receive(before, latin1("broken nonsense\r\n\r\n"))
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    expect(received.error?.message).toBe(error.message)
    expect(received.events).toEqual([])
    expect(received.state).toBe(before)
  })

  it.each([
    ["version 12", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 12", 426],
    ["no Sec-WebSocket-Key", "Sec-WebSocket-Key: AQEBAQEBAQEBAQEBAQEBAQ==\r\n", "", 400]
  ])("a server refuses a request with %s (%j → %j), hinting %i", (_, from, to, status) => {
    const head = latin1(latin1Text(REQUEST).replace(from, to))
    const trace = both([{ to: "server", feed: head }])
    expect(trace[0]).toMatchObject({ side: "server", threw: "RemoteProtocolError", state: CONNECTING })
    const received = WSConnection.receive(WSConnection.make(options(SERVER)), head)
    expect((received.error as RemoteProtocolError).eventHint).toMatchObject({
      _tag: "RejectConnection",
      statusCode: status
    })
  })

  it.each([
    [
      "no Sec-WebSocket-Accept",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    ],
    ["a wrong Sec-WebSocket-Accept", latin1Text(RESPONSE_101).replace("5tWd", "5tWe")],
    [
      "no Upgrade",
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: 5tWd1XMQfqfRMZqGrwjPEgEvyeE=\r\n\r\n"
    ],
    ["nonsense", "broken nonsense\r\n\r\n"]
  ])("a client throws on a response with %s; the state stays CONNECTING", (_, response) => {
    const trace = both([{ by: "client", send: request }, { to: "client", feed: latin1(response) }])
    expect(trace[1]).toMatchObject({ side: "client", threw: "RemoteProtocolError", state: CONNECTING })
  })

  it("a client whose transport ends before the response throws", () => {
    const trace = both([{ by: "client", send: request }, { to: "client", feed: null }])
    expect(trace[1]).toMatchObject({ side: "client", threw: "RemoteProtocolError" })
  })

  it("frames before the 101 are read as the response's head: a handshake error, not frame events", () => {
    const trace = both([
      { by: "client", send: request },
      { to: "client", feed: serverFrame(1, utf8("hi")) },
      { to: "client", feed: latin1("\r\n\r\n") }
    ])
    expect(trace[1]).toEqual({ to: "client", received: [], state: CONNECTING })
    expect(trace[2]).toMatchObject({ side: "client", threw: "RemoteProtocolError", state: CONNECTING })
  })
})

describe("after the handshake: frame violations are events, CLOSED throws", () => {
  it("an unmasked frame to the server: CloseConnection(1002) event, state OPEN, its response closes", () => {
    const trace = both([
      ...handshake,
      { to: "server", feed: serverFrame(1, utf8("a")) },
      {
        by: "server",
        send: new Events.CloseConnection({ code: 1002, reason: "server received unexpected unmasked frame" })
      }
    ])
    expect(trace.slice(-2)).toEqual([
      { to: "server", received: [close(1002, "server received unexpected unmasked frame")], state: OPEN },
      {
        by: "server",
        sent: "882b03ea" + toHex(utf8("server received unexpected unmasked frame")),
        events: [],
        state: LOCAL_CLOSING
      }
    ])
    const open = expectOk(
      WSConnection.send(
        WSConnection.receive(WSConnection.make(options(SERVER)), REQUEST).state,
        new Events.AcceptConnection({})
      )
    ).state
    const received = WSConnection.receive(open, serverFrame(1, utf8("a")))
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    expect(received.events).toEqual([])
    expect(plainEvents([(received.error as RemoteProtocolError).eventHint!])).toEqual([
      close(1002, "server received unexpected unmasked frame")
    ])
  })

  it("the class: after the violation's event, later bytes produce nothing", () => {
    const ws = new WSConnection.WSConnection(SERVER, options(SERVER))
    ws.receiveData(REQUEST)
    ws.send(new Events.AcceptConnection({}))
    drain(ws)
    ws.receiveData(serverFrame(1, utf8("a")))
    expect(plainEvents(drain(ws))).toEqual([close(1002, "server received unexpected unmasked frame")])
    ws.receiveData(clientFrame(1, utf8("b")))
    expect(plainEvents(drain(ws))).toEqual([])
    expect(ws.state).toBe(OPEN)
  })

  it("the transport's end after the handshake: 1006 and CLOSED; then receiving throws LocalProtocolError", () => {
    const trace = both([...handshake, { to: "client", feed: null }, { to: "client", feed: null }, {
      to: "client",
      feed: utf8("x")
    }])
    expect(trace.slice(-3)).toEqual([
      { to: "client", received: [close(1006, "")], state: CLOSED },
      {
        side: "client",
        threw: "LocalProtocolError",
        message: "Connection already closed: nothing more can be received (stop reading once the state is CLOSED).",
        state: CLOSED
      },
      {
        side: "client",
        threw: "LocalProtocolError",
        message: "Connection already closed: nothing more can be received (stop reading once the state is CLOSED).",
        state: CLOSED
      }
    ])
  })

  it("sending a handshake event once open is a LocalProtocolError naming the state (RFC 6455 §4.2.2)", () => {
    const trace = both([...handshake, { by: "server", send: new Events.AcceptConnection({}) }, {
      by: "client",
      send: request
    }])
    expect(trace.slice(-2)).toEqual([
      {
        side: "server",
        threw: "LocalProtocolError",
        message: "Event AcceptConnection cannot be sent in state ConnectionState.OPEN.",
        state: OPEN
      },
      {
        side: "client",
        threw: "LocalProtocolError",
        message: "Event Request cannot be sent in state ConnectionState.OPEN.",
        state: OPEN
      }
    ])
  })
})

// ---------------------------------------------------------------------------------------------

describe("initiateUpgradeConnection", () => {
  const STD: Events.Headers = [
    ["Host", "example.com"],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
    ["Sec-WebSocket-Version", "13"],
    ["X-Foo", "bar"]
  ]
  const RFC_101 =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"

  it("a server started from parsed headers: Request, the RFC's accept token, then frames", () => {
    const ws = new WSConnection.WSConnection(SERVER)
    ws.initiateUpgradeConnection(STD, "/path?q")
    const events = drain(ws)
    expect(events.length).toBe(1)
    expect(events[0]).toBeInstanceOf(Events.Request)
    expect(events[0]).toMatchObject({ host: "example.com", target: "/path?q" })
    expect(latin1Text(ws.send(new Events.AcceptConnection({})))).toBe(RFC_101)
    ws.receiveData(clientFrame(1, utf8("hi")))
    expect(plainEvents(drain(ws))).toEqual([text("hi")])

    const started = expectOk(WSConnection.initiateUpgradeConnection(WSConnection.make(options(SERVER)), STD, "/path?q"))
    expect(started.error).toBeUndefined()
    expect(started.events.map((e) => e._tag)).toEqual(["Request"])
    const sent = expectOk(WSConnection.send(started.state, new Events.AcceptConnection({})))
    expect(latin1Text(concatBytes(...sent.bytes))).toBe(RFC_101)
    expect(WSConnection.connectionState(sent.state)).toBe(OPEN)
  })

  it("a client cannot: LocalProtocolError", () => {
    const ws = new WSConnection.WSConnection(CLIENT)
    expect(() => ws.initiateUpgradeConnection(STD, "/")).toThrow(LocalProtocolError)
    expect(expectError(WSConnection.initiateUpgradeConnection(WSConnection.make(options(CLIENT)), STD, "/")))
      .toBeInstanceOf(
        LocalProtocolError
      )
  })

  it("invalid headers: RemoteProtocolError thrown, returned by the reducer", () => {
    const ws = new WSConnection.WSConnection(SERVER)
    expect(() => ws.initiateUpgradeConnection([["Host", "example.com"]], "/")).toThrow(RemoteProtocolError)
    expect(ws.state).toBe(CONNECTING)
    const before = WSConnection.make(options(SERVER))
    const result = WSConnection.initiateUpgradeConnection(before, [["Host", "example.com"]], "/")
    expect(result.error).toBeInstanceOf(RemoteProtocolError)
    expect(result.state).toBe(before)
  })
})

describe("connectionState through a conversation", () => {
  it("CONNECTING, OPEN, LOCAL_CLOSING, CLOSED; and REJECTING on the way to a rejection", () => {
    let client = WSConnection.make(options(CLIENT))
    expect(WSConnection.connectionState(client)).toBe(CONNECTING)
    client = expectOk(WSConnection.send(client, request)).state
    expect(WSConnection.connectionState(client)).toBe(CONNECTING)
    expect(client.connection).toBeUndefined()
    client = WSConnection.receive(client, RESPONSE_101).state
    expect(WSConnection.connectionState(client)).toBe(OPEN)
    expect(client.connection?.state).toBe(OPEN)
    client = expectOk(WSConnection.send(client, new Events.CloseConnection({ code: 1000 }))).state
    expect(WSConnection.connectionState(client)).toBe(LOCAL_CLOSING)
    client = WSConnection.receive(client, serverFrame(8, closePayload(1000))).state
    expect(WSConnection.connectionState(client)).toBe(CLOSED)

    let server = WSConnection.receive(WSConnection.make(options(SERVER)), REQUEST).state
    server = expectOk(WSConnection.send(server, new Events.RejectConnection({ hasBody: true }))).state
    expect(WSConnection.connectionState(server)).toBe(REJECTING)
    server = expectOk(WSConnection.send(server, new Events.RejectData({ data: utf8("no") }))).state
    expect(WSConnection.connectionState(server)).toBe(CLOSED)
    expect(server.connection).toBeUndefined()
  })
})

// ---------------------------------------------------------------------------------------------

describe("extensions: only the negotiated ones take part in framing (RFC 6455 §5.2, §9.1, as in wsproto)", () => {
  const rsv1: Extension<undefined> = {
    name: "x-rsv1",
    init: () => undefined,
    inboundHeader: (state) => ({ state, value: Frame.RSV1 }),
    outbound: (state, frame) => ({
      state,
      value: frame.opcode >= 8 ? frame : { ...frame, rsv: frame.rsv | Frame.RSV1 }
    }),
    offer: () => [],
    accept: () => ({ extension: rsv1, parameters: [] })
  }
  const offering = new Events.Request({ host: "localhost", target: "/", extensions: [rsv1] })

  it("offered and accepted: both ends set and accept RSV1", () => {
    const trace = both([
      { by: "client", send: offering },
      { deliver: "client" },
      { by: "server", send: new Events.AcceptConnection({ extensions: [rsv1] }) },
      { deliver: "server" },
      { by: "client", send: new Events.TextMessage({ data: "a" }) },
      { deliver: "client" },
      { by: "server", send: new Events.TextMessage({ data: "b" }) },
      { deliver: "server" }
    ])
    const [, , acceptEntry, acceptedEntry, clientSent, serverReceived, serverSent, clientReceived] = trace
    expect(acceptEntry).toMatchObject({ by: "server", state: OPEN })
    expect(latin1Text(hex((acceptEntry as { sent: string }).sent))).toContain("Sec-WebSocket-Extensions: x-rsv1\r\n")
    expect(acceptedEntry).toMatchObject({ to: "client", state: OPEN })
    expect(clientSent).toMatchObject({
      sent: toHex(rawFrame({ fin: true, rsv: Frame.RSV1, opcode: 1, payload: utf8("a"), mask: KEY }))
    })
    expect(serverReceived).toEqual({ to: "server", received: [text("a")], state: OPEN })
    expect(serverSent).toMatchObject({ sent: "c10162" })
    expect(clientReceived).toEqual({ to: "client", received: [text("b")], state: OPEN })
  })

  it("offered but not accepted: the client's connection does not use it", () => {
    const trace = both([
      { by: "client", send: offering },
      { deliver: "client" },
      { by: "server", send: new Events.AcceptConnection({}) },
      { deliver: "server" },
      { by: "client", send: new Events.TextMessage({ data: "a" }) },
      { to: "client", feed: hex("c1 01 62") }
    ])
    expect(trace[3]).toEqual({ to: "client", received: [accept], state: OPEN })
    expect(trace[4]).toMatchObject({ sent: "8181" + toHex(KEY) + "60" })
    expect(trace[5]).toEqual({ to: "client", received: [close(1002, "Reserved bit set unexpectedly")], state: OPEN })
  })
})

// ---------------------------------------------------------------------------------------------

describe("H11Handshake.connection", () => {
  it("undefined until OPEN; then a Connection fed the frames of the 101's read, the same one each time", () => {
    const client = new H11Handshake(CLIENT, { nonce: () => NONCE })
    expect(client.connection).toBeUndefined()
    expect(latin1Text(client.send(request))).toBe(latin1Text(REQUEST))
    expect(client.connection).toBeUndefined()
    client.receiveData(concatBytes(RESPONSE_101, serverFrame(1, utf8("hi")), serverFrame(9, utf8("p"))))
    expect(drain(client).map((e) => e._tag)).toEqual(["AcceptConnection"])
    expect(client.state).toBe(OPEN)
    const connection = client.connection
    expect(connection).toBeInstanceOf(Connection.Connection)
    expect(client.connection).toBe(connection)
    expect(connection!.state).toBe(OPEN)
    expect(plainEvents(drain(connection!))).toEqual([text("hi"), ping("70")])
    expect(String(client)).toBe("H11Handshake(client=true, state=ConnectionState.OPEN)")

    // It works as a client connection: masked frames a server decodes, and the closing handshake.
    const server = new Connection.Connection(SERVER)
    server.receiveData(connection!.send(new Events.TextMessage({ data: "hello" })))
    expect(plainEvents(drain(server))).toEqual([text("hello")])
    connection!.receiveData(server.send(new Events.CloseConnection({ code: 1000 })))
    expect(plainEvents(drain(connection!))).toEqual([close(1000)])
    server.receiveData(connection!.send(new Events.CloseConnection({ code: 1000 })))
    expect(connection!.state).toBe(CLOSED)
    expect(server.state).toBe(CLOSED)
    expect(client.state).toBe(OPEN)
  })

  it("a server's connection holds the frames pipelined behind the request", () => {
    const server = new H11Handshake(SERVER)
    server.receiveData(concatBytes(REQUEST, clientFrame(1, utf8("early"))))
    expect(drain(server).map((e) => e._tag)).toEqual(["Request"])
    expect(server.connection).toBeUndefined()
    expect(latin1Text(server.send(new Events.AcceptConnection({})))).toBe(latin1Text(RESPONSE_101))
    const connection = server.connection!
    expect(plainEvents(drain(connection))).toEqual([text("early")])
    expect(toHex(connection.send(new Events.TextMessage({ data: "hi" })))).toBe("81026869")
    connection.receiveData(clientFrame(2, hex("ff")))
    expect(plainEvents(drain(connection))).toEqual([binary("ff")])
    expect(String(server)).toBe("H11Handshake(client=false, state=ConnectionState.OPEN)")
  })

  it("a rejected handshake has no connection", () => {
    const server = new H11Handshake(SERVER)
    server.receiveData(REQUEST)
    server.send(new Events.RejectConnection({}))
    expect(server.state).toBe(CLOSED)
    expect(server.connection).toBeUndefined()
  })

  it("the connection uses the negotiated extensions", () => {
    const rsv1: Extension<undefined> = {
      name: "x-rsv1",
      init: () => undefined,
      inboundHeader: (state) => ({ state, value: Frame.RSV1 }),
      offer: () => [],
      accept: () => ({ extension: rsv1, parameters: [] })
    }
    const client = new H11Handshake(CLIENT)
    const server = new H11Handshake(SERVER)
    server.receiveData(client.send(new Events.Request({ host: "localhost", target: "/", extensions: [rsv1] })))
    client.receiveData(server.send(new Events.AcceptConnection({ extensions: [rsv1] })))
    client.connection!.receiveData(hex("c1 01 61"))
    expect(plainEvents(drain(client.connection!))).toEqual([text("a")])
    const plain = new H11Handshake(CLIENT)
    const other = new H11Handshake(SERVER)
    other.receiveData(plain.send(new Events.Request({ host: "localhost", target: "/" })))
    plain.receiveData(other.send(new Events.AcceptConnection({ extensions: [rsv1] })))
    plain.connection!.receiveData(hex("c1 01 61"))
    expect(plainEvents(drain(plain.connection!))).toEqual([close(1002, "Reserved bit set unexpectedly")])
  })
})

it("the reducer never mutates the state it is given", () => {
  const start = WSConnection.make(options(CLIENT))
  const a = expectOk(WSConnection.send(start, request))
  const b = expectOk(WSConnection.send(start, request))
  expect(toHex(concatBytes(...a.bytes))).toBe(toHex(concatBytes(...b.bytes)))
  const open = WSConnection.receive(a.state, RESPONSE_101)
  const again = WSConnection.receive(a.state, RESPONSE_101)
  expect(plainEvents(open.events)).toEqual(plainEvents(again.events))
  expect(WSConnection.connectionState(a.state)).toBe(CONNECTING)
  expect(WSConnection.send(open.state, new Events.TextMessage({ data: "x" })).error).toBeUndefined()
  expect(WSConnection.connectionState(open.state)).toBe(OPEN)
})
