/**
 * The opening handshake (RFC 6455 §4) as a pure reducer, both roles, over the HTTP/1.1 heads of
 * `http11.ts`.
 */
import * as Either from "effect/Either"
import { ConnectionState, ConnectionType, stateName } from "../ConnectionState.js"
import { LocalProtocolError, RemoteProtocolError } from "../Errors.js"
import * as Events from "../Events.js"
import * as Extensions from "../Extensions.js"
import type * as Handshake from "../Handshake.js"
import * as Base64 from "./base64.js"
import { concat, EMPTY } from "./bytes.js"
import * as Http from "./http11.js"
import { hostToAscii, hostToUnicode } from "./punycode.js"
import { sha1 } from "./sha1.js"

/** RFC 6455 §1.3 */
const ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** RFC 6455 §4.1: the key is base64 of 16 bytes. */
const KEY = /^[A-Za-z0-9+/]{22}==$/

const WEBSOCKET_VERSION = "13"

/** Characters that cannot appear in a Host (RFC 3986 §3.2.2 with a port). */
const INVALID_HOST = /[\s\x00-\x1f\x7f/?#@\\]/

/** @internal */
export const acceptToken = (key: string): string => {
  const text = key + ACCEPT_GUID
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  return Base64.encode(sha1(bytes))
}

/** @internal */
export const randomNonce = (): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(16))

/** @internal */
export interface HandshakeConfig {
  readonly connectionType: ConnectionType
  readonly limits: Http.Limits
  readonly nonce: () => Uint8Array
}

/** The request a server received, as far as answering it needs. */
interface ReceivedRequest {
  readonly key: string
  readonly versionMinor: number
  readonly subprotocols: ReadonlyArray<string>
  readonly offers: ReadonlyArray<string>
}

/** How a server's rejection body is delimited on the wire. */
type Rejection =
  | { readonly _tag: "Length"; readonly remaining: number }
  | { readonly _tag: "Chunked" }
  | { readonly _tag: "UntilClose" }

/** @internal */
export interface HandshakeState {
  readonly config: HandshakeConfig
  readonly state: ConnectionState
  /** Bytes of a head not complete yet. */
  readonly head: Http.HeadBuffer
  /** Client: the key of the request sent, and what it offered. */
  readonly key: string | undefined
  readonly offeredSubprotocols: ReadonlyArray<string>
  readonly offeredExtensions: ReadonlyArray<Extensions.Extension>
  /** Client: the rejection body being read. */
  readonly body: Http.BodyState | undefined
  /** Server: the request received. */
  readonly request: ReceivedRequest | undefined
  /** Server: the rejection body being written. */
  readonly rejection: Rejection | undefined
  /** Once OPEN: what the connection starts with. */
  readonly extensions: ReadonlyArray<Extensions.Extension>
  readonly subprotocol: string | undefined
  /** Bytes after the handshake's last head: the first frames (RFC 6455 §4.9 of the spec notes). */
  readonly trailing: Uint8Array
}

/** @internal */
export const make = (options: Handshake.HandshakeOptions): HandshakeState => ({
  config: {
    connectionType: options.connectionType,
    limits: { maxHeadSize: options.maxHeadSize ?? 16 * 1024, maxHeaders: options.maxHeaders ?? 100 },
    nonce: options.nonce ?? randomNonce
  },
  state: ConnectionState.CONNECTING,
  head: Http.emptyHeadBuffer,
  key: undefined,
  offeredSubprotocols: [],
  offeredExtensions: [],
  body: undefined,
  request: undefined,
  rejection: undefined,
  extensions: [],
  subprotocol: undefined,
  trailing: EMPTY
})

type Received = Handshake.Received
type Sent = Either.Either<Handshake.Sent, LocalProtocolError>

const local = (message: string): Sent => Either.left(new LocalProtocolError({ message }))

const sent = (state: HandshakeState, bytes: Uint8Array): Sent => Either.right({ state, bytes })

const received = (state: HandshakeState, events: ReadonlyArray<Events.Event> = []): Received => ({
  state,
  events,
  error: undefined
})

const remote = (state: HandshakeState, message: string, eventHint?: Events.Event): Received => ({
  state,
  events: [],
  error: new RemoteProtocolError({ message, closeCode: 1002, ...(eventHint === undefined ? {} : { eventHint }) })
})

const isClient = (s: HandshakeState) => s.config.connectionType === ConnectionType.CLIENT

// ---------------------------------------------------------------------------------------------
// Sending

