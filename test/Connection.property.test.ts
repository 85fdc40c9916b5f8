/**
 * Properties of the connection, checked with fast-check:
 * (a) a client and a server (`WSConnection` reducers wired together, and the same with the
 *     classes) exchange any sequence of random messages — text and binary, whole or in pieces sent
 *     with `messageFinished: false`, pings in between answered by pongs, the bytes cut anywhere on
 *     the way — each side receives exactly what the other sent, and both close cleanly with the
 *     same code and reason;
 * (b) for the same inputs the reducer face and the class face give identical bytes and events
 *     (`WSConnection` in the conversation above; `Connection` for any mix of sends and of received
 *     bytes, valid frames or not).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ConnectionState, ConnectionType } from "../src/ConnectionState.js"
import { LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import type * as WSConnection from "../src/WSConnection.js"
import {
  closePayload,
  concatAll,
  connectionClassFace,
  connectionReducerFace,
  type Face,
  fixedKey,
  plainEvents,
  rawFrame,
  splitAt,
  toHex,
  utf8,
  wsClassFace,
  wsReducerFace,
  wsServiceFace
} from "./helpers.js"

const { CLIENT, SERVER } = ConnectionType
type Side = "client" | "server"
const other = (side: Side): Side => (side === "client" ? "server" : "client")

// ---------------------------------------------------------------------------------------------
// Scenarios

type Piece = string | Uint8Array

type Action =
  /** A message from `from` in pieces (all strings or all bytes); `pings[i]` is sent after piece i. */
  | {
    readonly _tag: "Message"
    readonly from: Side
    readonly pieces: ReadonlyArray<Piece>
    readonly pings: ReadonlyArray<Uint8Array | null>
  }
  | { readonly _tag: "Ping"; readonly from: Side; readonly payload: Uint8Array }
  /** What `from` has written so far reaches the other side, cut at the given offsets. */
  | { readonly _tag: "Deliver"; readonly from: Side; readonly cuts: ReadonlyArray<number> }

interface Scenario {
  readonly actions: ReadonlyArray<Action>
  readonly closer: Side
  readonly code: number
  readonly reason: string
  readonly maskKey: Uint8Array
  readonly fragmentSize: number | null
  readonly cuts: ReadonlyArray<number>
}

const side = fc.constantFrom<Side>("client", "server")
const cuts = fc.array(fc.nat({ max: 400 }), { maxLength: 6 })
const text = fc.string({ unit: "binary", maxLength: 24 })
const bytes = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }) }
)
const controlPayload = fc.uint8Array({ maxLength: 12 })

const message = fc
  .oneof(fc.array(text, { minLength: 1, maxLength: 4 }), fc.array(bytes, { minLength: 1, maxLength: 4 }))
  .chain((pieces: ReadonlyArray<Piece>) =>
    fc.record({
      _tag: fc.constant("Message" as const),
      from: side,
      pieces: fc.constant(pieces),
      pings: fc.array(fc.option(controlPayload, { nil: null, freq: 2 }), {
        minLength: pieces.length,
        maxLength: pieces.length
      })
    })
  )

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: message },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("Ping" as const), from: side, payload: controlPayload }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("Deliver" as const), from: side, cuts }) }
)

/** Codes a peer may send (RFC 6455 §7.4): 1000–1003, 1007–1014, 3000–4999. */
const closeCode = fc.oneof(
  fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014),
  fc.integer({ min: 3000, max: 4999 })
)

const scenario: fc.Arbitrary<Scenario> = fc.record({
  actions: fc.array(action, { maxLength: 14 }),
  closer: side,
  code: closeCode,
  // At most 30 code points: at most 120 bytes of UTF-8, so never cut (123 is the limit).
  reason: fc.string({ unit: "binary", maxLength: 30 }),
  maskKey: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  fragmentSize: fc.option(fc.integer({ min: 1, max: 16 }), { nil: null }),
  cuts
})

// ---------------------------------------------------------------------------------------------
// Running a scenario

