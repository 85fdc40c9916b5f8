/**
 * The opening handshake (RFC 6455 §4) as a pure reducer, both roles, over the HTTP/1.1 heads of
 * `http11.ts`. The state is one phase per role, and every transition is in this file:
 *
 * - client: `Idle` → `AwaitingResponse` → `Open` | `ReadingRejection` → `Closed`
 * - server: `AwaitingRequest` → `Requested` → `Open` | `Rejecting` → `Closed` (a server may also
 *   reject from `AwaitingRequest`)
 */
import type { Event, Headers } from "../Events.js"
import type { Extension } from "../Extensions.js"
import type * as Handshake from "../Handshake.js"
import * as Base64 from "./base64.js"
import { concat, EMPTY } from "./bytes.js"
import { ConnectionState, ConnectionType, stateName } from "./connectionState.js"
import {
  handshakeFailure,
  type HandshakeReason,
  local,
  type LocalProtocolError,
  type LocalReason,
  type RemoteProtocolError
} from "./errors.js"
import * as Events from "./events.js"
import { clientNegotiate, formatElement, invalidElement, serverNegotiate } from "./extensions.js"
import * as Http from "./http11.js"
import { hostToAscii, hostToUnicode } from "./punycode.js"
import { sha1 } from "./sha1.js"

/** @internal */
export const TypeId: Handshake.TypeId = Symbol.for("effect-wsproto/Handshake/HandshakeState") as Handshake.TypeId

/** RFC 6455 §1.3 */
const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** RFC 6455 §4.1: the key is base64 of 16 bytes. */
const KEY = /^[A-Za-z0-9+/]{22}==$/

const WEBSOCKET_VERSION = "13"

/** RFC 6455 §4.4: a server names the versions it speaks. */
const VERSION_HEADERS: Headers = [["Sec-WebSocket-Version", WEBSOCKET_VERSION]]

/** Characters that cannot appear in a Host (RFC 3986 §3.2.2 with a port). */
const INVALID_HOST = /[\s\x00-\x1f\x7f/?#@\\]/

/** @internal */
export const acceptToken = (key: string): string => {
  const text = key + ACCEPT_GUID
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  return Base64.encode(sha1(bytes))
}

const randomNonce = (): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(16))

// ---------------------------------------------------------------------------------------------
// The phases

interface Config {
  readonly connectionType: ConnectionType
  readonly limits: Http.Limits
  readonly nonce: () => Uint8Array
}

interface Base {
  readonly [TypeId]: Handshake.TypeId
  readonly config: Config
}

/** Client: no request sent yet. */
interface Idle extends Base {
  readonly _tag: "Idle"
}

/** Client: the request sent, with what it offered; `head` holds the response's bytes so far. */
interface AwaitingResponse extends Base {
  readonly _tag: "AwaitingResponse"
  readonly key: string
  readonly subprotocols: ReadonlyArray<string>
  readonly extensions: ReadonlyArray<Extension>
  readonly head: Http.HeadBuffer
}

/** Client: the server rejected; its body is being read. */
interface ReadingRejection extends Base {
  readonly _tag: "ReadingRejection"
  readonly body: Http.BodyState
}

/** Server: `head` holds the request's bytes so far. */
interface AwaitingRequest extends Base {
  readonly _tag: "AwaitingRequest"
  readonly head: Http.HeadBuffer
}

/** The request a server received, as far as answering it needs. */
interface ReceivedRequest {
  readonly key: string
  readonly subprotocols: ReadonlyArray<string>
  readonly offers: ReadonlyArray<string>
}

/** Server: a request to answer; `trailing` holds the frames the client sent after it. */
interface Requested extends Base {
  readonly _tag: "Requested"
  readonly request: ReceivedRequest
  readonly trailing: Uint8Array
}

/** How a server's rejection body is delimited on the wire. */
type Rejection =
  | { readonly _tag: "Length"; readonly remaining: number }
  | { readonly _tag: "Chunked" }
  | { readonly _tag: "UntilClose" }