/** @internal */
export const send = (s: HandshakeState, event: Events.Event): Sent => {
  const refuse = (why: string) => local(`Event ${event._tag} cannot be sent in state ${stateName(s.state)}: ${why}`)
  const connecting = s.state === ConnectionState.CONNECTING
  switch (event._tag) {
    case "Request":
      if (!isClient(s)) return refuse("only a client sends a Request")
      if (!connecting || s.key !== undefined) return refuse("a request was already sent")
      return sendRequest(s, event)
    case "AcceptConnection":
      if (isClient(s)) return refuse("only a server accepts")
      if (!connecting || s.request === undefined) return refuse("no request to accept")
      return sendAccept(s, s.request, event)
    case "RejectConnection":
      if (isClient(s)) return refuse("only a server rejects")
      if (!connecting) return refuse("a connection can be rejected only while CONNECTING")
      return sendReject(s, event)
    case "RejectData":
      if (isClient(s)) return refuse("only a server sends rejection data")
      if (s.state !== ConnectionState.REJECTING || s.rejection === undefined) {
        return refuse("rejection data follows a RejectConnection with a body")
      }
      return sendRejectData(s, s.rejection, event)
    default:
      return refuse("only handshake events are sent during the handshake")
  }
}

/** RFC 6455 §9.1: extension names and parameters are tokens (values are written unquoted). */
const invalidElement = (name: string, parameters: ReadonlyArray<Extensions.Parameter>): string | undefined => {
  if (!Http.isToken(name)) return `Invalid extension name ${JSON.stringify(name)}`
  for (const { name: key, value } of parameters) {
    if (!Http.isToken(key) || (value !== undefined && !Http.isToken(value))) {
      return `Invalid parameter ${JSON.stringify(value === undefined ? key : `${key}=${value}`)} of extension ${name}`
    }
  }
  return undefined
}

/** RFC 6455 §4.1: the client's opening handshake. */
const sendRequest = (s: HandshakeState, event: Events.Request): Sent => {
  if (event.host === "") return local("Request host must not be empty")
  if (!Http.isValidTarget(event.target)) return local(`Invalid request target ${JSON.stringify(event.target)}`)
  const badProtocol = event.subprotocols.find((p) => !Http.isToken(p))
  if (badProtocol !== undefined) return local(`Invalid subprotocol ${JSON.stringify(badProtocol)}`)
  const offered: Array<Extensions.Extension> = []
  const offers: Array<string> = []
  for (const extension of event.extensions) {
    if (typeof extension === "string") return local("A client offers Extension values, not strings")
    const parameters = extension.offer?.()
    if (parameters === undefined) continue
    const invalid = invalidElement(extension.name, parameters)
    if (invalid !== undefined) return local(invalid)
    offered.push(extension)
    offers.push(Extensions.formatElement(extension.name, parameters))
  }
  const nonce = s.config.nonce()
  if (nonce.length !== 16) return local("The nonce source must give 16 bytes")
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
  headers.push(...event.extraHeaders)
  const invalid = Http.checkHeaders(headers)
  if (invalid !== undefined) return local(invalid)
  return sent(
    { ...s, key, offeredSubprotocols: event.subprotocols, offeredExtensions: offered },
    Http.serializeRequest("GET", event.target, headers)
  )
}

/** RFC 6455 §4.2.2: the server's 101 answer. */
const sendAccept = (s: HandshakeState, request: ReceivedRequest, event: Events.AcceptConnection): Sent => {
  const subprotocol = event.subprotocol
  if (subprotocol !== undefined && !request.subprotocols.includes(subprotocol)) {
    return local(`unexpected subprotocol ${subprotocol}`)
  }
  const negotiated = Extensions.serverNegotiate(request.offers, event.extensions)
  for (const element of negotiated.answer) {
    const invalid = invalidElement(element.name, element.parameters)
    if (invalid !== undefined) return local(invalid)
  }
  const headers: Array<readonly [string, string]> = [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ["Sec-WebSocket-Accept", acceptToken(request.key)]
  ]
  if (subprotocol !== undefined) headers.push(["Sec-WebSocket-Protocol", subprotocol])
  if (negotiated.header !== undefined) headers.push(["Sec-WebSocket-Extensions", negotiated.header])
  headers.push(...event.extraHeaders)
  const invalid = Http.checkHeaders(headers)
  if (invalid !== undefined) return local(invalid)
  return sent(
    { ...s, state: ConnectionState.OPEN, extensions: negotiated.extensions, subprotocol },
    Http.serializeResponse(101, "Switching Protocols", headers)
  )
}

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

