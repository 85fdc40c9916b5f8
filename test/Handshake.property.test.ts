/**
 * Properties of the opening handshake, checked with fast-check:
 * (a) the way the request (server) or the response, a rejection body included (client), is cut
 *     into chunks does not change the events or the final state;
 * (b) arbitrary bytes, and random mutations of valid requests and responses, never make either
 *     reducer throw: they end in events or in a RemoteProtocolError (a server's with a 400, 426 or
 *     431 rejection to answer with);
 * (c) a client and a server reducer wired to each other always reach OPEN, for any subprotocols,
 *     choice, extension offers and extra headers, and each side's event reflects what the other
 *     sent;
 * (d) IDNA hosts round-trip from the client's Request to the server's.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CLIENT, ConnectionState, SERVER } from "../src/ConnectionState.js"
import { RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import type { Extension, Parameter } from "../src/Extensions.js"
import * as Handshake from "../src/Handshake.js"
import {
  concatAll,
  concatBytes,
  httpHead,
  latin1,
  plainEvent,
  plainEvents,
  receiveAll,
  sendOk,
  splitAt,
  toHex
} from "./helpers.js"

// ---------------------------------------------------------------------------------------------
// Generators

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".split("")
const VISIBLE = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))

const tokenArb = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 10 })
const visibleArb = fc.string({ unit: fc.constantFrom(...VISIBLE), maxLength: 20 })

/** Header names the handshake itself writes or reads; extra headers avoid them. */
const RESERVED = /^(host|upgrade|connection|sec-websocket-.*)$/i

const extraHeadersArb: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.tuple(tokenArb.filter((name) => !RESERVED.test(name)), visibleArb),
  { maxLength: 6 }
)

const labelArb = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-".split("")),
  minLength: 1,
  maxLength: 12
})
const hostArb = fc
  .tuple(
    fc.array(labelArb, { minLength: 1, maxLength: 3 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })
  )
  .map(([labels, port]) => `${labels.join(".")}${port === undefined ? "" : `:${port}`}`)
  .filter((host) => !host.split(".").some((label) => label.startsWith("xn--")))

const targetArb = fc
  .string({ unit: fc.constantFrom(...VISIBLE), maxLength: 30 })
  .map((path) => `/${path}`)

/** An extension offer: a name and token parameters. */
interface OfferSpec {
  readonly name: string
  readonly parameters: ReadonlyArray<Parameter>
  /** Whether the server supports it. */
  readonly supported: boolean
}

const parameterArb: fc.Arbitrary<Parameter> = fc.record({
  name: tokenArb,
  value: fc.option(tokenArb, { nil: undefined })
})

const offersArb: fc.Arbitrary<Array<OfferSpec>> = fc.uniqueArray(
  fc.record({ name: tokenArb, parameters: fc.array(parameterArb, { maxLength: 3 }), supported: fc.boolean() }),
  { selector: (offer) => offer.name, maxLength: 4 }
)

/** A client's extension for an offer spec: it offers the parameters and takes any answer. */
const clientExtension = (spec: OfferSpec): Extension => ({
  name: spec.name,
  init: () => undefined,
  offer: () => spec.parameters
})

/** A server's extension: it accepts any offer, answering with the parameters offered. */
const serverExtension = (name: string): Extension => {
  const extension: Extension = {
    name,
    init: () => undefined,
    accept: (parameters) => ({ extension, parameters })
  }
  return extension
}

/** A request as a client writes it, for the server-side properties. */
interface Scenario {
  readonly host: string
  readonly target: string
  readonly subprotocols: ReadonlyArray<string>
  readonly choice: number | undefined
  readonly offers: ReadonlyArray<OfferSpec>
  readonly clientHeaders: ReadonlyArray<[string, string]>
  readonly serverHeaders: ReadonlyArray<[string, string]>
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  host: hostArb,
  target: targetArb,
  subprotocols: fc.array(tokenArb, { maxLength: 4 }),
  choice: fc.option(fc.nat(), { nil: undefined }),
  offers: offersArb,
  clientHeaders: extraHeadersArb,
  serverHeaders: extraHeadersArb
})

