/**
 * The connection state machine (RFC 6455 §5–§7) through its two faces, the reducer
 * (`Connection.make`, `send`, `receive`) and wsproto's `Connection` class: wsproto's connection
 * cases (wsproto tests/test_connection.py) and wsproto run by hand (each under the RFC 6455 section
 * that governs it), the table of what may be sent in every state, what receiving does in every
 * state, and the bytes the class writes. Where this port deliberately differs from wsproto the test
 * says so.
 */
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import * as Connection from "../src/Connection.js"
import { ConnectionState, ConnectionType, stateName } from "../src/ConnectionState.js"
import { LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import type { Extension } from "../src/Extensions.js"
import * as Frame from "../src/Frame.js"
import * as WSConnection from "../src/WSConnection.js"
import {
  closePayload,
  concatAll,
  concatBytes,
  expectError,
  expectOk,
  fixedKey,
  hex,
  latin1,
  plainEvents,
  rawFrame,
  repeatByte,
  toHex,
  utf8
} from "./helpers.js"

const KEY = hex("01 02 03 04")
const { CLIENT, SERVER } = ConnectionType
const { CLOSED, CONNECTING, LOCAL_CLOSING, OPEN, REJECTING, REMOTE_CLOSING } = ConnectionState

/** A `Connection` class with the fixed masking key. */
const connection = (
  type: ConnectionType,
  trailingData?: Uint8Array,
  options: Omit<Connection.ConnectionOptions, "connectionType" | "extensions"> = {}
): Connection.Connection => new Connection.Connection(type, [], trailingData, { maskKey: fixedKey(KEY), ...options })

/** A connection reducer state with the fixed masking key. */
const reducer = (type: ConnectionType, options: Partial<Connection.ConnectionOptions> = {}): Connection.State =>
  Connection.make({ maskKey: fixedKey(KEY), ...options, connectionType: type })

const drain = (c: { events(): Generator<Events.Event, void, undefined> }): Array<Events.Event> => [...c.events()]

/** The events queued by a class, as plain objects. */
const plainOf = (c: { events(): Generator<Events.Event, void, undefined> }) => plainEvents(drain(c))

// Plain forms of events, as `plainEvent` gives them.
const text = (data: string, frameFinished = true, messageFinished = true) =>
  ({ _tag: "TextMessage", data, frameFinished, messageFinished }) as const
const binary = (dataHex: string, frameFinished = true, messageFinished = true) =>
  ({ _tag: "BytesMessage", data: dataHex.replace(/\s+/g, ""), frameFinished, messageFinished }) as const
const close = (code: number, reason = "") => ({ _tag: "CloseConnection", code, reason }) as const
const ping = (payloadHex: string) => ({ _tag: "Ping", payload: payloadHex.replace(/\s+/g, "") }) as const
const pong = (payloadHex: string) => ({ _tag: "Pong", payload: payloadHex.replace(/\s+/g, "") }) as const

/** A frame as the peer of a `type` end writes it: masked when it goes to a server. */
const fromPeer = (type: ConnectionType, opcode: number, payload: Uint8Array, fin = true): Uint8Array =>
  rawFrame({ fin, opcode, payload, ...(type === SERVER ? { mask: hex("0a 0b 0c 0d") } : {}) })

/** A frame as a `type` end with the fixed key writes it: masked when a client sends it. */
const fromSelf = (type: ConnectionType, opcode: number, payload: Uint8Array, fin = true): Uint8Array =>
  rawFrame({ fin, opcode, payload, ...(type === CLIENT ? { mask: KEY } : {}) })

/** The first event, checked to be an instance of `cls`. */
const firstAs = <A>(events: ReadonlyArray<Events.Event>, cls: abstract new(...args: Array<any>) => A): A => {
  const event = events[0]
  if (!(event instanceof cls)) throw new Error(`expected a ${cls.name} first, got ${JSON.stringify(events)}`)
  return event
}

/** Runs `f`, which must throw a `LocalProtocolError`, and gives the error. */
const throwsLocal = (f: () => unknown): LocalProtocolError => {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(LocalProtocolError)
    return error as LocalProtocolError
  }
  throw new Error("expected a LocalProtocolError to be thrown")
}

/** What receiving in CLOSED says (wsproto's text, with what to do). */
const ALREADY_CLOSED =
  "Connection already closed: nothing more can be received (stop reading once the state is CLOSED)."

const refusal = (kind: string, state: ConnectionState): string =>
  `Event ${kind} cannot be sent in state ${NAMES[state]}.`

/** The state names as wsproto prints them, written out rather than computed. */
const NAMES: Record<ConnectionState, string> = {
  [CONNECTING]: "ConnectionState.CONNECTING",
  [OPEN]: "ConnectionState.OPEN",
  [REMOTE_CLOSING]: "ConnectionState.REMOTE_CLOSING",
  [LOCAL_CLOSING]: "ConnectionState.LOCAL_CLOSING",
  [CLOSED]: "ConnectionState.CLOSED",
  [REJECTING]: "ConnectionState.REJECTING"
}

const ROLES = [
  { role: "client", type: CLIENT },
  { role: "server", type: SERVER }
] as const

const X23 = repeatByte(0x78, 23)
const EMPTY = new Uint8Array(0)

// ---------------------------------------------------------------------------------------------