/** Server: the rejection's body is being written. */
interface Rejecting extends Base {
  readonly _tag: "Rejecting"
  readonly rejection: Rejection
}

/** Both: what the connection starts with, and the bytes after the handshake (its first frames). */
interface Open extends Base {
  readonly _tag: "Open"
  readonly extensions: ReadonlyArray<Extension>
  readonly subprotocol: string | undefined
  readonly trailing: Uint8Array
}

/** Both: rejected; nothing more is read or written. */
interface Closed extends Base {
  readonly _tag: "Closed"
}

type State = Idle | AwaitingResponse | ReadingRejection | AwaitingRequest | Requested | Rejecting | Open | Closed

const STATES: Readonly<Record<State["_tag"], ConnectionState>> = {
  Idle: ConnectionState.CONNECTING,
  AwaitingResponse: ConnectionState.CONNECTING,
  AwaitingRequest: ConnectionState.CONNECTING,
  Requested: ConnectionState.CONNECTING,
  ReadingRejection: ConnectionState.REJECTING,
  Rejecting: ConnectionState.REJECTING,
  Open: ConnectionState.OPEN,
  Closed: ConnectionState.CLOSED
}

const open = (
  config: Config,
  extensions: ReadonlyArray<Extension>,
  subprotocol: string | undefined,
  trailing: Uint8Array
): Open => ({ [TypeId]: TypeId, config, _tag: "Open", extensions, subprotocol, trailing })

const closed = (config: Config): Closed => ({ [TypeId]: TypeId, config, _tag: "Closed" })

/** @internal */
export const make = (options: Handshake.HandshakeOptions): Handshake.HandshakeState => {
  const config: Config = {
    connectionType: options.connectionType,
    limits: { maxHeadSize: options.maxHeadSize ?? 16 * 1024, maxHeaders: options.maxHeaders ?? 100 },
    nonce: options.nonce ?? randomNonce
  }
  const initial: Idle | AwaitingRequest = config.connectionType === ConnectionType.CLIENT
    ? { [TypeId]: TypeId, config, _tag: "Idle" }
    : { [TypeId]: TypeId, config, _tag: "AwaitingRequest", head: Http.emptyHeadBuffer }
  return initial
}

// ---------------------------------------------------------------------------------------------
// Accessors

/** @internal */
export const state = (self: Handshake.HandshakeState): ConnectionState => STATES[(self as State)._tag]

/** @internal */
export const connectionType = (self: Handshake.HandshakeState): ConnectionType => (self as State).config.connectionType

/** @internal */
export const extensions = (self: Handshake.HandshakeState): ReadonlyArray<Extension> => {
  const s = self as State
  return s._tag === "Open" ? s.extensions : []
}

/** @internal */
export const subprotocol = (self: Handshake.HandshakeState): string | undefined => {
  const s = self as State
  return s._tag === "Open" ? s.subprotocol : undefined
}

/** @internal */
export const trailingData = (self: Handshake.HandshakeState): Uint8Array => {
  const s = self as State
  return s._tag === "Open" || s._tag === "Requested" ? s.trailing : EMPTY
}

// ---------------------------------------------------------------------------------------------
// Steps

const NONE: ReadonlyArray<never> = []

const isClient = (s: State): boolean => s.config.connectionType === ConnectionType.CLIENT

const sent = (s: State, bytes: Uint8Array): Handshake.Sent => ({
  state: s,
  events: NONE,
  bytes: [bytes],
  error: undefined
})

const refused = (s: State, reason: LocalReason, message: string): Handshake.Sent => ({
  state: s,
  events: NONE,
  bytes: NONE,
  error: local(reason, message)
})

const received = (s: State, events: ReadonlyArray<Event> = NONE): Handshake.Received => ({
  state: s,
  events,
  bytes: NONE,
  error: undefined
})