const nonceArb = fc.uint8Array({ minLength: 16, maxLength: 16 })

const requestEvent = (scenario: Scenario, extensions: ReadonlyArray<Extension>): Events.Request =>
  new Events.Request({
    host: scenario.host,
    target: scenario.target,
    subprotocols: [...scenario.subprotocols],
    extensions: [...extensions],
    extraHeaders: scenario.clientHeaders
  })

const requestBytes = (scenario: Scenario, nonce: Uint8Array): Uint8Array => {
  const client = Handshake.make({ connectionType: CLIENT, nonce: () => nonce })
  return sendOk(client, requestEvent(scenario, scenario.offers.map(clientExtension))).bytes
}

/** Sorted, distinct cut offsets inside `length`, from arbitrary numbers. */
const cutsWithin = (length: number, raw: ReadonlyArray<number>): Array<number> =>
  length <= 1 ? [] : [...new Set(raw.map((n) => 1 + (n % (length - 1))))].sort((a, b) => a - b)

/** `bytes` cut at offsets derived from `raw`, each chunk a fresh copy. */
const cut = (bytes: Uint8Array, raw: ReadonlyArray<number>): Array<Uint8Array> =>
  splitAt(bytes, cutsWithin(bytes.length, raw)).map((chunk) => chunk.slice())

const cutsArb = fc.array(fc.nat(), { maxLength: 10 })

/** Events with the pieces of each rejection body merged, so that differently cut inputs compare. */
const mergedEvents = (events: ReadonlyArray<Events.Event>): Array<Record<string, unknown>> => {
  const out: Array<Record<string, unknown>> = []
  let body: Array<Uint8Array> = []
  for (const event of events) {
    if (event._tag === "RejectData" && !event.bodyFinished) {
      body.push(event.data)
      continue
    }
    if (body.length > 0) {
      out.push({ _tag: "RejectData", data: toHex(concatAll(body)), bodyFinished: false })
      body = []
    }
    out.push(plainEvent(event))
  }
  if (body.length > 0) out.push({ _tag: "RejectData", data: toHex(concatAll(body)), bodyFinished: false })
  return out
}

/**
 * Feeds inputs to a client as a caller would: once OPEN, further bytes are the connection's and
 * are collected after the handshake's trailing bytes.
 */
const clientFeed = (state: Handshake.HandshakeState, inputs: ReadonlyArray<Uint8Array | null>) => {
  let current = state
  const events: Array<Events.Event> = []
  const connectionBytes: Array<Uint8Array> = []
  for (const input of inputs) {
    if (Handshake.state(current) === ConnectionState.OPEN) {
      if (input !== null) connectionBytes.push(input)
      continue
    }
    const result = Handshake.receive(current, input)
    events.push(...result.events)
    if (result.error !== undefined) return { state: current, events, error: result.error, afterHandshake: "" }
    current = result.state
  }
  return {
    state: current,
    events,
    error: undefined,
    afterHandshake: toHex(concatAll([Handshake.trailingData(current), ...connectionBytes]))
  }
}

/** A client's view of a finished handshake, without the bytes it holds for the connection. */
const withoutTrailing = (state: Handshake.HandshakeState) => ({ ...state, trailing: undefined })

/** A state with its trailing bytes as hex (they may be a Buffer or a Uint8Array). */
const comparable = (state: Handshake.HandshakeState) => ({ ...state, trailing: toHex(Handshake.trailingData(state)) })

const RFC_NONCE = latin1("the sample nonce")
const RFC_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
const rfcNonce = () => RFC_NONCE
const newClient = () =>
  sendOk(
    Handshake.make({ connectionType: CLIENT, nonce: rfcNonce }),
    new Events.Request({ host: "a", target: "/", subprotocols: ["chat"] })
  ).state