/** A rejection is an ordinary HTTP response (RFC 6455 §4.2.2 point 4); its body follows as RejectData. */
const sendReject = (s: HandshakeState, event: Events.RejectConnection): Sent => {
  const status = event.statusCode
  if (!Number.isInteger(status) || status < 200 || status > 999) {
    return local(`A rejection's status must be 200 to 999, got ${status}`)
  }
  const headers: Array<readonly [string, string]> = [...event.headers]
  const invalid = Http.checkHeaders(headers)
  if (invalid !== undefined) return local(invalid)
  const lengths = Http.listValues(headers, "content-length")
  const codings = Http.listValues(headers, "transfer-encoding")
  // RFC 9112 §6.1: never both; RFC 9110 §15.3.5, §15.4.5: 204 and 304 have no body nor framing.
  if (lengths.length > 0 && codings.length > 0) return local("A response must not have both Content-Length and Transfer-Encoding")
  const bodiless = status === 204 || status === 304
  if (bodiless && (event.hasBody || lengths.length > 0 || codings.length > 0)) {
    return local(`A ${status} response has no body and no Content-Length or Transfer-Encoding`)
  }
  let rejection: Rejection | undefined
  if (!event.hasBody) {
    if (codings.length > 0) return local("A rejection without a body must not declare a Transfer-Encoding")
    if (lengths.some((l) => l !== "0")) return local("A rejection without a body must not declare a Content-Length")
    if (lengths.length === 0 && !bodiless) headers.push(["content-length", "0"])
  } else if (lengths.length > 0) {
    if (lengths.length > 1 || !/^\d{1,15}$/.test(lengths[0]!)) return local("Invalid Content-Length")
    rejection = { _tag: "Length", remaining: Number(lengths[0]) }
  } else if (codings.length > 0) {
    rejection = codings[codings.length - 1]!.toLowerCase() === "chunked" ? { _tag: "Chunked" } : { _tag: "UntilClose" }
  } else if (s.request !== undefined && s.request.versionMinor >= 1) {
    headers.push(["Transfer-Encoding", "chunked"])
    rejection = { _tag: "Chunked" }
  } else {
    // No request accepted (so its version is unknown), or HTTP/1.0: the body ends with the connection.
    headers.push(["Connection", "close"])
    rejection = { _tag: "UntilClose" }
  }
  return sent(
    {
      ...s,
      state: rejection === undefined ? ConnectionState.CLOSED : ConnectionState.REJECTING,
      rejection
    },
    Http.serializeResponse(status, REASONS[status] ?? "", headers)
  )
}

const sendRejectData = (s: HandshakeState, rejection: Rejection, event: Events.RejectData): Sent => {
  const data = event.data
  let bytes = data
  let next: Rejection = rejection
  switch (rejection._tag) {
    case "Length": {
      if (data.length > rejection.remaining) return local("Rejection body longer than its Content-Length")
      const remaining = rejection.remaining - data.length
      if (event.bodyFinished && remaining > 0) return local("Rejection body shorter than its Content-Length")
      next = { _tag: "Length", remaining }
      break
    }
    case "Chunked":
      bytes = data.length === 0 ? EMPTY : Http.serializeChunk(data)
      if (event.bodyFinished) bytes = concat([bytes, Http.serializeChunk(EMPTY)], bytes.length + 5)
      break
    case "UntilClose":
      break
  }
  return sent(
    event.bodyFinished
      ? { ...s, state: ConnectionState.CLOSED, rejection: undefined }
      : { ...s, rejection: next },
    bytes
  )
}

// ---------------------------------------------------------------------------------------------
// Receiving

/** @internal */
export const receive = (s: HandshakeState, data: Uint8Array | null): Received => {
  if (data === null) return endOfInput(s)
  if (data.length === 0) return received(s)
  if (isClient(s)) {
    if (s.state === ConnectionState.REJECTING && s.body !== undefined) return readRejectionBody(s, s.body, data, [])
    if (s.state !== ConnectionState.CONNECTING) return received(s)
    if (s.key === undefined) return remote(s, "Received data before the request was sent")
    return readHead(s, data, readResponse)
  }
  if (s.state !== ConnectionState.CONNECTING) return received(s)
  if (s.request !== undefined) {
    // Frames a client sent before the 101 arrived: kept for the connection.
    const size = s.trailing.length + data.length
    if (size > s.config.limits.maxHeadSize) {
      return remote(s, "Too much data before the handshake completed", new Events.RejectConnection({}, true))
    }
    return received({ ...s, trailing: concat([s.trailing, data], size) })
  }
  return readHead(s, data, readRequest)
}