/** What one side sent or received, message by message. */
type Item =
  | { readonly _tag: "text"; readonly data: string }
  | { readonly _tag: "binary" | "ping" | "pong"; readonly data: string }

interface Outcome {
  /** Every step: the bytes written or the events received, by whom. */
  readonly trace: Array<unknown>
  readonly sent: Record<Side, Array<Item>>
  readonly received: Record<Side, Array<Item>>
  readonly closes: Record<Side, Array<unknown>>
  readonly states: Record<Side, ConnectionState>
}

const run = (makeFace: (options: WSConnection.WSConnectionOptions) => Face, s: Scenario): Outcome => {
  const options = (type: ConnectionType): WSConnection.WSConnectionOptions => ({
    connectionType: type,
    nonce: () => new Uint8Array(16).fill(7),
    maskKey: fixedKey(s.maskKey),
    ...(s.fragmentSize === null ? {} : { fragmentSize: s.fragmentSize })
  })
  const faces: Record<Side, Face> = { client: makeFace(options(CLIENT)), server: makeFace(options(SERVER)) }
  const outbox: Record<Side, Array<Uint8Array>> = { client: [], server: [] }
  const trace: Array<unknown> = []
  const sent: Record<Side, Array<Item>> = { client: [], server: [] }
  const received: Record<Side, Array<Item>> = { client: [], server: [] }
  const closes: Record<Side, Array<unknown>> = { client: [], server: [] }
  const partial: Record<Side, { text: string; bytes: Array<Uint8Array> }> = {
    client: { text: "", bytes: [] },
    server: { text: "", bytes: [] }
  }

  const send = (by: Side, event: Events.Event): void => {
    const step = faces[by].send(event)
    expect(step.events).toEqual([])
    outbox[by].push(step.bytes)
    trace.push({ by, sent: toHex(step.bytes), state: faces[by].state() })
  }

  const onEvent = (to: Side, event: Events.Event): void => {
    switch (event._tag) {
      case "TextMessage":
        partial[to].text += event.data
        if (event.messageFinished) {
          received[to].push({ _tag: "text", data: partial[to].text })
          partial[to].text = ""
        }
        break
      case "BytesMessage":
        partial[to].bytes.push(event.data)
        if (event.messageFinished) {
          received[to].push({ _tag: "binary", data: toHex(concatAll(partial[to].bytes)) })
          partial[to].bytes = []
        }
        break
      case "Ping":
        received[to].push({ _tag: "ping", data: toHex(event.payload) })
        sent[to].push({ _tag: "pong", data: toHex(event.payload) })
        send(to, event.response())
        break
      case "Pong":
        received[to].push({ _tag: "pong", data: toHex(event.payload) })
        break
      case "CloseConnection":
        closes[to].push(plainEvents([event])[0])
        break
      case "Request":
      case "AcceptConnection":
        break
      default:
        throw new Error(`unexpected event ${event._tag}`)
    }
  }

  const deliver = (from: Side, at: ReadonlyArray<number>): ReadonlyArray<Events.Event> => {
    const data = concatAll(outbox[from])
    outbox[from] = []
    const to = other(from)
    const offsets = [...new Set(at.filter((cut) => cut > 0 && cut < data.length))].sort((a, b) => a - b)
    const all: Array<Events.Event> = []
    for (const chunk of data.length === 0 ? [] : splitAt(data, offsets)) {
      const events = faces[to].receive(chunk)
      trace.push({ to, received: plainEvents(events), state: faces[to].state() })
      for (const event of events) {
        all.push(event)
        onEvent(to, event)
      }
    }
    return all
  }

  // The opening handshake; the 101 waits in the server's outbox, to share a read with its frames.
  send("client", new Events.Request({ host: "localhost", target: "/chat" }))
  const requests = deliver("client", s.cuts)
  expect(requests.map((e) => e._tag)).toEqual(["Request"])
  send("server", new Events.AcceptConnection({}))

  const ensureOpen = (by: Side) => {
    if (faces[by].state() !== ConnectionState.OPEN) deliver(other(by), s.cuts)
    expect(faces[by].state()).toBe(ConnectionState.OPEN)
  }

  for (const a of s.actions) {
    switch (a._tag) {
      case "Message": {
        ensureOpen(a.from)
        a.pieces.forEach((piece, i) => {
          const messageFinished = i === a.pieces.length - 1
          send(
            a.from,
            typeof piece === "string"
              ? new Events.TextMessage({ data: piece, messageFinished })
              : new Events.BytesMessage({ data: piece, messageFinished })
          )
          if (messageFinished) {
            sent[a.from].push(
              typeof piece === "string"
                ? { _tag: "text", data: (a.pieces as ReadonlyArray<string>).join("") }
                : { _tag: "binary", data: toHex(concatAll(a.pieces as ReadonlyArray<Uint8Array>)) }
            )
          }
          const payload = a.pings[i]
          if (payload !== undefined && payload !== null) {
            send(a.from, new Events.Ping({ payload }))
            sent[a.from].push({ _tag: "ping", data: toHex(payload) })
          }
        })
        break
      }
      case "Ping":
        ensureOpen(a.from)
        send(a.from, new Events.Ping({ payload: a.payload }))
        sent[a.from].push({ _tag: "ping", data: toHex(a.payload) })
        break
      case "Deliver":
        deliver(a.from, a.cuts)
        break
    }
  }
  // Everything in flight arrives (pongs answering pings included).
  while (outbox.client.length + outbox.server.length > 0) {
    deliver("server", s.cuts)
    deliver("client", s.cuts)
  }

  // The closing handshake.
  const peer = other(s.closer)
  send(s.closer, new Events.CloseConnection({ code: s.code, reason: s.reason }))
  const closing = deliver(s.closer, s.cuts)
  const close = closing.find((e): e is Events.CloseConnection => e instanceof Events.CloseConnection)
  expect(close).toBeDefined()
  expect(faces[peer].state()).toBe(ConnectionState.REMOTE_CLOSING)
  send(peer, close!.response())
  deliver(peer, s.cuts)

  return {
    trace,
    sent,
    received,
    closes,
    states: { client: faces.client.state(), server: faces.server.state() }
  }
}