const chunkedBody = (
  pieces: ReadonlyArray<Uint8Array>,
  extension: string,
  trailers: ReadonlyArray<string>
): Uint8Array =>
  concatAll([
    ...pieces.flatMap((piece) => [latin1(`${piece.length.toString(16)}${extension}\r\n`), piece, latin1("\r\n")]),
    latin1(`0${extension}\r\n${trailers.map((line) => `${line}\r\n`).join("")}\r\n`)
  ])

const bodyArb = fc.uint8Array({ maxLength: 80 })

/** Responses a client may receive, with the body they carry. */
const responseArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(extraHeadersArb, fc.boolean(), fc.uint8Array({ maxLength: 30 })).map(([headers, subprotocol, trailing]) =>
    concatBytes(
      httpHead("HTTP/1.1 101 Switching Protocols", [
        "Upgrade: websocket",
        "Connection: Upgrade",
        `Sec-WebSocket-Accept: ${RFC_ACCEPT}`,
        ...(subprotocol ? ["Sec-WebSocket-Protocol: chat"] : []),
        ...headers.map(([name, value]) => `${name}: ${value}`)
      ]),
      trailing
    )
  ),
  fc.tuple(fc.integer({ min: 200, max: 599 }), bodyArb).map(([status, body]) =>
    concatBytes(httpHead(`HTTP/1.1 ${status} Whatever`, [`Content-Length: ${body.length}`]), body)
  ),
  fc.tuple(
    fc.array(fc.uint8Array({ minLength: 1, maxLength: 30 }), { maxLength: 4 }),
    fc.constantFrom("", ";a=b", " ;x", ";q=\"v\""),
    fc.array(fc.tuple(tokenArb, visibleArb).map(([name, value]) => `${name}: ${value}`), { maxLength: 2 })
  ).map(([pieces, extension, trailers]) =>
    concatBytes(
      httpHead("HTTP/1.1 403 Forbidden", ["Transfer-Encoding: chunked"]),
      chunkedBody(pieces, extension, trailers)
    )
  ),
  bodyArb.map((body) => concatBytes(httpHead("HTTP/1.1 400 Bad Request", ["Connection: close"]), body)),
  fc.constantFrom(httpHead("HTTP/1.1 100 Continue"), httpHead("HTTP/1.1 204 No Content"))
)

/** A byte-level mutation: replace, insert or delete at a position. */
type Mutation = readonly ["replace" | "insert" | "delete", number, number]

const mutationsArb: fc.Arbitrary<Array<Mutation>> = fc.array(
  fc.tuple(
    fc.constantFrom("replace" as const, "insert" as const, "delete" as const),
    fc.nat(),
    fc.integer({ min: 0, max: 255 })
  ),
  { minLength: 1, maxLength: 4 }
)

const mutate = (bytes: Uint8Array, mutations: ReadonlyArray<Mutation>): Uint8Array => {
  const out = Array.from(bytes)
  for (const [kind, position, byte] of mutations) {
    const at = out.length === 0 ? 0 : position % out.length
    if (kind === "replace" && out.length > 0) out[at] = byte
    else if (kind === "insert") out.splice(at, 0, byte)
    else if (kind === "delete") out.splice(at, 1)
  }
  return Uint8Array.from(out)
}

/** Pieces of HTTP heads, so that random input often gets past the first line. */
const HTTPISH = [
  "GET",
  "POST",
  " ",
  "/",
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/1.1 101 Switching Protocols",
  "HTTP/1.1 400 x",
  "\r\n",
  "\r\n\r\n",
  "\n",
  "\r",
  ":",
  ": ",
  ",",
  ";",
  "=",
  "\"",
  "\t",
  "Host",
  "Upgrade",
  "websocket",
  "Connection",
  "upgrade",
  "Sec-WebSocket-Key",
  "dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version",
  "13",
  "Sec-WebSocket-Accept",
  RFC_ACCEPT,
  "Sec-WebSocket-Protocol",
  "chat",
  "Sec-WebSocket-Extensions",
  "xn--",
  "Content-Length",
  "5",
  "Transfer-Encoding",
  "chunked",
  "0",
  "ff",
  "\x00",
  "\xe9",
  "\x7f"
]
const httpishArb = fc.array(fc.constantFrom(...HTTPISH), { maxLength: 60 }).map((parts) => latin1(parts.join("")))