/** A failed handshake; a server's error carries the rejection to answer with. */
const failed = (s: State, reason: HandshakeReason, message: string, headers?: Headers): Handshake.Received => ({
  state: s,
  events: NONE,
  bytes: NONE,
  error: handshakeFailure(!isClient(s), reason, message, headers)
})

const httpFailure = (s: State, failure: Http.Failure): Handshake.Received =>
  failed(s, failure.reason, `Bad HTTP message: ${failure.message}`)

// ---------------------------------------------------------------------------------------------
// Sending

/** @internal */
export const send = (self: Handshake.HandshakeState, event: Event): Handshake.Sent => {
  const s = self as State
  const refuse = (why: string) =>
    refused(s, "InvalidState", `Event ${event._tag} cannot be sent in state ${stateName(STATES[s._tag])}: ${why}`)
  switch (event._tag) {
    case "Request":
      if (!isClient(s)) return refuse("only a client sends a Request")
      return s._tag === "Idle" ? sendRequest(s, event) : refuse("a request was already sent")
    case "AcceptConnection":
      if (isClient(s)) return refuse("only a server accepts")
      return s._tag === "Requested" ? sendAccept(s, event) : refuse("no request to accept")
    case "RejectConnection":
      if (isClient(s)) return refuse("only a server rejects")
      return s._tag === "AwaitingRequest" || s._tag === "Requested"
        ? sendReject(s, event)
        : refuse("a connection can be rejected only while CONNECTING")
    case "RejectData":
      if (isClient(s)) return refuse("only a server sends rejection data")
      return s._tag === "Rejecting"
        ? sendRejectData(s, event)
        : refuse("rejection data follows a RejectConnection with a body")
    default:
      return refuse("only handshake events are sent during the handshake")
  }
}

/** RFC 6455 §4.1: the client's opening handshake. */
const sendRequest = (s: Idle, event: Events.Request): Handshake.Sent => {
  const invalid = (message: string) => refused(s, "InvalidEvent", message)
  if (event.host === "") return invalid("Request host must not be empty")
  if (!Http.isValidTarget(event.target)) return invalid(`Invalid request target ${JSON.stringify(event.target)}`)
  const badProtocol = event.subprotocols.find((p) => !Http.isToken(p))
  if (badProtocol !== undefined) return invalid(`Invalid subprotocol ${JSON.stringify(badProtocol)}`)
  const offered: Array<Extension> = []
  const offers: Array<string> = []
  for (const extension of event.extensions) {
    if (typeof extension === "string") return invalid("A client offers Extension values, not strings")
    const parameters = extension.offer?.()
    if (parameters === undefined) continue
    const bad = invalidElement({ name: extension.name, parameters })
    if (bad !== undefined) return invalid(bad)
    offered.push(extension)
    offers.push(formatElement(extension.name, parameters))
  }
  const nonce = s.config.nonce()
  if (nonce.length !== 16) return refused(s, "InvalidOption", "The nonce source must give 16 bytes")
  const key = Base64.encode(nonce)
  const headers: Array<readonly [string, string]> = [
    ["Host", hostToAscii(event.host)],
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Key", key],
    ["Sec-WebSocket-Version", WEBSOCKET_VERSION]
  ]
  if (event.subprotocols.length > 0) headers.push(["Sec-WebSocket-Protocol", event.subprotocols.join(", ")])
  if (offers.length > 0) headers.push(["Sec-WebSocket-Extensions", offers.join(", ")])
  for (const header of event.extraHeaders) headers.push(header)
  const badHeader = Http.checkHeaders(headers)
  if (badHeader !== undefined) return invalid(badHeader)
  const next: AwaitingResponse = {
    [TypeId]: TypeId,
    config: s.config,
    _tag: "AwaitingResponse",
    key,
    subprotocols: event.subprotocols,
    extensions: offered,
    head: Http.emptyHeadBuffer
  }
  return sent(next, Http.serializeRequest("GET", event.target, headers))
}