const readHead = (
  s: HandshakeState,
  data: Uint8Array,
  then: (s: HandshakeState, head: Uint8Array, rest: Uint8Array) => Received
): Received => {
  const collected = Http.collectHead(s.head, data, s.config.limits)
  switch (collected._tag) {
    case "More":
      return received({ ...s, head: collected.buffer })
    case "HeadFailure":
      return headFailure(s, collected)
    case "Head":
      return then({ ...s, head: Http.emptyHeadBuffer }, collected.head, collected.rest)
  }
}

const headFailure = (s: HandshakeState, failure: Http.HeadFailure): Received =>
  remote(
    s,
    `Bad HTTP message: ${failure.message}`,
    isClient(s) ? undefined : new Events.RejectConnection({ statusCode: failure.reason === "tooLarge" ? 431 : 400 }, true)
  )

const lowercased = (headers: Events.Headers): Events.Headers =>
  headers.map(([name, value]) => [name.toLowerCase(), value] as const)

/** RFC 6455 §4.2.1: what a server checks in the client's request, in wsproto's order. */
const readRequest = (s: HandshakeState, head: Uint8Array, rest: Uint8Array): Received => {
  const request = Http.parseRequest(head, s.config.limits)
  if ("_tag" in request) return headFailure(s, request)
  const reject = (message: string) => remote(s, message, new Events.RejectConnection({}, true))
  const headers = request.headers
  if (request.method !== "GET") return reject("Request method must be GET")
  if (request.versionMinor < 1) return reject("The opening handshake needs HTTP/1.1 or newer")
  if (!Http.hasToken(headers, "connection", "upgrade")) return reject("Missing header, 'Connection: Upgrade'")
  const versions = Http.values(headers, "sec-websocket-version")
  if (versions.length !== 1 || versions[0] !== WEBSOCKET_VERSION) {
    // RFC 6455 §4.4: answer with the versions this server speaks.
    return remote(
      s,
      "Missing header, 'Sec-WebSocket-Version'",
      new Events.RejectConnection({
        statusCode: versions.length === 0 ? 400 : 426,
        headers: [["Sec-WebSocket-Version", WEBSOCKET_VERSION]]
      }, true)
    )
  }
  const keys = Http.values(headers, "sec-websocket-key")
  if (keys.length === 0) return reject("Missing header, 'Sec-WebSocket-Key'")
  if (keys.length > 1 || !KEY.test(keys[0]!)) return reject("Invalid Sec-WebSocket-Key: not base64 of 16 bytes")
  if (!Http.hasToken(headers, "upgrade", "websocket")) return reject("Missing header, 'Upgrade: websocket'")
  const hosts = Http.values(headers, "host")
  if (hosts.length === 0 || hosts[0] === "") return reject("Missing header, 'Host'")
  if (hosts.length > 1) return reject("More than one Host header")
  // RFC 9112 §3.2: an invalid Host is answered with 400.
  const host = INVALID_HOST.test(hosts[0]!) ? undefined : hostToUnicode(hosts[0]!)
  if (host === undefined) return reject(`Invalid Host ${JSON.stringify(hosts[0])}`)
  const subprotocols = Http.listValues(headers, "sec-websocket-protocol")
  const offers = Http.listValues(headers, "sec-websocket-extensions")
  const extraHeaders = lowercased(headers).filter(
    ([name]) => name !== "host" && name !== "sec-websocket-extensions" && name !== "sec-websocket-protocol"
  )
  if (rest.length > s.config.limits.maxHeadSize) {
    return reject("Too much data before the handshake completed")
  }
  return received(
    {
      ...s,
      request: { key: keys[0]!, versionMinor: request.versionMinor, subprotocols, offers },
      trailing: rest.length === 0 ? EMPTY : rest.slice()
    },
    [new Events.Request({ host, target: request.target, subprotocols, extensions: offers, extraHeaders }, true)]
  )
}