const checkOutcome = (s: Scenario, outcome: Outcome): void => {
  expect(outcome.received.server).toEqual(outcome.sent.client)
  expect(outcome.received.client).toEqual(outcome.sent.server)
  const close = { _tag: "CloseConnection", code: s.code, reason: s.reason }
  expect(outcome.closes).toEqual({ client: [close], server: [close] })
  expect(outcome.states).toEqual({ client: ConnectionState.CLOSED, server: ConnectionState.CLOSED })
}

describe("a client and a server wired together", () => {
  it("through the reducers: each receives what the other sent, and both close with the same code and reason", () => {
    fc.assert(
      fc.property(scenario, (s) => checkOutcome(s, run(wsReducerFace, s))),
      { numRuns: 300 }
    )
  })

  it("through the classes: the same", () => {
    fc.assert(
      fc.property(scenario, (s) => checkOutcome(s, run(wsClassFace, s))),
      { numRuns: 300 }
    )
  })

  it("the reducers and the classes write the same bytes and give the same events at every step", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(run(wsClassFace, s).trace).toEqual(run(wsReducerFace, s).trace)
      }),
      { numRuns: 300 }
    )
  })

  it("the Effect service writes the same bytes and gives the same events at every step as the reducers", () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(run(wsServiceFace, s).trace).toEqual(run(wsReducerFace, s).trace)
      }),
      { numRuns: 200 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Connection: the two faces on any input

type Input =
  | { readonly _tag: "Send"; readonly event: () => Events.Event }
  | { readonly _tag: "Receive"; readonly data: Uint8Array | null }

const sendable: fc.Arbitrary<() => Events.Event> = fc.oneof(
  fc.tuple(fc.string({ unit: "binary", maxLength: 10 }), fc.boolean()).map(([data, messageFinished]) => () =>
    new Events.TextMessage({ data, messageFinished })
  ),
  fc.tuple(fc.uint8Array({ maxLength: 10 }), fc.boolean()).map(([data, messageFinished]) => () =>
    new Events.BytesMessage({ data, messageFinished })
  ),
  fc.uint8Array({ maxLength: 130 }).map((payload) => () => new Events.Ping({ payload })),
  fc.uint8Array({ maxLength: 130 }).map((payload) => () => new Events.Pong({ payload })),
  fc.tuple(fc.constantFrom(1000, 1005, 1006, 1014, 1015, 999, 4999, 5000), fc.string({ maxLength: 5 })).map(
    ([code, reason]) => () => new Events.CloseConnection({ code, reason })
  ),
  fc.constant(() => new Events.Request({ host: "h", target: "/" }))
)

/** Bytes a peer might send: valid frames (masked when they go to a server), or anything at all. */
const incoming = (type: ConnectionType): fc.Arbitrary<Uint8Array | null> => {
  const mask = type === SERVER ? { mask: new Uint8Array([9, 8, 7, 6]) } : {}
  const frame = fc.oneof(
    fc.tuple(fc.boolean(), fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 20 })).map(([fin, opcode, payload]) =>
      rawFrame({ fin, opcode, payload, ...mask })
    ),
    fc.tuple(fc.constantFrom(9, 10), fc.uint8Array({ maxLength: 20 })).map(([opcode, payload]) =>
      rawFrame({ fin: true, opcode, payload, ...mask })
    ),
    fc.tuple(fc.constantFrom(1000, 1001, 1005, 3000), fc.string({ maxLength: 5 })).map(([code, reason]) =>
      rawFrame({
        fin: true,
        opcode: 8,
        payload: code === 1005 ? new Uint8Array(0) : closePayload(code, reason),
        ...mask
      })
    ),
    fc.string({ maxLength: 8 }).map((data) => rawFrame({ fin: true, opcode: 1, payload: utf8(data), ...mask }))
  )
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(frame, { minLength: 1, maxLength: 3 }).map(concatAll) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.constant(null) }
  )
}