const quotedList = (items: ReadonlyArray<string>): string => items.map((item) => JSON.stringify(item)).join(", ")

/** RFC 6455 §4.2.2: the server's 101 answer. */
const sendAccept = (s: Requested, event: Events.AcceptConnection): Handshake.Sent => {
  const request = s.request
  const chosen = event.subprotocol
  if (chosen !== undefined && !request.subprotocols.includes(chosen)) {
    // RFC 6455 §4.2.2 point 5: the subprotocol is one the client offered.
    return refused(
      s,
      "InvalidEvent",
      request.subprotocols.length === 0
        ? `Cannot accept subprotocol ${JSON.stringify(chosen)}: the client offered none; accept without one`
        : `Cannot accept subprotocol ${JSON.stringify(chosen)}: the client offered ${
          quotedList(request.subprotocols)
        }; accept one of those or none`
    )
  }
  const negotiated = serverNegotiate(request.offers, event.extensions)
  for (const element of negotiated.answer) {
    const bad = invalidElement(element)
    if (bad !== undefined) return refused(s, "InvalidEvent", bad)
  }
  const headers: Array<readonly [string, string]> = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptToken(request.key)]
  ]
  if (chosen !== undefined) headers.push(["Sec-WebSocket-Protocol", chosen])
  if (negotiated.header !== undefined) headers.push(["Sec-WebSocket-Extensions", negotiated.header])
  for (const header of event.extraHeaders) headers.push(header)
  const badHeader = Http.checkHeaders(headers)
  if (badHeader !== undefined) return refused(s, "InvalidEvent", badHeader)
  return sent(
    open(s.config, negotiated.extensions, chosen, s.trailing),
    Http.serializeResponse(101, Http.reasonPhrase(101), headers)
  )
}

/** A rejection is an ordinary HTTP response (RFC 6455 §4.2.2 point 4); its body follows as RejectData. */
const sendReject = (s: AwaitingRequest | Requested, event: Events.RejectConnection): Handshake.Sent => {
  const invalid = (message: string) => refused(s, "InvalidEvent", message)
  const status = event.statusCode
  if (!Number.isInteger(status) || status < 200 || status > 999) {
    return invalid(`A rejection's status must be 200 to 999, got ${status}`)
  }
  const headers: Array<readonly [string, string]> = [...event.headers]
  const badHeader = Http.checkHeaders(headers)
  if (badHeader !== undefined) return invalid(badHeader)
  const lengths = Http.listValues(headers, "content-length")
  const codings = Http.listValues(headers, "transfer-encoding")
  // RFC 9112 §6.1: never both; RFC 9110 §15.3.5, §15.4.5: 204 and 304 have no body nor framing.
  if (lengths.length > 0 && codings.length > 0) {
    return invalid("A response must not have both Content-Length and Transfer-Encoding")
  }
  const bodiless = Http.isBodiless(status)
  if (bodiless && (event.hasBody || lengths.length > 0 || codings.length > 0)) {
    return invalid(`A ${status} response has no body and no Content-Length or Transfer-Encoding`)
  }
  let rejection: Rejection | undefined
  if (!event.hasBody) {
    if (codings.length > 0) return invalid("A rejection without a body must not declare a Transfer-Encoding")
    if (lengths.some((l) => l !== "0")) return invalid("A rejection without a body must not declare a Content-Length")
    if (lengths.length === 0 && !bodiless) headers.push(["content-length", "0"])
  } else if (lengths.length > 0) {
    if (lengths.length > 1 || !Http.isLength(lengths[0]!)) return invalid("Invalid Content-Length")
    rejection = { _tag: "Length", remaining: Number(lengths[0]) }
  } else if (codings.length > 0) {
    rejection = Http.endsChunked(codings) ? { _tag: "Chunked" } : { _tag: "UntilClose" }
  } else if (s._tag === "Requested") {
    // The request was HTTP/1.1 (an older one is refused), so it reads chunked (RFC 9112 §7).
    headers.push(["Transfer-Encoding", "chunked"])
    rejection = { _tag: "Chunked" }
  } else {
    // No request received, so its version is unknown: the body ends with the connection.
    headers.push(["Connection", "close"])
    rejection = { _tag: "UntilClose" }
  }
  const next: Rejecting | Closed = rejection === undefined
    ? closed(s.config)
    : { [TypeId]: TypeId, config: s.config, _tag: "Rejecting", rejection }
  return sent(next, Http.serializeResponse(status, Http.reasonPhrase(status), headers))
}

