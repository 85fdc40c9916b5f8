/**
 * HTTP/1.1 message heads and bodies, as much as the WebSocket opening handshake needs (RFC 9112,
 * RFC 9110): an incremental, bounded reader of request and response heads, the body framings of a
 * response (Content-Length, chunked, until close), and serialisers that refuse what must not reach
 * the wire. Heads are read as Latin-1: one character per byte.
 */
import type { Headers } from "../Events.js"

/** @internal */
export interface Limits {
  readonly maxHeadSize: number
  readonly maxHeaders: number
}

/** @internal */
export interface RequestHead {
  readonly _tag: "Request"
  readonly method: string
  readonly target: string
  readonly versionMinor: number
  readonly headers: Headers
}

/** @internal */
export interface ResponseHead {
  readonly _tag: "Response"
  readonly statusCode: number
  readonly reason: string
  readonly versionMinor: number
  readonly headers: Headers
}

/**
 * Why a head or body could not be read, as the handshake reports it (statuses in errors.ts).
 *
 * @internal
 */
export interface Failure {
  readonly _tag: "Failure"
  readonly reason: "HeadTooLarge" | "MalformedHttp"
  readonly message: string
}

const failure = (reason: Failure["reason"], message: string): Failure => ({ _tag: "Failure", reason, message })

const malformed = (message: string): Failure => failure("MalformedHttp", message)

// ---------------------------------------------------------------------------------------------
// Collecting the bytes of a head

/** Received chunks, newest first, so that adding one costs the same however many came before. */
interface Pieces {
  readonly head: Uint8Array
  readonly tail: Pieces | undefined
}

/**
 * The bytes of a head received so far. `matched` counts how much of CR LF CR LF the last bytes
 * form, so the end is found however the head is split.
 *
 * @internal
 */
export interface HeadBuffer {
  readonly pieces: Pieces | undefined
  readonly size: number
  readonly matched: number
}

/** @internal */
export const emptyHeadBuffer: HeadBuffer = { pieces: undefined, size: 0, matched: 0 }

const TERMINATOR = [0x0d, 0x0a, 0x0d, 0x0a]

/** @internal */
export type Collected =
  | { readonly _tag: "More"; readonly buffer: HeadBuffer }
  | { readonly _tag: "Head"; readonly head: Uint8Array; readonly rest: Uint8Array }
  | Failure

/**
 * Adds a chunk; returns the complete head (terminator included) and the bytes after it, once the
 * blank line has arrived.
 *
 * @internal
 */
export const collectHead = (buffer: HeadBuffer, chunk: Uint8Array, limits: Limits): Collected => {
  let matched = buffer.matched
  let end = -1
  for (let i = 0; i < chunk.length; i++) {
    const byte = chunk[i]!
    if (byte === TERMINATOR[matched]) matched++
    else matched = byte === 0x0d ? 1 : 0
    if (matched === 4) {
      end = i + 1
      break
    }
  }
  const size = buffer.size + (end < 0 ? chunk.length : end)
  if (size > limits.maxHeadSize) {
    return failure("HeadTooLarge", `HTTP head larger than ${limits.maxHeadSize} bytes`)
  }
  if (end < 0) {
    // A copy: the caller may reuse its read buffer.
    return { _tag: "More", buffer: { pieces: { head: chunk.slice(), tail: buffer.pieces }, size, matched } }
  }
  const head = new Uint8Array(size)
  let offset = size - end
  head.set(chunk.subarray(0, end), offset)
  for (let p = buffer.pieces; p !== undefined; p = p.tail) {
    offset -= p.head.length
    head.set(p.head, offset)
  }
  return { _tag: "Head", head, rest: chunk.subarray(end) }
}

// ---------------------------------------------------------------------------------------------
// Parsing a head

const asciiDecoder = new TextDecoder()

/** Latin-1: ASCII (the usual head) through the native decoder, other bytes one by one. */
const latin1 = (bytes: Uint8Array): string => {
  let ascii = true
  for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i]! < 0x80
  if (ascii) return asciiDecoder.decode(bytes)
  let text = ""
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!)
  return text
}

/** RFC 9110 §5.6.2: token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** RFC 9110 §5.5: field values are visible characters, SP, HTAB and obs-text; no CTL. */
const INVALID_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/