describe("wsproto's connection cases (wsproto tests/test_connection.py)", () => {
  const directions = [
    { from: CLIENT, fromName: "client", toName: "server" },
    { from: SERVER, fromName: "server", toName: "client" }
  ] as const
  const pair = (from: ConnectionType) => {
    const sender = connection(from)
    const receiver = connection(from === CLIENT ? SERVER : CLIENT)
    return { sender, receiver }
  }

  describe.each(directions)("$fromName → $toName", ({ from }) => {
    it.each([true, false])(
      "wsproto tests/test_connection.py::test_send_message: BytesMessage(23x, messageFinished=%s) arrives with the same data and flag",
      (finished) => {
        const { receiver, sender } = pair(from)
        receiver.receiveData(sender.send(new Events.BytesMessage({ data: X23, messageFinished: finished })))
        expect(plainOf(receiver)).toEqual([binary(toHex(X23), true, finished)])
      }
    )

    it.each([
      [1000, "bye"],
      [1001, "👋👋"]
    ])(
      "wsproto tests/test_connection.py::test_closure: close(%i, %j) and its response close both ends",
      (code, reason) => {
        const { receiver, sender } = pair(from)
        receiver.receiveData(sender.send(new Events.CloseConnection({ code, reason })))
        expect(sender.state).toBe(LOCAL_CLOSING)
        const received = drain(receiver)
        expect(plainEvents(received)).toEqual([close(code, reason)])
        expect(receiver.state).toBe(REMOTE_CLOSING)
        sender.receiveData(receiver.send(firstAs(received, Events.CloseConnection).response()))
        expect(receiver.state).toBe(CLOSED)
        expect(plainOf(sender)).toEqual([close(code, reason)])
        expect(sender.state).toBe(CLOSED)
        expect(throwsLocal(() => sender.receiveData(utf8("foobar"))).message).toBe(ALREADY_CLOSED)
      }
    )

    it("wsproto tests/test_connection.py::test_ping_pong: a ping is received as a ping, and its response as the matching pong", () => {
      const { receiver, sender } = pair(from)
      receiver.receiveData(sender.send(new Events.Ping({ payload: X23 })))
      const received = drain(receiver)
      expect(plainEvents(received)).toEqual([ping(toHex(X23))])
      sender.receiveData(receiver.send(firstAs(received, Events.Ping).response()))
      expect(plainOf(sender)).toEqual([pong(toHex(X23))])
    })
  })

  it("wsproto tests/test_connection.py::test_abnormal_closure: the transport ending gives CloseConnection(1006) and CLOSED", () => {
    const client = connection(CLIENT)
    client.receiveData(null)
    expect(plainOf(client)).toEqual([close(1006, "")])
    expect(client.state).toBe(CLOSED)
  })

  it("wsproto tests/test_connection.py::test_close_whilst_closing: a second close is refused", () => {
    const client = connection(CLIENT)
    client.send(new Events.CloseConnection({ code: 1000 }))
    expect(throwsLocal(() => client.send(new Events.CloseConnection({ code: 1000 }))).message).toBe(
      "Event CloseConnection cannot be sent in state ConnectionState.LOCAL_CLOSING."
    )
    expect(client.state).toBe(LOCAL_CLOSING)
  })

  it("wsproto tests/test_connection.py::test_send_after_close: a message after our close is refused", () => {
    const client = connection(CLIENT)
    client.send(new Events.CloseConnection({ code: 1000 }))
    expect(throwsLocal(() => client.send(new Events.TextMessage({ data: "", messageFinished: true }))).message).toBe(
      "Event TextMessage cannot be sent in state ConnectionState.LOCAL_CLOSING."
    )
  })

  it("wsproto tests/test_connection.py::test_unsolicited_pong: an unsolicited pong is received as a pong", () => {
    const client = connection(CLIENT)
    const server = connection(SERVER)
    server.receiveData(client.send(new Events.Pong({ payload: X23 })))
    expect(plainOf(server)).toEqual([pong(toHex(X23))])
  })

  it.each([true, false])(
    "wsproto tests/test_connection.py::test_data: non-ASCII text with messageFinished=%s arrives whole",
    (finished) => {
      const client = connection(CLIENT)
      const server = connection(SERVER)
      server.receiveData(client.send(new Events.TextMessage({ data: "ƒñö®∂😎", messageFinished: finished })))
      expect(plainOf(server)).toEqual([text("ƒñö®∂😎", true, finished)])
    }
  )

  it("wsproto tests/test_connection.py::test_frame_protocol_gets_fed_garbage: a fragmented ping is a protocol error, surfaced as CloseConnection(1002)", () => {
    const client = connection(CLIENT)
    client.receiveData(concatBytes(hex("09 17"), X23))
    expect(plainOf(client)).toEqual([close(1002, "Invalid attempt to fragment control frame")])
    expect(client.state).toBe(OPEN)
  })

  it("wsproto tests/test_connection.py::test_send_invalid_event: a Request cannot be sent on a connection", () => {
    const client = connection(CLIENT)
    expect(throwsLocal(() => client.send(new Events.Request({ host: "wsproto", target: "/" }))).message).toBe(
      "Event Request cannot be sent in state ConnectionState.OPEN."
    )
    const result = Connection.send(reducer(CLIENT), new Events.Request({ host: "wsproto", target: "/" }))
    expect(expectError(result)).toBeInstanceOf(LocalProtocolError)
  })

  it("wsproto tests/test_connection.py::test_receive_data_when_closed: receiving in CLOSED is a LocalProtocolError", () => {
    const client = connection(CLIENT)
    client.receiveData(null)
    drain(client)
    expect(throwsLocal(() => client.receiveData(utf8("something"))).message).toBe(ALREADY_CLOSED)
    const received = Connection.receive(expectClosed(reducer(CLIENT)), utf8("something"))
    expect(received.error).toBeInstanceOf(LocalProtocolError)
    expect(received.error?.message).toBe(ALREADY_CLOSED)
    expect(received.events).toEqual([])
  })
})

/** A reducer state moved to CLOSED by the transport ending. */
const expectClosed = (s: Connection.State): Connection.State => {
  const received = Connection.receive(s, null)
  expect(received.state.state).toBe(CLOSED)
  return received.state
}

// ---------------------------------------------------------------------------------------------
// The send table

const KINDS = [
  "Request",
  "AcceptConnection",
  "RejectConnection",
  "RejectData",
  "CloseConnection",
  "TextMessage",
  "BytesMessage",
  "Ping",
  "Pong"
] as const
type Kind = (typeof KINDS)[number]

/** One event of each kind, and for the connection's kinds the frame it is sent as. */
const SAMPLES: Record<Kind, { readonly event: () => Events.Event; readonly frame?: readonly [number, Uint8Array] }> = {
  Request: { event: () => new Events.Request({ host: "localhost", target: "/" }) },
  AcceptConnection: { event: () => new Events.AcceptConnection({}) },
  RejectConnection: { event: () => new Events.RejectConnection({}) },
  RejectData: { event: () => new Events.RejectData({ data: utf8("no") }) },
  CloseConnection: {
    event: () => new Events.CloseConnection({ code: 1000, reason: "bye" }),
    frame: [8, closePayload(1000, "bye")]
  },
  TextMessage: { event: () => new Events.TextMessage({ data: "hi" }), frame: [1, utf8("hi")] },
  BytesMessage: { event: () => new Events.BytesMessage({ data: hex("00 01") }), frame: [2, hex("00 01")] },
  Ping: { event: () => new Events.Ping({ payload: utf8("p") }), frame: [9, utf8("p")] },
  Pong: { event: () => new Events.Pong({ payload: utf8("q") }), frame: [10, utf8("q")] }
}

/** What may be sent in each state (wsproto's Connection.send, wsproto src/wsproto/connection.py), and the state sending it leads to. */
const SENDABLE: Record<ConnectionState, Partial<Record<Kind, ConnectionState>>> = {
  [CONNECTING]: {},
  [OPEN]: { TextMessage: OPEN, BytesMessage: OPEN, Ping: OPEN, Pong: OPEN, CloseConnection: LOCAL_CLOSING },
  [REMOTE_CLOSING]: { CloseConnection: CLOSED },
  [LOCAL_CLOSING]: {},
  [CLOSED]: {},
  [REJECTING]: {}
}

type Step = { readonly send: Events.Event } | { readonly receive: Uint8Array | null }