const sendRejectData = (s: Rejecting, event: Events.RejectData): Handshake.Sent => {
  const { bodyFinished, data } = event
  const rejection = s.rejection
  let bytes = data
  let next: Rejection = rejection
  switch (rejection._tag) {
    case "Length": {
      if (data.length > rejection.remaining) {
        return refused(s, "InvalidEvent", "Rejection body longer than its Content-Length")
      }
      const remaining = rejection.remaining - data.length
      if (bodyFinished && remaining > 0) {
        return refused(s, "InvalidEvent", "Rejection body shorter than its Content-Length")
      }
      next = { _tag: "Length", remaining }
      break
    }
    case "Chunked":
      bytes = data.length === 0 ? EMPTY : Http.serializeChunk(data)
      if (bodyFinished) bytes = concat([bytes, Http.serializeChunk(EMPTY)], bytes.length + 5)
      break
    case "UntilClose":
      break
  }
  return sent(bodyFinished ? closed(s.config) : { ...s, rejection: next }, bytes)
}

// ---------------------------------------------------------------------------------------------
// Receiving

/** @internal */
export const receive = (self: Handshake.HandshakeState, data: Uint8Array | null): Handshake.Received => {
  const s = self as State
  if (data === null) return endOfInput(s)
  if (data.length === 0) return received(s)
  switch (s._tag) {
    case "Idle":
      return failed(s, "InvalidHandshake", "Received data before the request was sent")
    case "AwaitingResponse":
      return readHead(s, data, readResponse)
    case "ReadingRejection":
      return readRejectionBody(s, data, [])
    case "AwaitingRequest":
      return readHead(s, data, readRequest)
    case "Requested": {
      // Frames a client sent before the 101 arrived: kept for the connection.
      const size = s.trailing.length + data.length
      if (size > s.config.limits.maxHeadSize) {
        return failed(s, "InvalidHandshake", "Too much data before the handshake completed")
      }
      return received({ ...s, trailing: concat([s.trailing, data], size) })
    }
    case "Rejecting":
    case "Open":
    case "Closed":
      return received(s)
  }
}

/** Collects a head; `then` reads it, from the phase with its head buffer emptied. */
const readHead = <S extends AwaitingResponse | AwaitingRequest>(
  s: S,
  data: Uint8Array,
  then: (s: S, head: Uint8Array, rest: Uint8Array) => Handshake.Received
): Handshake.Received => {
  const collected = Http.collectHead(s.head, data, s.config.limits)
  switch (collected._tag) {
    case "More":
      return received({ ...s, head: collected.buffer })
    case "Failure":
      return httpFailure(s, collected)
    case "Head":
      return then({ ...s, head: Http.emptyHeadBuffer }, collected.head, collected.rest)
  }
}

const lowercased = (headers: Headers): Headers => headers.map(([name, value]) => [name.toLowerCase(), value] as const)