/** @internal */
export const isToken = (text: string): boolean => TOKEN.test(text)

/** A head's start line and field lines (RFC 9112 §2.1). */
interface Lines {
  readonly _tag: "Lines"
  readonly start: string
  readonly fields: ReadonlyArray<string>
}

const splitLines = (head: Uint8Array): Lines | Failure => {
  const lines = latin1(head.subarray(0, head.length - 4)).split("\r\n")
  for (const line of lines) {
    if (line.includes("\r") || line.includes("\n")) return malformed("bare CR or LF in HTTP head")
  }
  return { _tag: "Lines", start: lines[0]!, fields: lines.slice(1) }
}

const parseHeaders = (
  lines: ReadonlyArray<string>,
  limits: Limits
): { readonly _tag: "Headers"; readonly headers: Headers } | Failure => {
  if (lines.length > limits.maxHeaders) {
    return failure("HeadTooLarge", `more than ${limits.maxHeaders} header fields`)
  }
  const headers: Array<readonly [string, string]> = []
  for (const line of lines) {
    // RFC 9112 §5.2: obs-fold (a line starting with whitespace) is rejected.
    if (line.startsWith(" ") || line.startsWith("\t")) return malformed("obsolete line folding in HTTP head")
    const colon = line.indexOf(":")
    const name = colon < 0 ? "" : line.slice(0, colon)
    // RFC 9112 §5.1: no whitespace between the field name and the colon.
    if (!isToken(name)) return malformed(`invalid header field ${JSON.stringify(line.slice(0, 64))}`)
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "")
    if (INVALID_VALUE.test(value)) return malformed(`invalid value in header field ${name}`)
    headers.push([name, value])
  }
  return { _tag: "Headers", headers }
}

const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/
const STATUS_LINE = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/

/** RFC 9112 §3.2: a request target is visible ASCII. */
const TARGET = /^[\x21-\x7e]+$/

/**
 * Parses a complete request head (RFC 9112 §3).
 *
 * @internal
 */
export const parseRequest = (head: Uint8Array, limits: Limits): RequestHead | Failure => {
  const lines = splitLines(head)
  if (lines._tag === "Failure") return lines
  const match = REQUEST_LINE.exec(lines.start)
  if (match === null || !isToken(match[1]!) || !TARGET.test(match[2]!) || match[3] !== "1") {
    return malformed(`invalid request line ${JSON.stringify(lines.start.slice(0, 64))}`)
  }
  const fields = parseHeaders(lines.fields, limits)
  if (fields._tag === "Failure") return fields
  return {
    _tag: "Request",
    method: match[1]!,
    target: match[2]!,
    versionMinor: Number(match[4]),
    headers: fields.headers
  }
}

/**
 * Parses a complete response head (RFC 9112 §4).
 *
 * @internal
 */
export const parseResponse = (head: Uint8Array, limits: Limits): ResponseHead | Failure => {
  const lines = splitLines(head)
  if (lines._tag === "Failure") return lines
  const match = STATUS_LINE.exec(lines.start)
  if (match === null || match[1] !== "1" || INVALID_VALUE.test(match[4] ?? "")) {
    return malformed(`invalid status line ${JSON.stringify(lines.start.slice(0, 64))}`)
  }
  const fields = parseHeaders(lines.fields, limits)
  if (fields._tag === "Failure") return fields
  return {
    _tag: "Response",
    statusCode: Number(match[3]),
    reason: match[4] ?? "",
    versionMinor: Number(match[2]),
    headers: fields.headers
  }
}

// ---------------------------------------------------------------------------------------------
// Reading header fields

/**
 * Every value of a header field (names compare case-insensitively), in order.
 *
 * @internal
 */
export const values = (headers: Headers, name: string): Array<string> => {
  const lower = name.toLowerCase()
  const found: Array<string> = []
  // Names are tokens (ASCII), so the length check first skips most fields without lowercasing.
  for (const [key, value] of headers) if (key.length === lower.length && key.toLowerCase() === lower) found.push(value)
  return found
}

/**
 * The elements of a comma-separated list field (RFC 9110 §5.6.1) across all its lines, trimmed,
 * empty elements dropped. Commas inside quoted strings do not split.
 *
 * @internal
 */