/** A server's outcome is events or a RemoteProtocolError hinting at a 400, 426 or 431 rejection. */
const expectServerOutcome = (fed: { readonly events: ReadonlyArray<Events.Event>; readonly error: unknown }): void => {
  for (const event of fed.events) expect(event._tag).toBe("Request")
  expect(fed.events.length).toBeLessThanOrEqual(1)
  if (fed.error === undefined) return
  expect(fed.error).toBeInstanceOf(RemoteProtocolError)
  const hint = (fed.error as RemoteProtocolError).eventHint
  expect(hint).toBeInstanceOf(Events.RejectConnection)
  expect([400, 426, 431]).toContain((hint as Events.RejectConnection).statusCode)
  expect((hint as Events.RejectConnection).hasBody).toBe(false)
}

const CLIENT_EVENTS = ["AcceptConnection", "RejectConnection", "RejectData"]

const expectClientOutcome = (fed: { readonly events: ReadonlyArray<Events.Event>; readonly error: unknown }): void => {
  for (const event of fed.events) expect(CLIENT_EVENTS).toContain(event._tag)
  if (fed.error !== undefined) expect(fed.error).toBeInstanceOf(RemoteProtocolError)
}

// ---------------------------------------------------------------------------------------------

describe("(a) how the input is cut does not matter", () => {
  it("a server gives the same events and state for any cut of a request and the frames after it", () => {
    fc.assert(
      fc.property(scenarioArb, nonceArb, fc.uint8Array({ maxLength: 40 }), cutsArb, (scenario, nonce, frames, cuts) => {
        const bytes = concatBytes(requestBytes(scenario, nonce), frames)
        const server = Handshake.make({ connectionType: SERVER })
        const whole = receiveAll(server, [bytes])
        const split = receiveAll(server, cut(bytes, cuts))
        expect(whole.error).toBeUndefined()
        expect(split.error).toBeUndefined()
        expect(plainEvents(split.events)).toEqual(plainEvents(whole.events))
        expect(comparable(split.state)).toEqual(comparable(whole.state))
        expect(toHex(Handshake.trailingData(split.state))).toBe(toHex(frames))
      }),
      { numRuns: 300 }
    )
  })

  it("a server fails a mutated request the same way however it is cut", () => {
    fc.assert(
      fc.property(scenarioArb, nonceArb, mutationsArb, cutsArb, (scenario, nonce, mutations, cuts) => {
        const bytes = mutate(requestBytes(scenario, nonce), mutations)
        const server = Handshake.make({ connectionType: SERVER })
        const whole = receiveAll(server, [bytes, null])
        const split = receiveAll(server, [...cut(bytes, cuts), null])
        expect(plainEvents(split.events)).toEqual(plainEvents(whole.events))
        expect(split.error?.message).toBe(whole.error?.message)
        const hint = (
          fed: typeof whole
        ) => (fed.error?.eventHint === undefined ? undefined : plainEvent(fed.error.eventHint))
        expect(hint(split)).toEqual(hint(whole))
        if (whole.error === undefined) expect(comparable(split.state)).toEqual(comparable(whole.state))
      }),
      { numRuns: 300 }
    )
  })

  it("a client gives the same events and state for any cut of a response, a rejection body included", () => {
    fc.assert(
      fc.property(responseArb, cutsArb, (bytes, cuts) => {
        const whole = clientFeed(newClient(), [bytes, null])
        const split = clientFeed(newClient(), [...cut(bytes, cuts), null])
        expect(whole.error).toBeUndefined()
        expect(split.error).toBeUndefined()
        expect(mergedEvents(split.events)).toEqual(mergedEvents(whole.events))
        expect(withoutTrailing(split.state)).toEqual(withoutTrailing(whole.state))
        expect(split.afterHandshake).toBe(whole.afterHandshake)
        expect([ConnectionState.OPEN, ConnectionState.CLOSED]).toContain(Handshake.state(whole.state))
      }),
      { numRuns: 300 }
    )
  })

  it("a client's rejection body is the bytes sent, followed by exactly one empty finished RejectData", () => {
    fc.assert(
      fc.property(bodyArb, fc.constantFrom("length", "chunked", "close"), cutsArb, (body, framing, cuts) => {
        const head = framing === "length"
          ? httpHead("HTTP/1.1 404 Not Found", [`Content-Length: ${body.length}`])
          : framing === "chunked"
          ? httpHead("HTTP/1.1 404 Not Found", ["Transfer-Encoding: chunked"])
          : httpHead("HTTP/1.1 404 Not Found")
        const wire = framing === "chunked" ? chunkedBody(body.length === 0 ? [] : [body], "", []) : body
        const fed = clientFeed(newClient(), [...cut(concatBytes(head, wire), cuts), null])
        expect(fed.error).toBeUndefined()
        const merged = mergedEvents(fed.events)
        expect(merged[0]).toMatchObject({ _tag: "RejectConnection", statusCode: 404, hasBody: true })
        const finished = fed.events.filter((event) => event._tag === "RejectData" && event.bodyFinished)
        expect(finished).toHaveLength(1)
        expect(fed.events[fed.events.length - 1]).toBe(finished[0])
        expect((finished[0] as Events.RejectData).data).toHaveLength(0)
        const data = fed.events.flatMap((event) => (event._tag === "RejectData" ? [event.data] : []))
        expect(toHex(concatAll(data))).toBe(toHex(body))
        expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
      }),
      { numRuns: 300 }
    )
  })
})