/** Ways a connection reaches each state, as inputs for an end of the given type. */
const routes = (
  type: ConnectionType
): ReadonlyArray<{ readonly name: string; readonly state: ConnectionState; readonly steps: ReadonlyArray<Step> }> => {
  const sendClose: Step = { send: new Events.CloseConnection({ code: 1000 }) }
  const receiveClose: Step = { receive: fromPeer(type, 8, closePayload(1001, "peer")) }
  return [
    { name: "fresh", state: OPEN, steps: [] },
    {
      name: "after traffic",
      state: OPEN,
      steps: [{ receive: fromPeer(type, 1, utf8("a")) }, { send: new Events.Ping({}) }, {
        receive: fromPeer(type, 10, EMPTY)
      }]
    },
    { name: "after a frame violation", state: OPEN, steps: [{ receive: hex("83 00") }] },
    { name: "after sending a close", state: LOCAL_CLOSING, steps: [sendClose] },
    { name: "after receiving a close", state: REMOTE_CLOSING, steps: [receiveClose] },
    { name: "closed by us first", state: CLOSED, steps: [sendClose, receiveClose] },
    { name: "closed by the peer first", state: CLOSED, steps: [receiveClose, sendClose] },
    { name: "transport ended while OPEN", state: CLOSED, steps: [{ receive: null }] },
    { name: "transport ended while LOCAL_CLOSING", state: CLOSED, steps: [sendClose, { receive: null }] },
    { name: "transport ended while REMOTE_CLOSING", state: CLOSED, steps: [receiveClose, { receive: null }] }
  ]
}

const runReducer = (type: ConnectionType, steps: ReadonlyArray<Step>): Connection.State => {
  let s = reducer(type)
  for (const step of steps) {
    if ("send" in step) {
      s = expectOk(Connection.send(s, step.send)).state
    } else {
      const received = Connection.receive(s, step.receive)
      if (received.error instanceof LocalProtocolError) throw received.error
      s = received.state
    }
  }
  return s
}

const runClass = (type: ConnectionType, steps: ReadonlyArray<Step>): Connection.Connection => {
  const c = connection(type)
  for (const step of steps) {
    if ("send" in step) c.send(step.send)
    else c.receiveData(step.receive)
  }
  drain(c)
  return c
}

describe("the send table: every state by every event kind (wsproto's Connection.send, wsproto src/wsproto/connection.py)", () => {
  it("allowedToSend is the table of wsproto's Connection.send (wsproto src/wsproto/connection.py)", () => {
    for (const state of [CONNECTING, OPEN, REMOTE_CLOSING, LOCAL_CLOSING, CLOSED, REJECTING] as const) {
      expect([...Connection.allowedToSend[state]].sort()).toEqual(Object.keys(SENDABLE[state]).sort())
    }
  })

  it("state names print as wsproto prints them", () => {
    for (const state of [CONNECTING, OPEN, REMOTE_CLOSING, LOCAL_CLOSING, CLOSED, REJECTING] as const) {
      expect(stateName(state)).toBe(NAMES[state])
    }
  })

  describe.each(ROLES)("$role end", ({ type }) => {
    const cases = routes(type).flatMap((route) =>
      KINDS.map((kind) => ({ ...route, kind, stateName: NAMES[route.state] }))
    )

    it.each(cases)("$name ($stateName): $kind", ({ kind, state, steps }) => {
      const before = runReducer(type, steps)
      expect(before.state).toBe(state)
      const sample = SAMPLES[kind]
      const next = SENDABLE[state][kind]
      const result = Connection.send(before, sample.event())
      const c = runClass(type, steps)
      expect(c.state).toBe(state)
      if (next === undefined) {
        const error = expectError(result)
        expect(error).toBeInstanceOf(LocalProtocolError)
        expect(error.message).toBe(refusal(kind, state))
        expect(throwsLocal(() => c.send(sample.event())).message).toBe(refusal(kind, state))
        expect(c.state).toBe(state)
        expect(drain(c)).toEqual([])
      } else {
        const step = expectOk(result)
        expect(step.state.state).toBe(next)
        expect(step.events).toEqual([])
        const [opcode, payload] = sample.frame!
        const bytes = concatAll(step.bytes)
        expect(toHex(bytes)).toBe(toHex(fromSelf(type, opcode, payload)))
        expect(toHex(c.send(sample.event()))).toBe(toHex(bytes))
        expect(c.state).toBe(next)
      }
    })
  })

  it("inside an unfinished binary message a binary piece continues it and a text piece is refused", () => {
    const c = connection(SERVER)
    expect(toHex(c.send(new Events.BytesMessage({ data: hex("aa"), messageFinished: false })))).toBe("0201aa")
    const error = throwsLocal(() => c.send(new Events.TextMessage({ data: "hi" })))
    expect(error.message).not.toBe(refusal("TextMessage", OPEN))
    expect(c.state).toBe(OPEN)
    expect(toHex(c.send(new Events.BytesMessage({ data: hex("bb") })))).toBe("8001bb")
  })

  it.each([CONNECTING, REJECTING])(
    "a Connection never enters state %i (CONNECTING, REJECTING) by itself; the table's row still refuses every event",
    (state) => {
      const s: Connection.State = { ...reducer(SERVER), state }
      for (const kind of KINDS) {
        const error = expectError(Connection.send(s, SAMPLES[kind].event()))
        expect(error).toBeInstanceOf(LocalProtocolError)
        expect(error.message).toBe(refusal(kind, state))
      }
    }
  )
})

// CONNECTING and REJECTING are states of the conversation before a connection exists: reached for
// real through WSConnection, where the handshake decides what may be sent.