export const listValues = (headers: Headers, name: string): Array<string> => {
  const elements: Array<string> = []
  for (const value of values(headers, name)) {
    for (const element of splitList(value)) if (element !== "") elements.push(element)
  }
  return elements
}

/**
 * Splits a field value at commas outside quoted strings (RFC 9110 §5.6.1, §5.6.4), trimming each
 * element.
 *
 * @internal
 */
export const splitList = (value: string): Array<string> =>
  splitOutsideQuotes(value, ",").map((element) => element.trim())

/**
 * Splits at `separator` wherever it is not inside a quoted string (RFC 9110 §5.6.4).
 *
 * @internal
 */
export const splitOutsideQuotes = (text: string, separator: string): Array<string> => {
  const parts: Array<string> = []
  let start = 0
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted && c === "\\") i++
    else if (c === "\"") quoted = !quoted
    else if (c === separator && !quoted) {
      parts.push(text.slice(start, i))
      start = i + 1
    }
  }
  parts.push(text.slice(start))
  return parts
}

/**
 * Whether a list field holds a token, case-insensitively (`Connection: keep-alive, Upgrade`).
 *
 * @internal
 */
export const hasToken = (headers: Headers, name: string, token: string): boolean =>
  listValues(headers, name).some((element) => element.toLowerCase() === token)

// ---------------------------------------------------------------------------------------------
// Response bodies (RFC 9112 §6)

/** @internal */
export type BodyState =
  | { readonly _tag: "Length"; readonly remaining: number }
  | { readonly _tag: "Chunked"; readonly phase: ChunkPhase; readonly remaining: number; readonly line: string }
  | { readonly _tag: "UntilClose" }
  | { readonly _tag: "Done" }

type ChunkPhase = "size" | "data" | "dataEnd" | "trailer"

/**
 * RFC 9112 §6.3: 1xx, 204 and 304 responses have no body.
 *
 * @internal
 */
export const isBodiless = (status: number): boolean => status < 200 || status === 204 || status === 304

/**
 * RFC 9112 §6.3: a body is chunked when chunked is the last transfer coding; with another last
 * coding it lasts until the close.
 *
 * @internal
 */
export const endsChunked = (codings: ReadonlyArray<string>): boolean =>
  codings[codings.length - 1]!.toLowerCase() === "chunked"

/**
 * RFC 9110 §8.6: a Content-Length value, at most 15 digits (a safe integer).
 *
 * @internal
 */
export const isLength = (value: string): boolean => /^\d{1,15}$/.test(value)

/** The longest chunk-size or trailer line accepted. */
const MAX_LINE = 4096

/**
 * How a response's body is delimited (RFC 9112 §6.3), or why it cannot be read.
 *
 * @internal
 */
export const bodyFraming = (head: ResponseHead): BodyState | Failure => {
  if (isBodiless(head.statusCode)) return { _tag: "Done" }
  const codings = listValues(head.headers, "transfer-encoding")
  if (codings.length > 0) {
    return endsChunked(codings) ? { _tag: "Chunked", phase: "size", remaining: 0, line: "" } : { _tag: "UntilClose" }
  }
  const lengths = new Set(listValues(head.headers, "content-length"))
  if (lengths.size === 0) return { _tag: "UntilClose" }
  const [length] = lengths
  if (lengths.size > 1 || !isLength(length!)) return malformed("invalid Content-Length")
  const remaining = Number(length)
  return remaining === 0 ? { _tag: "Done" } : { _tag: "Length", remaining }
}

/** @internal */
export type BodyStep =
  | { readonly _tag: "Body"; readonly state: BodyState; readonly data: ReadonlyArray<Uint8Array> }
  | Failure

/**
 * Reads body bytes; the state is `Done` once the body is complete (bytes after it are ignored).
 *
 * @internal
 */
export const readBody = (state: BodyState, chunk: Uint8Array): BodyStep => {
  switch (state._tag) {
    case "Done":
      return { _tag: "Body", state, data: [] }
    case "UntilClose":
      return { _tag: "Body", state, data: chunk.length > 0 ? [chunk] : [] }
    case "Length": {
      const take = Math.min(state.remaining, chunk.length)
      const remaining = state.remaining - take
      return {
        _tag: "Body",
        state: remaining === 0 ? { _tag: "Done" } : { _tag: "Length", remaining },
        data: take > 0 ? [chunk.subarray(0, take)] : []
      }
    }
    case "Chunked":
      return readChunked(state, chunk)
  }
}