/** RFC 6455 §4.2.1: what a server checks in the client's request, in wsproto's order. */
const readRequest = (s: AwaitingRequest, head: Uint8Array, rest: Uint8Array): Handshake.Received => {
  const request = Http.parseRequest(head, s.config.limits)
  if (request._tag === "Failure") return httpFailure(s, request)
  const invalid = (message: string) => failed(s, "InvalidHandshake", message)
  const headers = request.headers
  if (request.method !== "GET") return invalid("Request method must be GET")
  if (request.versionMinor < 1) return invalid("The opening handshake needs HTTP/1.1 or newer")
  if (!Http.hasToken(headers, "connection", "upgrade")) return invalid("Missing header, 'Connection: Upgrade'")
  const versions = Http.values(headers, "sec-websocket-version")
  if (versions.length === 0) {
    return failed(s, "InvalidHandshake", "Missing header, 'Sec-WebSocket-Version'", VERSION_HEADERS)
  }
  if (versions.length > 1) {
    return failed(
      s,
      "UnsupportedVersion",
      `Sec-WebSocket-Version sent ${versions.length} times: send it once; this server speaks ${WEBSOCKET_VERSION} (RFC 6455 §4.4)`,
      VERSION_HEADERS
    )
  }
  if (versions[0] !== WEBSOCKET_VERSION) {
    return failed(
      s,
      "UnsupportedVersion",
      `Unsupported Sec-WebSocket-Version ${
        versions[0] || "\"\""
      }: this server speaks ${WEBSOCKET_VERSION} (RFC 6455 §4.4)`,
      VERSION_HEADERS
    )
  }
  const keys = Http.values(headers, "sec-websocket-key")
  if (keys.length === 0) return invalid("Missing header, 'Sec-WebSocket-Key'")
  if (keys.length > 1 || !KEY.test(keys[0]!)) return invalid("Invalid Sec-WebSocket-Key: not base64 of 16 bytes")
  if (!Http.hasToken(headers, "upgrade", "websocket")) return invalid("Missing header, 'Upgrade: websocket'")
  const hosts = Http.values(headers, "host")
  if (hosts.length === 0 || hosts[0] === "") return invalid("Missing header, 'Host'")
  if (hosts.length > 1) return invalid("More than one Host header")
  // RFC 9112 §3.2: an invalid Host is answered with 400.
  const host = INVALID_HOST.test(hosts[0]!) ? undefined : hostToUnicode(hosts[0]!)
  if (host === undefined) return invalid(`Invalid Host ${JSON.stringify(hosts[0])}`)
  const subprotocols = Http.listValues(headers, "sec-websocket-protocol")
  const offers = Http.listValues(headers, "sec-websocket-extensions")
  const extraHeaders = lowercased(headers).filter(
    ([name]) => name !== "host" && name !== "sec-websocket-extensions" && name !== "sec-websocket-protocol"
  )
  if (rest.length > s.config.limits.maxHeadSize) return invalid("Too much data before the handshake completed")
  const next: Requested = {
    [TypeId]: TypeId,
    config: s.config,
    _tag: "Requested",
    request: { key: keys[0]!, subprotocols, offers },
    trailing: rest.length === 0 ? EMPTY : rest.slice()
  }
  return received(next, [
    new Events.Request({ host, target: request.target, subprotocols, extensions: offers, extraHeaders }, true)
  ])
}

const IGNORED_RESPONSE_HEADERS = new Set([
  "connection",
  "sec-websocket-extensions",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "upgrade"
])