const inputs = (type: ConnectionType): fc.Arbitrary<ReadonlyArray<Input>> =>
  fc.array(
    fc.oneof(
      sendable.map((event): Input => ({ _tag: "Send", event })),
      incoming(type).map((data): Input => ({ _tag: "Receive", data }))
    ),
    { maxLength: 12 }
  )

const drive = (
  face: Face & { readonly initial: ReadonlyArray<Events.Event> },
  steps: ReadonlyArray<Input>
): Array<unknown> => {
  const trace: Array<unknown> = [{ initial: plainEvents(face.initial) }]
  for (const step of steps) {
    try {
      if (step._tag === "Send") {
        const { bytes, events } = face.send(step.event())
        trace.push({ sent: toHex(bytes), events: plainEvents(events), state: face.state() })
      } else {
        trace.push({ received: plainEvents(face.receive(step.data)), state: face.state() })
      }
    } catch (error) {
      if (!(error instanceof LocalProtocolError || error instanceof RemoteProtocolError)) throw error
      trace.push({ threw: error._tag, message: error.message, state: face.state() })
    }
  }
  return trace
}

describe("Connection: the reducer and the class on the same inputs", () => {
  it.each(
    [
      { role: "client", type: CLIENT },
      { role: "server", type: SERVER }
    ] as const
  )("give the same bytes, events, errors and states ($role)", ({ type }) => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.option(incoming(type), { nil: null }),
        inputs(type),
        (key, trailing, steps) => {
          const trailingData = trailing ?? new Uint8Array(0)
          const viaReducer = drive(
            connectionReducerFace({ connectionType: type, maskKey: fixedKey(key) }, trailingData),
            steps
          )
          const viaClass = drive(connectionClassFace(type, { maskKey: fixedKey(key) }, trailingData), steps)
          expect(viaClass).toEqual(viaReducer)
        }
      ),
      { numRuns: 500 }
    )
  })
})