/** RFC 9112 §7.1: chunk-size [ext] CRLF, data CRLF, …, last-chunk, trailers, CRLF. */
const readChunked = (start: Extract<BodyState, { _tag: "Chunked" }>, chunk: Uint8Array): BodyStep => {
  let phase = start.phase
  let remaining = start.remaining
  let line = start.line
  const data: Array<Uint8Array> = []
  let i = 0
  while (i < chunk.length) {
    if (phase === "data") {
      const take = Math.min(remaining, chunk.length - i)
      data.push(chunk.subarray(i, i + take))
      i += take
      remaining -= take
      if (remaining === 0) phase = "dataEnd"
      continue
    }
    // The other phases read lines.
    const byte = chunk[i++]!
    if (byte !== 0x0a) {
      line += String.fromCharCode(byte)
      if (line.length > MAX_LINE) return malformed("chunked body line too long")
      continue
    }
    if (!line.endsWith("\r")) return malformed("bare LF in chunked body")
    const text = line.slice(0, -1)
    line = ""
    if (phase === "dataEnd") {
      if (text !== "") return malformed("chunk data longer than its size")
      phase = "size"
    } else if (phase === "size") {
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(;.*)?$/.exec(text)
      if (size === null) return malformed("invalid chunk size")
      remaining = parseInt(size[1]!, 16)
      phase = remaining === 0 ? "trailer" : "data"
    } else if (text === "") {
      return { _tag: "Body", state: { _tag: "Done" }, data }
    }
  }
  return { _tag: "Body", state: { _tag: "Chunked", phase, remaining, line }, data }
}

/**
 * Whether the end of the input may end the body here: only a body delimited by the close.
 *
 * @internal
 */
export const endsAtClose = (state: BodyState): boolean => state._tag === "UntilClose" || state._tag === "Done"

// ---------------------------------------------------------------------------------------------
// Serialising heads

/**
 * Why a head cannot be written: a name that is not a token, or a value or target with CR, LF,
 * NUL or another control character, or a character that is not Latin-1 (no header injection).
 *
 * @internal
 */
export const checkHeaders = (headers: Headers): string | undefined => {
  for (const [name, value] of headers) {
    if (!isToken(name)) return `invalid header name ${JSON.stringify(name)}`
    if (INVALID_VALUE.test(value) || /[^\x00-\xff]/.test(value)) {
      return `invalid value for header ${name}: ${JSON.stringify(value)}`
    }
  }
  return undefined
}

const encodeLatin1 = (text: string): Uint8Array => {
  const bytes = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i)
  return bytes
}

const head = (startLine: string, headers: Headers): Uint8Array => {
  let text = `${startLine}\r\n`
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`
  return encodeLatin1(`${text}\r\n`)
}

/**
 * A request head; the caller has checked the headers and the target.
 *
 * @internal
 */
export const serializeRequest = (method: string, target: string, headers: Headers): Uint8Array =>
  head(`${method} ${target} HTTP/1.1`, headers)

const REASON_PHRASES: Readonly<Record<number, string>> = {
  101: "Switching Protocols",
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

/**
 * The reason phrase written for a status (RFC 9112 §4: it may be empty).
 *
 * @internal
 */
export const reasonPhrase = (statusCode: number): string => REASON_PHRASES[statusCode] ?? ""

/**
 * A response head; the caller has checked the headers.
 *
 * @internal
 */
export const serializeResponse = (statusCode: number, reason: string, headers: Headers): Uint8Array =>
  head(`HTTP/1.1 ${statusCode} ${reason}`, headers)

/**
 * One chunk of a chunked body (RFC 9112 §7.1); the empty chunk ends the body.
 *
 * @internal
 */
export const serializeChunk = (data: Uint8Array): Uint8Array => {
  if (data.length === 0) return encodeLatin1("0\r\n\r\n")
  const size = encodeLatin1(`${data.length.toString(16)}\r\n`)
  const out = new Uint8Array(size.length + data.length + 2)
  out.set(size)
  out.set(data, size.length)
  out[out.length - 2] = 0x0d
  out[out.length - 1] = 0x0a
  return out
}

/** @internal */
export const isValidTarget = (target: string): boolean => TARGET.test(target)