/** RFC 6455 §4.1 (the client's checks of the server's answer), or a rejection. */
const readResponse = (s: HandshakeState, head: Uint8Array, rest: Uint8Array): Received => {
  const response = Http.parseResponse(head, s.config.limits)
  if ("_tag" in response) return headFailure(s, response)
  const headers = response.headers
  if (response.statusCode !== 101) {
    const framing = Http.bodyFraming(response)
    if (framing._tag === "HeadFailure") return remote(s, `Bad HTTP message: ${framing.message}`)
    const informational = response.statusCode < 200
    const rejection = new Events.RejectConnection({
      statusCode: response.statusCode,
      headers: lowercased(headers),
      hasBody: !informational
    }, true)
    if (informational) return received({ ...s, state: ConnectionState.CLOSED }, [rejection])
    return readRejectionBody({ ...s, state: ConnectionState.REJECTING }, framing, rest, [rejection])
  }
  if (!Http.hasToken(headers, "connection", "upgrade")) return remote(s, "Missing header, 'Connection: Upgrade'")
  if (!Http.hasToken(headers, "upgrade", "websocket")) return remote(s, "Missing header, 'Upgrade: websocket'")
  const accepts = Http.values(headers, "sec-websocket-accept")
  if (accepts.length !== 1 || accepts[0] !== acceptToken(s.key!)) return remote(s, "Bad accept token")
  const protocols = Http.values(headers, "sec-websocket-protocol")
  const subprotocol = protocols.length === 0 ? undefined : protocols.join(", ")
  if (subprotocol !== undefined && !s.offeredSubprotocols.includes(subprotocol)) {
    return remote(s, `unrecognized subprotocol ${subprotocol}`)
  }
  if (Http.values(headers, "sec-websocket-extensions").some((value) => value.trim() === "")) {
    return remote(s, "Empty Sec-WebSocket-Extensions header")
  }
  const extensions = Extensions.clientNegotiate(
    Http.listValues(headers, "sec-websocket-extensions"),
    s.offeredExtensions
  )
  if (typeof extensions === "string") return remote(s, extensions)
  const ignored = new Set(["connection", "sec-websocket-extensions", "sec-websocket-accept", "sec-websocket-protocol", "upgrade"])
  const extraHeaders = lowercased(headers).filter(([name]) => !ignored.has(name))
  return received(
    { ...s, state: ConnectionState.OPEN, extensions, subprotocol, trailing: rest.length === 0 ? EMPTY : rest.slice() },
    [
      new Events.AcceptConnection({
        extensions,
        extraHeaders,
        ...(subprotocol === undefined ? {} : { subprotocol })
      }, true)
    ]
  )
}

const readRejectionBody = (
  s: HandshakeState,
  body: Http.BodyState,
  data: Uint8Array,
  events: Array<Events.Event>
): Received => {
  const step = Http.readBody(body, data)
  if (step._tag === "HeadFailure") return { ...remote(s, `Bad HTTP message: ${step.message}`), events }
  for (const piece of step.data) events.push(new Events.RejectData({ data: piece.slice(), bodyFinished: false }, true))
  if (step.state._tag === "Done") {
    events.push(new Events.RejectData({ data: EMPTY, bodyFinished: true }, true))
    return received({ ...s, state: ConnectionState.CLOSED, body: undefined }, events)
  }
  return received({ ...s, body: step.state }, events)
}

/** The transport ended (RFC 6455 §4.1: before the handshake completed, that fails it). */
const endOfInput = (s: HandshakeState): Received => {
  if (isClient(s)) {
    if (s.state === ConnectionState.REJECTING && s.body !== undefined) {
      if (!Http.endsAtClose(s.body)) return remote(s, "Connection closed in the middle of the rejection body")
      return received({ ...s, state: ConnectionState.CLOSED, body: undefined }, [
        new Events.RejectData({ data: EMPTY, bodyFinished: true }, true)
      ])
    }
    if (s.state === ConnectionState.CONNECTING && s.key !== undefined) {
      return remote(s, "Connection closed before the handshake response")
    }
    return received(s)
  }
  if (s.state === ConnectionState.CONNECTING && s.request === undefined && s.head.size > 0) {
    return remote(s, "Connection closed in the middle of the request", new Events.RejectConnection({}, true))
  }
  return received(s)
}

/** @internal */
export const initiateUpgradeConnection = (
  s: HandshakeState,
  headers: Events.Headers,
  path: string
): Either.Either<Received, LocalProtocolError> => {
  if (isClient(s)) {
    return Either.left(
      new LocalProtocolError({ message: "Cannot initiate an upgrade connection when acting as the client" })
    )
  }
  if (s.state !== ConnectionState.CONNECTING || s.request !== undefined || s.head.size > 0) {
    return Either.left(
      new LocalProtocolError({ message: `Cannot initiate an upgrade connection in state ${stateName(s.state)}: a request was already received` })
    )
  }
  const invalid = Http.checkHeaders(headers) ?? (Http.isValidTarget(path) ? undefined : `Invalid path ${JSON.stringify(path)}`)
  if (invalid !== undefined) return Either.left(new LocalProtocolError({ message: invalid }))
  return Either.right(receive(s, Http.serializeRequest("GET", path, headers)))
}