/** RFC 6455 §4.1 (the client's checks of the server's answer), or a rejection. */
const readResponse = (s: AwaitingResponse, head: Uint8Array, rest: Uint8Array): Handshake.Received => {
  const response = Http.parseResponse(head, s.config.limits)
  if (response._tag === "Failure") return httpFailure(s, response)
  const headers = response.headers
  if (response.statusCode !== 101) {
    const framing = Http.bodyFraming(response)
    if (framing._tag === "Failure") return httpFailure(s, framing)
    const informational = response.statusCode < 200
    const rejection = new Events.RejectConnection({
      statusCode: response.statusCode,
      headers: lowercased(headers),
      hasBody: !informational
    }, true)
    if (informational) return received(closed(s.config), [rejection])
    const reading: ReadingRejection = { [TypeId]: TypeId, config: s.config, _tag: "ReadingRejection", body: framing }
    return readRejectionBody(reading, rest, [rejection])
  }
  const invalid = (message: string) => failed(s, "InvalidHandshake", message)
  if (!Http.hasToken(headers, "connection", "upgrade")) return invalid("Missing header, 'Connection: Upgrade'")
  if (!Http.hasToken(headers, "upgrade", "websocket")) return invalid("Missing header, 'Upgrade: websocket'")
  const accepts = Http.values(headers, "sec-websocket-accept")
  if (accepts.length !== 1 || accepts[0] !== acceptToken(s.key)) return invalid("Bad accept token")
  const protocols = Http.values(headers, "sec-websocket-protocol")
  const chosen = protocols.length === 0 ? undefined : protocols.join(", ")
  if (chosen !== undefined && !s.subprotocols.includes(chosen)) return invalid(`unrecognized subprotocol ${chosen}`)
  if (Http.values(headers, "sec-websocket-extensions").some((value) => value.trim() === "")) {
    return invalid("Empty Sec-WebSocket-Extensions header")
  }
  const negotiated = clientNegotiate(Http.listValues(headers, "sec-websocket-extensions"), s.extensions)
  if (negotiated.error !== undefined) return invalid(negotiated.error)
  const agreed = negotiated.extensions
  const extraHeaders = lowercased(headers).filter(([name]) => !IGNORED_RESPONSE_HEADERS.has(name))
  return received(open(s.config, agreed, chosen, rest.length === 0 ? EMPTY : rest.slice()), [
    new Events.AcceptConnection({
      extensions: agreed,
      extraHeaders,
      ...(chosen === undefined ? {} : { subprotocol: chosen })
    }, true)
  ])
}

/** Reads rejection body bytes; on a failure the state is the one before `data`. */
const readRejectionBody = (s: ReadingRejection, data: Uint8Array, events: Array<Event>): Handshake.Received => {
  const step = Http.readBody(s.body, data)
  if (step._tag === "Failure") return { ...httpFailure(s, step), events }
  for (const piece of step.data) events.push(new Events.RejectData({ data: piece.slice(), bodyFinished: false }, true))
  if (step.state._tag === "Done") {
    events.push(new Events.RejectData({ data: EMPTY, bodyFinished: true }, true))
    return received(closed(s.config), events)
  }
  return received({ ...s, body: step.state }, events)
}

/** The transport ended (RFC 6455 §4.1: before the handshake completed, that fails it). */
const endOfInput = (s: State): Handshake.Received => {
  switch (s._tag) {
    case "AwaitingResponse":
      return failed(s, "UnexpectedEnd", "Connection closed before the handshake response")
    case "ReadingRejection":
      if (!Http.endsAtClose(s.body)) {
        return failed(s, "UnexpectedEnd", "Connection closed in the middle of the rejection body")
      }
      return received(closed(s.config), [new Events.RejectData({ data: EMPTY, bodyFinished: true }, true)])
    case "AwaitingRequest":
      return s.head.size > 0
        ? failed(s, "UnexpectedEnd", "Connection closed in the middle of the request")
        : received(s)
    default:
      return received(s)
  }
}

/** @internal */
export const initiateUpgradeConnection = (
  self: Handshake.HandshakeState,
  headers: Headers,
  path: string
): Handshake.Step<LocalProtocolError | RemoteProtocolError> => {
  const s = self as State
  if (isClient(s)) return refused(s, "InvalidState", "Cannot initiate an upgrade connection when acting as the client")
  if (s._tag !== "AwaitingRequest" || s.head.size > 0) {
    return refused(
      s,
      "InvalidState",
      `Cannot initiate an upgrade connection in state ${stateName(STATES[s._tag])}: a request was already received`
    )
  }
  const invalid = Http.checkHeaders(headers) ??
    (Http.isValidTarget(path) ? undefined : `Invalid path ${JSON.stringify(path)}`)
  if (invalid !== undefined) return refused(s, "InvalidEvent", invalid)
  return receive(s, Http.serializeRequest("GET", path, headers))
}