describe("(b) no input makes a reducer throw", () => {
  const chunksArb = fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 5 })

  it("a server fed random bytes, then the end of the input, ends in events or a typed error", () => {
    fc.assert(
      fc.property(chunksArb, (chunks) => {
        expectServerOutcome(receiveAll(Handshake.make({ connectionType: SERVER }), [...chunks, null]))
      }),
      { numRuns: 500 }
    )
  })

  it("a server fed random HTTP-like text ends in events or a typed error", () => {
    fc.assert(
      fc.property(httpishArb, cutsArb, (bytes, cuts) => {
        expectServerOutcome(receiveAll(Handshake.make({ connectionType: SERVER }), [...cut(bytes, cuts), null]))
      }),
      { numRuns: 500 }
    )
  })

  it("a server fed a randomly mutated valid request ends in events or a typed error", () => {
    fc.assert(
      fc.property(scenarioArb, nonceArb, mutationsArb, (scenario, nonce, mutations) => {
        const bytes = mutate(requestBytes(scenario, nonce), mutations)
        expectServerOutcome(receiveAll(Handshake.make({ connectionType: SERVER }), [bytes, null]))
      }),
      { numRuns: 500 }
    )
  })

  it("a server fed any Host value, xn-- labels included, ends in a Request or a 400", () => {
    const hostValueArb = fc.oneof(
      fc.string({ unit: fc.constantFrom(..."xn--abc.:0123456789-z".split("")), maxLength: 30 }),
      fc.string({ unit: fc.constantFrom(...VISIBLE), maxLength: 20 }).map((label) => `xn--${label}`)
    )
    fc.assert(
      fc.property(hostValueArb, (host) => {
        const bytes = httpHead("GET / HTTP/1.1", [
          `Host: ${host}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Version: 13"
        ])
        const fed = receiveAll(Handshake.make({ connectionType: SERVER }), [bytes])
        expectServerOutcome(fed)
        if (fed.error !== undefined) expect(fed.error.eventHint).toMatchObject({ statusCode: 400 })
      }),
      { numRuns: 500 }
    )
  })

  it("a client fed random bytes, then the end of the input, ends in events or a typed error", () => {
    fc.assert(
      fc.property(chunksArb, (chunks) => {
        expectClientOutcome(receiveAll(newClient(), [...chunks, null]))
      }),
      { numRuns: 500 }
    )
  })

  it("a client fed random HTTP-like text ends in events or a typed error", () => {
    fc.assert(
      fc.property(httpishArb, cutsArb, (bytes, cuts) => {
        expectClientOutcome(receiveAll(newClient(), [...cut(bytes, cuts), null]))
      }),
      { numRuns: 500 }
    )
  })

  it("a client fed a randomly mutated response (101 or rejection with a body) ends in events or a typed error", () => {
    fc.assert(
      fc.property(responseArb, mutationsArb, cutsArb, (bytes, mutations, cuts) => {
        expectClientOutcome(receiveAll(newClient(), [...cut(mutate(bytes, mutations), cuts), null]))
      }),
      { numRuns: 500 }
    )
  })
})

describe("(c) a client and a server wired to each other", () => {
  it("always reach OPEN, each side's event reflecting what the other sent", () => {
    fc.assert(
      fc.property(scenarioArb, nonceArb, (scenario, nonce) => {
        const offered = scenario.offers.map(clientExtension)
        const supported = scenario.offers.filter((offer) => offer.supported).map((offer) => serverExtension(offer.name))
        const subprotocol = scenario.choice === undefined || scenario.subprotocols.length === 0
          ? undefined
          : scenario.subprotocols[scenario.choice % scenario.subprotocols.length]

        // Client → server.
        const sentRequest = sendOk(
          Handshake.make({ connectionType: CLIENT, nonce: () => nonce }),
          requestEvent(scenario, offered)
        )
        const atServer = Handshake.receive(Handshake.make({ connectionType: SERVER }), sentRequest.bytes)
        expect(atServer.error).toBeUndefined()
        expect(atServer.events).toHaveLength(1)
        const request = atServer.events[0] as Events.Request
        expect(request._tag).toBe("Request")
        expect(request.host).toBe(scenario.host)
        expect(request.target).toBe(scenario.target)
        expect(request.subprotocols).toEqual(scenario.subprotocols)
        expect(request.extensions).toEqual(
          scenario.offers.map((offer) =>
            [offer.name, ...offer.parameters.map((p) => (p.value === undefined ? p.name : `${p.name}=${p.value}`))]
              .join("; ")
          )
        )
        expect(request.extraHeaders.slice(4)).toEqual(
          scenario.clientHeaders.map(([name, value]) => [name.toLowerCase(), value])
        )

        // Server → client.
        const accept = new Events.AcceptConnection({
          ...(subprotocol === undefined ? {} : { subprotocol }),
          extensions: supported,
          extraHeaders: scenario.serverHeaders
        })
        const sentAccept = sendOk(atServer.state, accept)
        expect(Handshake.state(sentAccept.state)).toBe(ConnectionState.OPEN)
        const atClient = Handshake.receive(sentRequest.state, sentAccept.bytes)
        expect(atClient.error).toBeUndefined()
        expect(Handshake.state(atClient.state)).toBe(ConnectionState.OPEN)
        expect(atClient.events).toHaveLength(1)
        const accepted = atClient.events[0] as Events.AcceptConnection
        expect(accepted._tag).toBe("AcceptConnection")
        expect(accepted.subprotocol).toBe(subprotocol)
        expect(accepted.extraHeaders).toEqual(
          scenario.serverHeaders.map(([name, value]) => [name.toLowerCase(), value])
        )

        // The extensions agreed: those offered that the server supports, in the order offered.
        const agreedNames = scenario.offers.filter((offer) => offer.supported).map((offer) => offer.name)
        expect(accepted.extensions.map((e) => e.name)).toEqual(agreedNames)
        expect(accepted.extensions).toEqual(offered.filter((e) => agreedNames.includes(e.name)))
        expect(Handshake.extensions(sentAccept.state).map((e) => e.name)).toEqual(agreedNames)
        expect(Handshake.subprotocol(atClient.state)).toBe(Handshake.subprotocol(sentAccept.state))
      }),
      { numRuns: 500 }
    )
  })

  it("a server's rejection with any status and body reaches the client whole, however it is cut", () => {
    fc.assert(
      fc.property(
        // 204 and 304 have no body (RFC 9110 §15.3.5, §15.4.5): see the unit tests.
        fc.integer({ min: 200, max: 999 }).filter((status) => status !== 204 && status !== 304),
        extraHeadersArb,
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 4 }),
        fc.boolean(),
        cutsArb,
        (statusCode, headers, pieces, withLength, cuts) => {
          const server = Handshake.receive(
            Handshake.make({ connectionType: SERVER }),
            requestBytes(
              {
                host: "a",
                target: "/",
                subprotocols: [],
                choice: undefined,
                offers: [],
                clientHeaders: [],
                serverHeaders: []
              },
              RFC_NONCE
            )
          )
          const body = concatAll(pieces)
          const rejectHeaders: Array<[string, string]> = [
            ...headers.filter(([name]) => !/^(content-length|transfer-encoding)$/i.test(name)),
            ...(withLength ? [["Content-Length", String(body.length)] as [string, string]] : [])
          ]
          let state = sendOk(
            server.state,
            new Events.RejectConnection({ statusCode, headers: rejectHeaders, hasBody: true })
          )
          const wire: Array<Uint8Array> = [state.bytes]
          pieces.forEach((piece, i) => {
            state = sendOk(state.state, new Events.RejectData({ data: piece, bodyFinished: i === pieces.length - 1 }))
            wire.push(state.bytes)
          })
          if (pieces.length === 0) {
            state = sendOk(state.state, new Events.RejectData({ data: new Uint8Array(0) }))
            wire.push(state.bytes)
          }
          expect(Handshake.state(state.state)).toBe(ConnectionState.CLOSED)
          const fed = clientFeed(newClient(), cut(concatAll(wire), cuts))
          expect(fed.error).toBeUndefined()
          expect(Handshake.state(fed.state)).toBe(ConnectionState.CLOSED)
          const [rejection, ...rest] = fed.events
          expect(rejection).toMatchObject({ _tag: "RejectConnection", statusCode, hasBody: true })
          const data = rest.flatMap((event) => (event._tag === "RejectData" ? [event.data] : []))
          expect(toHex(concatAll(data))).toBe(toHex(body))
          expect(rest[rest.length - 1]).toMatchObject({ _tag: "RejectData", bodyFinished: true })
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("(d) IDNA hosts", () => {
  /** Lowercase letters of several scripts (no case mapping, no dots, no control characters). */
  const LETTERS = [
    ..."abcdefghijklmnopqrstuvwxyz0123456789-".split(""),
    ..."àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿß".split(""),
    ..."абвгдежзийклмнопрстуфхцчшщъыьэюя".split(""),
    ..."芝士汉堡例え語中文日本".split(""),
    "😃",
    "🙈"
  ]
  const unicodeLabelArb = fc
    .string({ unit: fc.constantFrom(...LETTERS), minLength: 1, maxLength: 10 })
    .filter((label) => !label.startsWith("xn--"))

  it("a host of any labels reaches the server's Request as the client gave it", () => {
    fc.assert(
      fc.property(fc.array(unicodeLabelArb, { minLength: 1, maxLength: 3 }), nonceArb, (labels, nonce) => {
        const host = labels.join(".")
        const client = Handshake.make({ connectionType: CLIENT, nonce: () => nonce })
        const sent = Handshake.send(client, new Events.Request({ host, target: "/" }))
        expect(sent.error).toBeUndefined()
        const bytes = concatAll(sent.bytes)
        const wireHost = /\r\nHost: (.*)\r\n/.exec(String.fromCharCode(...bytes))?.[1] ?? ""
        expect(wireHost).toMatch(/^[\x21-\x7e]+$/)
        const fed = receiveAll(Handshake.make({ connectionType: SERVER }), [bytes])
        expect(fed.error).toBeUndefined()
        expect(fed.events[0]).toMatchObject({ _tag: "Request", host })
      }),
      { numRuns: 500 }
    )
  })
})