const NONCE = new Uint8Array(16).fill(1)
const REQUEST = latin1(
  "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Key: AQEBAQEBAQEBAQEBAQEBAQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
/** The 101 for REQUEST: base64(SHA-1(key + GUID)), computed independently. */
const RESPONSE_101 = latin1(
  "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
    "Sec-WebSocket-Accept: 5tWd1XMQfqfRMZqGrwjPEgEvyeE=\r\n\r\n"
)

const wsRoutes: ReadonlyArray<{
  readonly name: string
  readonly type: ConnectionType
  readonly state: ConnectionState
  readonly steps: ReadonlyArray<Step>
  readonly allowed: Partial<Record<Kind, ConnectionState>>
}> = (() => {
  const request: Step = { send: SAMPLES.Request.event() }
  const accept: Step = { send: new Events.AcceptConnection({}) }
  const clientOpen: ReadonlyArray<Step> = [request, { receive: RESPONSE_101 }]
  const serverOpen: ReadonlyArray<Step> = [{ receive: REQUEST }, accept]
  const sendClose: Step = { send: new Events.CloseConnection({ code: 1000 }) }
  const closeFrom = (type: ConnectionType): Step => ({ receive: fromPeer(type, 8, closePayload(1000)) })
  const rejection = latin1("HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nhe")
  return [
    { name: "client, fresh", type: CLIENT, state: CONNECTING, steps: [], allowed: { Request: CONNECTING } },
    { name: "client, request sent", type: CLIENT, state: CONNECTING, steps: [request], allowed: {} },
    {
      name: "client, reading a rejection body",
      type: CLIENT,
      state: REJECTING,
      steps: [request, { receive: rejection }],
      allowed: {}
    },
    {
      name: "client, rejected",
      type: CLIENT,
      state: CLOSED,
      steps: [request, { receive: rejection }, { receive: latin1("llo") }],
      allowed: {}
    },
    { name: "client, open", type: CLIENT, state: OPEN, steps: clientOpen, allowed: SENDABLE[OPEN] },
    { name: "client, closing", type: CLIENT, state: LOCAL_CLOSING, steps: [...clientOpen, sendClose], allowed: {} },
    {
      name: "client, peer closing",
      type: CLIENT,
      state: REMOTE_CLOSING,
      steps: [...clientOpen, closeFrom(CLIENT)],
      allowed: SENDABLE[REMOTE_CLOSING]
    },
    {
      name: "client, closed",
      type: CLIENT,
      state: CLOSED,
      steps: [...clientOpen, sendClose, closeFrom(CLIENT)],
      allowed: {}
    },
    { name: "server, fresh", type: SERVER, state: CONNECTING, steps: [], allowed: { RejectConnection: CLOSED } },
    {
      name: "server, request received",
      type: SERVER,
      state: CONNECTING,
      steps: [{ receive: REQUEST }],
      allowed: { AcceptConnection: OPEN, RejectConnection: CLOSED }
    },
    {
      name: "server, rejecting with a body",
      type: SERVER,
      state: REJECTING,
      steps: [{ receive: REQUEST }, { send: new Events.RejectConnection({ hasBody: true }) }],
      allowed: { RejectData: CLOSED }
    },
    {
      name: "server, rejected",
      type: SERVER,
      state: CLOSED,
      steps: [{ receive: REQUEST }, { send: new Events.RejectConnection({}) }],
      allowed: {}
    },
    { name: "server, open", type: SERVER, state: OPEN, steps: serverOpen, allowed: SENDABLE[OPEN] },
    { name: "server, closing", type: SERVER, state: LOCAL_CLOSING, steps: [...serverOpen, sendClose], allowed: {} },
    {
      name: "server, peer closing",
      type: SERVER,
      state: REMOTE_CLOSING,
      steps: [...serverOpen, closeFrom(SERVER)],
      allowed: SENDABLE[REMOTE_CLOSING]
    },
    {
      name: "server, closed by the transport",
      type: SERVER,
      state: CLOSED,
      steps: [...serverOpen, { receive: null }],
      allowed: {}
    }
  ]
})()

const wsOptions = (type: ConnectionType): WSConnection.WSConnectionOptions => ({
  connectionType: type,
  nonce: () => NONCE,
  maskKey: fixedKey(KEY)
})

const runWsReducer = (type: ConnectionType, steps: ReadonlyArray<Step>): WSConnection.State => {
  let s = WSConnection.make(wsOptions(type))
  for (const step of steps) {
    const received = "send" in step ? expectOk(WSConnection.send(s, step.send)) : WSConnection.receive(s, step.receive)
    if (received.error !== undefined) throw received.error
    s = received.state
  }
  return s
}

const runWsClass = (type: ConnectionType, steps: ReadonlyArray<Step>): WSConnection.WSConnection => {
  const ws = new WSConnection.WSConnection(type, wsOptions(type))
  for (const step of steps) {
    if ("send" in step) ws.send(step.send)
    else ws.receiveData(step.receive)
  }
  drain(ws)
  return ws
}

describe("the send table through WSConnection, in every state a conversation passes through", () => {
  const cases = wsRoutes.flatMap((route) => KINDS.map((kind) => ({ ...route, kind, stateName: NAMES[route.state] })))

  it.each(cases)("$name ($stateName): $kind", ({ allowed, kind, state, steps, type }) => {
    const before = runWsReducer(type, steps)
    expect(WSConnection.connectionState(before)).toBe(state)
    const ws = runWsClass(type, steps)
    expect(ws.state).toBe(state)
    const event = SAMPLES[kind].event()
    const result = WSConnection.send(before, event)
    const next = allowed[kind]
    if (next === undefined) {
      const error = expectError(result)
      expect(error).toBeInstanceOf(LocalProtocolError)
      const thrown = throwsLocal(() => ws.send(SAMPLES[kind].event()))
      expect(thrown.message).toBe(error.message)
      if (before.connection !== undefined) {
        expect(error.message).toBe(refusal(kind, state))
      } else if (SAMPLES[kind].frame !== undefined) {
        // A connection event during the handshake names itself and the state.
        expect(error.message).toContain(kind)
        expect(error.message).toContain(NAMES[state])
      }
      expect(ws.state).toBe(state)
    } else {
      const step = expectOk(result)
      expect(step.error).toBeUndefined()
      expect(WSConnection.connectionState(step.state)).toBe(next)
      const bytes = concatAll(step.bytes)
      expect(bytes.length).toBeGreaterThan(0)
      const frame = SAMPLES[kind].frame
      if (frame !== undefined) expect(toHex(bytes)).toBe(toHex(fromSelf(type, frame[0], frame[1])))
      expect(toHex(ws.send(SAMPLES[kind].event()))).toBe(toHex(bytes))
      expect(ws.state).toBe(next)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Receiving

describe("receiving, state by state (RFC 6455 §5.5.1, §7.1.5, §7.1.7)", () => {
  describe.each(ROLES)("$role end", ({ type }) => {
    const frame = (opcode: number, payload: Uint8Array, fin = true) => fromPeer(type, opcode, payload, fin)

    it("OPEN: frames become events in order; a close moves to REMOTE_CLOSING", () => {
      const input = concatBytes(
        frame(1, utf8("a"), false),
        frame(9, utf8("p")),
        frame(0, utf8("b")),
        frame(2, hex("01 02")),
        frame(10, EMPTY),
        frame(8, closePayload(1000, "done"))
      )
      const expected = [
        text("a", true, false),
        ping("70"),
        text("b", true, true),
        binary("0102"),
        pong(""),
        close(1000, "done")
      ]
      const received = Connection.receive(reducer(type), input)
      expect(received.error).toBeUndefined()
      expect(received.bytes).toEqual([])
      expect(plainEvents(received.events)).toEqual(expected)
      expect(received.state.state).toBe(REMOTE_CLOSING)
      const c = connection(type)
      c.receiveData(input)
      expect(plainOf(c)).toEqual(expected)
      expect(c.state).toBe(REMOTE_CLOSING)
    })

    it("OPEN: empty input does nothing", () => {
      const received = Connection.receive(reducer(type), EMPTY)
      expect(received).toMatchObject({ events: [], error: undefined })
      expect(received.state.state).toBe(OPEN)
      const c = connection(type)
      c.receiveData(EMPTY)
      expect(drain(c)).toEqual([])
      expect(c.state).toBe(OPEN)
    })

    it("LOCAL_CLOSING: data and control frames still surface; the peer's close moves to CLOSED", () => {
      const s = expectOk(Connection.send(reducer(type), new Events.CloseConnection({ code: 1000 }))).state
      const input = concatBytes(frame(1, utf8("late")), frame(9, utf8("p")), frame(8, closePayload(1000)))
      const received = Connection.receive(s, input)
      expect(received.error).toBeUndefined()
      expect(plainEvents(received.events)).toEqual([text("late"), ping("70"), close(1000)])
      expect(received.state.state).toBe(CLOSED)
      const c = connection(type)
      c.send(new Events.CloseConnection({ code: 1000 }))
      c.receiveData(input)
      expect(plainOf(c)).toEqual([text("late"), ping("70"), close(1000)])
      expect(c.state).toBe(CLOSED)
    })

    it("LOCAL_CLOSING: a ping cannot be answered (no Pong after our close)", () => {
      const c = connection(type)
      c.send(new Events.CloseConnection({ code: 1000 }))
      c.receiveData(frame(9, utf8("p")))
      const received = drain(c)
      expect(throwsLocal(() => c.send(firstAs(received, Events.Ping).response())).message).toBe(
        refusal("Pong", LOCAL_CLOSING)
      )
    })

    it("REMOTE_CLOSING: bytes are dropped, valid or not, without an error", () => {
      const s = Connection.receive(reducer(type), frame(8, closePayload(1000))).state
      expect(s.state).toBe(REMOTE_CLOSING)
      for (const input of [frame(1, utf8("a")), hex("83 00"), hex("ff ff ff"), EMPTY]) {
        const received = Connection.receive(s, input)
        expect(received).toMatchObject({ events: [], bytes: [], error: undefined })
        expect(received.state.state).toBe(REMOTE_CLOSING)
      }
      const c = connection(type)
      c.receiveData(frame(8, closePayload(1000)))
      drain(c)
      c.receiveData(frame(1, utf8("a")))
      c.receiveData(hex("83 00"))
      expect(drain(c)).toEqual([])
      expect(c.state).toBe(REMOTE_CLOSING)
    })

    it.each(
      [
        ["bytes", utf8("x")],
        ["empty bytes", EMPTY],
        ["the transport's end", null]
      ] as const
    )("CLOSED: %s give LocalProtocolError(\"Connection already closed\")", (_, input) => {
      const s = expectClosed(reducer(type))
      const received = Connection.receive(s, input)
      expect(received.error).toBeInstanceOf(LocalProtocolError)
      expect(received.error?.message).toBe(ALREADY_CLOSED)
      expect(received.events).toEqual([])
      expect(received.state.state).toBe(CLOSED)
      const c = connection(type)
      c.receiveData(null)
      drain(c)
      expect(throwsLocal(() => c.receiveData(input)).message).toBe(ALREADY_CLOSED)
      expect(drain(c)).toEqual([])
      expect(c.state).toBe(CLOSED)
    })

    it.each([
      ["OPEN", [] as ReadonlyArray<Step>],
      ["LOCAL_CLOSING", [{ send: new Events.CloseConnection({ code: 1000 }) }] as ReadonlyArray<Step>],
      ["REMOTE_CLOSING", [{ receive: fromPeer(type, 8, closePayload(1000)) }] as ReadonlyArray<Step>]
    ])("%s: the transport's end gives CloseConnection(1006, \"\") and CLOSED", (_, steps) => {
      const received = Connection.receive(runReducer(type, steps), null)
      expect(received.error).toBeUndefined()
      expect(plainEvents(received.events)).toEqual([close(1006, "")])
      expect(received.state.state).toBe(CLOSED)
      const c = runClass(type, steps)
      c.receiveData(null)
      expect(plainOf(c)).toEqual([close(1006, "")])
      expect(c.state).toBe(CLOSED)
    })

    it("the transport's end inside a frame: the piece already received, then 1006", () => {
      const whole = frame(1, utf8("hello"))
      const c = connection(type)
      c.receiveData(whole.subarray(0, whole.length - 3))
      c.receiveData(null)
      expect(plainOf(c)).toEqual([text("he", false, false), close(1006, "")])
      expect(c.state).toBe(CLOSED)
    })

    it("events are the Schema classes", () => {
      const input = concatBytes(
        frame(1, utf8("a")),
        frame(2, hex("01")),
        frame(9, EMPTY),
        frame(10, EMPTY),
        frame(8, closePayload(1000))
      )
      const received = Connection.receive(reducer(type), input)
      const classes = [Events.TextMessage, Events.BytesMessage, Events.Ping, Events.Pong, Events.CloseConnection]
      expect(received.events.length).toBe(5)
      received.events.forEach((event, i) => {
        expect(event).toBeInstanceOf(classes[i]!)
        expect(Schema.is(Events.Event)(event)).toBe(true)
      })
      const closing = Connection.receive(received.state, null)
      expect(Schema.is(Events.Event)(closing.events[0])).toBe(true)
    })
  })
})

// ---------------------------------------------------------------------------------------------
// Frame-level violations

describe("frame-level violations: a RemoteProtocolError from the reducer, a CloseConnection event from the class", () => {
  const violations = [
    { name: "invalid opcode", input: hex("83 00"), code: 1002, message: "Invalid opcode 0x3", options: {} },
    {
      name: "invalid UTF-8",
      input: hex("81 02 c0 80"),
      code: 1007,
      message: "Invalid UTF-8 in text message",
      options: {}
    },
    {
      name: "frame over maxFrameSize",
      input: hex("82 04 01 02 03 04"),
      code: 1009,
      message: "Frame payload of 4 bytes exceeds the limit of 3",
      options: { maxFrameSize: 3 }
    },
    {
      name: "masked frame to a client",
      input: rawFrame({ fin: true, opcode: 1, payload: utf8("a"), mask: KEY }),
      code: 1002,
      message: "client received unexpected masked frame",
      options: {}
    }
  ] as const

  it.each(violations)("$name → $code", ({ code, input, message, options }) => {
    const before = reducer(CLIENT, options)
    const received = Connection.receive(before, input)
    expect(received.events).toEqual([])
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    const error = received.error as RemoteProtocolError
    expect(error.closeCode).toBe(code)
    expect(error.message).toBe(message)
    expect(error.eventHint).toBeInstanceOf(Events.CloseConnection)
    expect(plainEvents([error.eventHint!])).toEqual([close(code, message)])
    expect(received.state.state).toBe(OPEN)
    const c = connection(CLIENT, undefined, options)
    c.receiveData(input)
    expect(plainOf(c)).toEqual([close(code, message)])
    expect(c.state).toBe(OPEN)
  })

  it("the server refuses an unmasked frame with 1002", () => {
    const received = Connection.receive(reducer(SERVER), hex("81 01 61"))
    expect(received.error?._tag).toBe("RemoteProtocolError")
    expect((received.error as RemoteProtocolError).closeCode).toBe(1002)
    const c = connection(SERVER)
    c.receiveData(hex("81 01 61"))
    expect(plainOf(c)).toEqual([close(1002, "server received unexpected unmasked frame")])
  })

  it("RFC 6455 §7.1.7: events before the violation in the same read come first; nothing after it", () => {
    const input = hex("81 01 61 8a 01 62 83 00 81 01 63")
    const received = Connection.receive(reducer(CLIENT), input)
    expect(plainEvents(received.events)).toEqual([text("a"), pong("62")])
    expect(received.error?.message).toBe("Invalid opcode 0x3")
    const c = connection(CLIENT)
    c.receiveData(input)
    expect(plainOf(c)).toEqual([text("a"), pong("62"), close(1002, "Invalid opcode 0x3")])
    expect(c.state).toBe(OPEN)
  })

  it("a violation in LOCAL_CLOSING leaves LOCAL_CLOSING", () => {
    const s = expectOk(Connection.send(reducer(CLIENT), new Events.CloseConnection({ code: 1000 }))).state
    const received = Connection.receive(s, hex("83 00"))
    expect(received.error).toBeInstanceOf(RemoteProtocolError)
    expect(received.state.state).toBe(LOCAL_CLOSING)
    const c = connection(CLIENT)
    c.send(new Events.CloseConnection({ code: 1000 }))
    c.receiveData(hex("83 00"))
    expect(plainOf(c)).toEqual([close(1002, "Invalid opcode 0x3")])
    expect(c.state).toBe(LOCAL_CLOSING)
  })

  it("RFC 6455 §7.1.7 (reducer): nothing more is received; the hint is sent; the peer's close is not surfaced; the transport's end closes", () => {
    const first = Connection.receive(reducer(CLIENT), hex("83 00"))
    const error = first.error as RemoteProtocolError
    const later = Connection.receive(first.state, hex("81 01 61"))
    expect(later.events).toEqual([])
    expect(later.state.state).toBe(OPEN)
    // A failed decoder stays failed: the same violation again (Frame.DecodeResult), marked as
    // repeated so that a caller reports it once.
    expect(first.repeated).toBe(false)
    expect(error.reason).toBe("ProtocolViolation")
    expect(error.closeCode).toBe(1002)
    expect(later.error).toBeInstanceOf(RemoteProtocolError)
    expect(later.error?.message).toBe(error.message)
    expect(later.repeated).toBe(true)
    const sent = expectOk(Connection.send(later.state, error.eventHint!))
    expect(toHex(concatAll(sent.bytes))).toBe(toHex(fromSelf(CLIENT, 8, closePayload(1002, "Invalid opcode 0x3"))))
    expect(sent.state.state).toBe(LOCAL_CLOSING)
    const reply = Connection.receive(sent.state, hex("88 02 03 ea"))
    expect(reply.events).toEqual([])
    expect(reply.state.state).toBe(LOCAL_CLOSING)
    const end = Connection.receive(reply.state, null)
    expect(plainEvents(end.events)).toEqual([close(1006, "")])
    expect(end.state.state).toBe(CLOSED)
  })

  it("RFC 6455 §7.1.7 (class): the error event leaves OPEN, and its response is sent and moves to LOCAL_CLOSING", () => {
    const c = connection(CLIENT)
    c.receiveData(hex("83 00"))
    const events = drain(c)
    expect(plainEvents(events)).toEqual([close(1002, "Invalid opcode 0x3")])
    expect(c.state).toBe(OPEN)
    const bytes = c.send(firstAs(events, Events.CloseConnection).response())
    expect(toHex(bytes)).toBe(toHex(fromSelf(CLIENT, 8, closePayload(1002, "Invalid opcode 0x3"))))
    expect(c.state).toBe(LOCAL_CLOSING)
  })

  it("RFC 6455 §7.1.7 (class): after the error event, later bytes produce nothing", () => {
    const c = connection(CLIENT)
    c.receiveData(hex("83 00"))
    expect(drain(c).length).toBe(1)
    c.receiveData(hex("81 01 61"))
    expect(plainOf(c)).toEqual([])
    c.send(new Events.CloseConnection({ code: 1002 }))
    c.receiveData(hex("88 02 03 ea"))
    expect(plainOf(c)).toEqual([])
    expect(c.state).toBe(LOCAL_CLOSING)
    c.receiveData(null)
    expect(plainOf(c)).toEqual([close(1006, "")])
    expect(c.state).toBe(CLOSED)
  })
})

// ---------------------------------------------------------------------------------------------
// wsproto's experiments on the connection (wsproto run by hand, no wsproto test)

describe("wsproto's connection experiments (wsproto run by hand, no wsproto test)", () => {
  it("RFC 6455 §5.5.1: an empty close is CloseConnection(1005, \"\"); its response is an empty masked close and CLOSED", () => {
    const c = connection(CLIENT)
    c.receiveData(hex("88 00"))
    const events = drain(c)
    expect(plainEvents(events)).toEqual([close(1005, "")])
    expect(c.state).toBe(REMOTE_CLOSING)
    expect(toHex(c.send(firstAs(events, Events.CloseConnection).response()))).toBe("8880" + toHex(KEY))
    expect(c.state).toBe(CLOSED)
  })

  it("RFC 6455 §5.5.1: after the peer's close, bytes are dropped, messages refused, the response closes, and then receiving throws", () => {
    const c = connection(CLIENT)
    c.receiveData(hex("88 02 03 e8"))
    const events = drain(c)
    expect(plainEvents(events)).toEqual([close(1000, "")])
    expect(c.state).toBe(REMOTE_CLOSING)
    c.receiveData(hex("81 01 61"))
    expect(drain(c)).toEqual([])
    expect(throwsLocal(() => c.send(new Events.TextMessage({ data: "x" }))).message).toBe(
      refusal("TextMessage", REMOTE_CLOSING)
    )
    expect(toHex(c.send(firstAs(events, Events.CloseConnection).response()))).toBe(
      toHex(fromSelf(CLIENT, 8, closePayload(1000)))
    )
    expect(c.state).toBe(CLOSED)
    expect(throwsLocal(() => c.receiveData(utf8("x"))).message).toBe(ALREADY_CLOSED)
  })

  it("RFC 6455 §5.5.1: nothing after a close frame in the same read; a frame before it comes first", () => {
    const a = connection(CLIENT)
    a.receiveData(hex("88 00 81 01 61"))
    expect(plainOf(a)).toEqual([close(1005, "")])
    const b = connection(CLIENT)
    b.receiveData(hex("81 01 61 88 00"))
    expect(plainOf(b)).toEqual([text("a"), close(1005, "")])
    expect(plainEvents(Connection.receive(reducer(CLIENT), hex("88 00 81 01 61")).events)).toEqual([close(1005, "")])
    expect(plainEvents(Connection.receive(reducer(CLIENT), hex("81 01 61 88 00")).events)).toEqual([
      text("a"),
      close(1005, "")
    ])
  })

  describe("RFC 6455 §7.1.4, §7.1.5, fixed where wsproto differs: the transport's end never reorders events nor leaves CLOSED", () => {
    it("a second end of the transport is a LocalProtocolError, not a second 1006", () => {
      const c = connection(CLIENT)
      c.receiveData(null)
      expect(throwsLocal(() => c.receiveData(null)).message).toBe(ALREADY_CLOSED)
      expect(plainOf(c)).toEqual([close(1006, "")])
      expect(c.state).toBe(CLOSED)
    })

    it("frames received before the end come before the 1006", () => {
      const c = connection(CLIENT)
      c.receiveData(hex("81 01 61"))
      c.receiveData(null)
      expect(plainOf(c)).toEqual([text("a"), close(1006, "")])
      const first = Connection.receive(reducer(CLIENT), hex("81 01 61"))
      const end = Connection.receive(first.state, null)
      expect(plainEvents(first.events)).toEqual([text("a")])
      expect(plainEvents(end.events)).toEqual([close(1006, "")])
    })

    it("with a close received before the end, the state goes REMOTE_CLOSING → CLOSED and stays CLOSED", () => {
      const c = connection(CLIENT)
      c.receiveData(hex("81 01 61 88 00"))
      expect(c.state).toBe(REMOTE_CLOSING)
      c.receiveData(null)
      expect(c.state).toBe(CLOSED)
      expect(plainOf(c)).toEqual([text("a"), close(1005, ""), close(1006, "")])
      expect(c.state).toBe(CLOSED)
    })
  })

  it("RFC 6455 §5.5.1: after the server's close, it refuses to send, still surfaces data, and the client's close ends it", () => {
    const server = connection(SERVER)
    expect(toHex(server.send(new Events.CloseConnection({ code: 1001, reason: "away" })))).toBe("880603e961776179")
    expect(server.state).toBe(LOCAL_CLOSING)
    for (
      const event of [
        new Events.Ping({}),
        new Events.TextMessage({ data: "x" }),
        new Events.CloseConnection({ code: 1000 })
      ]
    ) {
      expect(throwsLocal(() => server.send(event)).message).toBe(refusal(event._tag, LOCAL_CLOSING))
    }
    server.receiveData(fromPeer(SERVER, 1, utf8("still")))
    expect(plainOf(server)).toEqual([text("still")])
    server.receiveData(fromPeer(SERVER, 8, closePayload(1001)))
    expect(plainOf(server)).toEqual([close(1001, "")])
    expect(server.state).toBe(CLOSED)
  })

  describe("RFC 9110 §7.8: a Connection constructed with trailing data", () => {
    it("surfaces the frames in the trailing data", () => {
      const c = connection(CLIENT, hex("81 02 68 69"))
      expect(plainOf(c)).toEqual([text("hi")])
      expect(c.state).toBe(OPEN)
    })

    it("a server decodes masked trailing data", () => {
      const c = connection(SERVER, fromPeer(SERVER, 2, hex("01 02 03")))
      expect(plainOf(c)).toEqual([binary("010203")])
    })

    it("a partial frame in the trailing data is completed by the next read", () => {
      const c = connection(CLIENT, hex("81 05 68 65"))
      expect(plainOf(c)).toEqual([text("he", false, false)])
      c.receiveData(hex("6c 6c 6f"))
      expect(plainOf(c)).toEqual([text("llo", true, true)])
    })

    it("a close in the trailing data moves to REMOTE_CLOSING at once", () => {
      const c = connection(CLIENT, hex("81 01 61 88 02 03 e8"))
      expect(c.state).toBe(REMOTE_CLOSING)
      expect(plainOf(c)).toEqual([text("a"), close(1000, "")])
    })

    it("a violation in the trailing data is a CloseConnection event, state OPEN", () => {
      const c = connection(CLIENT, hex("83 00"))
      expect(plainOf(c)).toEqual([close(1002, "Invalid opcode 0x3")])
      expect(c.state).toBe(OPEN)
    })

    it("empty trailing data gives nothing", () => {
      const c = connection(CLIENT, EMPTY)
      expect(drain(c)).toEqual([])
      expect(c.state).toBe(OPEN)
    })
  })

  describe("RFC 6455 §9.1: a Connection frames with exactly the extensions it is given (wsproto's enabled() has no counterpart)", () => {
    const rsv1: Extension<undefined> = {
      name: "rsv1",
      init: () => undefined,
      inboundHeader: (state) => ({ state, value: Frame.RSV1 }),
      outbound: (state, frame) => ({
        state,
        value: frame.opcode >= 8 ? frame : { ...frame, rsv: frame.rsv | Frame.RSV1 }
      })
    }
    const inert: Extension<undefined> = { name: "inert", init: () => undefined }

    it("an extension given takes part: its RSV1 frames are accepted and it marks what is sent", () => {
      const c = new Connection.Connection(CLIENT, [rsv1], undefined, { maskKey: fixedKey(KEY) })
      c.receiveData(hex("c1 01 61"))
      expect(plainOf(c)).toEqual([text("a")])
      expect(toHex(c.send(new Events.TextMessage({ data: "a" })))).toBe(
        toHex(rawFrame({ fin: true, rsv: Frame.RSV1, opcode: 1, payload: utf8("a"), mask: KEY }))
      )
      expect(toHex(c.send(new Events.Ping({})))).toBe("8980" + toHex(KEY))
    })

    it("an extension not given takes no part; one without hooks changes nothing", () => {
      for (const extensions of [[], [inert]]) {
        const c = new Connection.Connection(CLIENT, extensions, undefined, { maskKey: fixedKey(KEY) })
        expect(toHex(c.send(new Events.TextMessage({ data: "a" })))).toBe(toHex(fromSelf(CLIENT, 1, utf8("a"))))
        c.receiveData(hex("c1 01 61"))
        expect(plainOf(c)).toEqual([close(1002, "Reserved bit set unexpectedly")])
      }
    })
  })
})

// ---------------------------------------------------------------------------------------------
// Bytes written

describe("the bytes the class writes (RFC 6455 §5.2, §5.5, §5.5.1, as in wsproto)", () => {
  it.each(
    [
      ["TextMessage(\"hi\")", "81026869", () => new Events.TextMessage({ data: "hi" })],
      ["BytesMessage(00 01)", "82020001", () => new Events.BytesMessage({ data: hex("00 01") })],
      ["Ping()", "8900", () => new Events.Ping({})],
      ["Ping(\"ab\")", "89026162", () => new Events.Ping({ payload: utf8("ab") })],
      ["Pong(\"z\")", "8a017a", () => new Events.Pong({ payload: utf8("z") })],
      ["TextMessage(\"\")", "8100", () => new Events.TextMessage({ data: "" })],
      [
        "TextMessage(\"a\", frameFinished=false)",
        "810161",
        () => new Events.TextMessage({ data: "a", frameFinished: false })
      ],
      ["TextMessage(\"ƒ\")", "8102c692", () => new Events.TextMessage({ data: "ƒ" })],
      ["Ping(125 bytes)", "897d" + "61".repeat(125), () => new Events.Ping({ payload: repeatByte(0x61, 125) })]
    ] as const
  )("server %s → %s", (_, expected, event) => {
    const c = connection(SERVER)
    expect(toHex(c.send(event()))).toBe(expected)
    expect(c.state).toBe(OPEN)
    expect(toHex(concatAll(expectOk(Connection.send(reducer(SERVER), event())).bytes))).toBe(expected)
  })

  it.each(
    [
      [1000, "bye", "880503e8627965"],
      [1001, "away", "880603e961776179"],
      [1005, "", "8800"],
      [1014, "", "880203f6"],
      [4999, "r", "8803138772"],
      [3000, "", "88020bb8"],
      [1011, "", "880203f3"]
    ] as const
  )("server close(%i, %j) → %s, LOCAL_CLOSING", (code, reason, expected) => {
    const c = connection(SERVER)
    expect(toHex(c.send(new Events.CloseConnection({ code, reason })))).toBe(expected)
    expect(c.state).toBe(LOCAL_CLOSING)
  })

  it("a close reason is cut to 123 bytes of UTF-8 at a character boundary (RFC 6455 §5.5, §5.5.1)", () => {
    const ascii = connection(SERVER).send(new Events.CloseConnection({ code: 1000, reason: "a".repeat(124) }))
    expect(ascii.length).toBe(127)
    expect(toHex(ascii)).toBe("887d03e8" + "61".repeat(123))
    const accented = connection(SERVER).send(new Events.CloseConnection({ code: 1000, reason: "é".repeat(70) }))
    expect(accented.length).toBe(126)
    expect(toHex(accented)).toBe("887c03e8" + "c3a9".repeat(61))
  })

  it.each([1006, 1015, 999, 1004, 1016, 2999, 5000, 70000, 0, -1])(
    "close(%i) is a LocalProtocolError and the state stays OPEN (wsproto rewrites or crashes)",
    (code) => {
      const c = connection(SERVER)
      throwsLocal(() => c.send(new Events.CloseConnection({ code })))
      expect(c.state).toBe(OPEN)
      expect(expectError(Connection.send(reducer(SERVER), new Events.CloseConnection({ code })))).toBeInstanceOf(
        LocalProtocolError
      )
      expect(toHex(c.send(new Events.CloseConnection({ code: 1000 })))).toBe("880203e8")
    }
  )

  it("close(1005) with a reason is a LocalProtocolError: a reason needs a code", () => {
    const c = connection(SERVER)
    expect(throwsLocal(() => c.send(new Events.CloseConnection({ code: 1005, reason: "x" }))).message).toBe(
      "cannot specify a reason without a code"
    )
    expect(c.state).toBe(OPEN)
  })

  it("control payloads over 125 bytes are refused and leave the state (RFC 6455 §5.5)", () => {
    const c = connection(SERVER)
    throwsLocal(() => c.send(new Events.Ping({ payload: repeatByte(0x61, 126) })))
    throwsLocal(() => c.send(new Events.Pong({ payload: repeatByte(0x61, 70000) })))
    expect(c.state).toBe(OPEN)
  })

  it("a client masks with its key source", () => {
    const c = connection(CLIENT)
    expect(toHex(c.send(new Events.TextMessage({ data: "hi" })))).toBe("8182" + "01020304" + "696b")
    expect(toHex(c.send(new Events.CloseConnection({ code: 1000 })))).toBe("8882" + "01020304" + "02ea")
  })

  it("a large server payload comes from the class as one array, equal to the reducer's chunks", () => {
    const data = new Uint8Array(70000).map((_, i) => i & 0xff)
    const chunks = expectOk(Connection.send(reducer(SERVER), new Events.BytesMessage({ data }))).bytes
    const bytes = connection(SERVER).send(new Events.BytesMessage({ data }))
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect(bytes.length).toBe(70010)
    expect(toHex(bytes.subarray(0, 10))).toBe("827f0000000000011170")
    expect(toHex(bytes)).toBe(toHex(concatAll(chunks)))
  })

  it("sendChunks gives a large server payload uncopied behind its header; the state moves as with send", () => {
    const data = new Uint8Array(70000).map((_, i) => i & 0xff)
    const c = connection(SERVER)
    const chunks = c.sendChunks(new Events.BytesMessage({ data }))
    expect(chunks.length).toBe(2)
    expect(toHex(chunks[0]!)).toBe("827f0000000000011170")
    expect(chunks[1]).toBe(data)
    expect(toHex(concatAll(chunks))).toBe(toHex(connection(SERVER).send(new Events.BytesMessage({ data }))))
    expect(toHex(concatAll(c.sendChunks(new Events.CloseConnection({ code: 1000 }))))).toBe("880203e8")
    expect(c.state).toBe(LOCAL_CLOSING)
    expect(() => c.sendChunks(new Events.TextMessage({ data: "late" }))).toThrow(LocalProtocolError)
    const ws = new WSConnection.WSConnection(SERVER)
    ws.receiveData(
      new TextEncoder().encode(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
      )
    )
    ws.send(new Events.AcceptConnection())
    const wsChunks = ws.sendChunks(new Events.BytesMessage({ data }))
    expect(wsChunks[1]).toBe(data)
    expect(toHex(wsChunks[0]!)).toBe("827f0000000000011170")
  })

  it("fragmented sends: pieces with messageFinished=false, then the last; fragmentSize splits each", () => {
    const c = connection(SERVER, undefined, { fragmentSize: 4 })
    expect(toHex(c.send(new Events.TextMessage({ data: "abcdef" })))).toBe("010461626364" + "80026566")
    expect(toHex(c.send(new Events.TextMessage({ data: "abcdef", messageFinished: false })))).toBe(
      "010461626364" + "00026566"
    )
    expect(toHex(c.send(new Events.Ping({ payload: utf8("p") })))).toBe("890170")
    expect(toHex(c.send(new Events.TextMessage({ data: "gh" })))).toBe("80026768")
  })

  it("bytes returned earlier are not overwritten by later sends", () => {
    const c = connection(CLIENT)
    const sent = [1, 2, 3, 4, 5].map((n) => c.send(new Events.TextMessage({ data: "x".repeat(n) })))
    for (const _ of Array.from({ length: 100 })) c.send(new Events.BytesMessage({ data: repeatByte(0xee, 50) }))
    sent.forEach((bytes, i) => expect(toHex(bytes)).toBe(toHex(fromSelf(CLIENT, 1, utf8("x".repeat(i + 1))))))
  })
})

describe("decoder options through the Connection", () => {
  it("assembleMessages: one event per message, control frames in between surface at once", () => {
    const c = connection(CLIENT, undefined, { assembleMessages: true })
    c.receiveData(hex("01 01 61"))
    expect(drain(c)).toEqual([])
    c.receiveData(hex("89 01 7a 80 01 62"))
    expect(plainOf(c)).toEqual([ping("7a"), text("ab")])
  })

  it("maxMessageSize: a message growing past it fails with 1009 after the pieces before", () => {
    const c = connection(CLIENT, undefined, { maxMessageSize: 3 })
    c.receiveData(hex("01 02 61 62 80 02 62 63"))
    expect(plainOf(c)).toEqual([text("ab", true, false), close(1009, "Message exceeds the limit of 3 bytes")])
    expect(c.state).toBe(OPEN)
  })

  it("the reducer leaves its input state usable: stepping the same state twice gives the same result", () => {
    const s = reducer(CLIENT)
    const a = Connection.receive(s, hex("81 01 61"))
    const b = Connection.receive(s, hex("81 01 61"))
    expect(plainEvents(a.events)).toEqual(plainEvents(b.events))
    expect(s.state).toBe(OPEN)
    const closed = Connection.send(s, new Events.CloseConnection({ code: 1000 }))
    expect(closed.error).toBeUndefined()
    expect(s.state).toBe(OPEN)
  })
})

describe("a close code the wire cannot carry is a LocalProtocolError when sent, not a Schema error when built", () => {
  it.each([1000.5, Number.NaN, 70000, -1])("CloseConnection(%s)", (code) => {
    const event = new Events.CloseConnection({ code })
    const error = expectError(Connection.send(reducer(SERVER), event))
    expect(error).toBeInstanceOf(LocalProtocolError)
    expect(error.reason).toBe("InvalidEvent")
    expect(error.message).toContain(String(code))
    expect(throwsLocal(() => connection(SERVER).send(new Events.CloseConnection({ code }))).reason).toBe("InvalidEvent")
  })

  it("a status that is not an integer is refused when the rejection is sent", () => {
    const server = WSConnection.receive(
      WSConnection.make({ connectionType: SERVER }),
      new TextEncoder().encode(
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
      )
    ).state
    const error = expectError(WSConnection.send(server, new Events.RejectConnection({ statusCode: 400.5 })))
    expect(error._tag).toBe("LocalProtocolError")
    expect((error as LocalProtocolError).reason).toBe("InvalidEvent")
  })
})
