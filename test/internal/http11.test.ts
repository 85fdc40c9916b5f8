/**
 * The HTTP/1.1 layer of the handshake (src/internal/http11.ts), rule by rule: finding the end of
 * a head however it is split, parsing request and status lines and header fields (RFC 9112 §2–§5,
 * RFC 9110 §5), the size and count limits, list fields, the framing of a response body (§6.3),
 * reading Content-Length, chunked (§7.1) and close-delimited bodies, and the serialisers.
 */
import { describe, expect, it } from "vitest"
import * as Http from "../../src/internal/http11.js"
import { concatAll, concatBytes, httpHead, latin1, latin1Text, repeatByte, splitAt } from "../helpers.js"

const LIMITS: Http.Limits = { maxHeadSize: 16 * 1024, maxHeaders: 100 }

const REQUEST = httpHead("GET /chat HTTP/1.1", [
  "Host: example.com",
  "Upgrade: websocket",
  "Connection: Upgrade"
])

/** Feeds chunks to `collectHead` until it stops asking for more. */
const collect = (chunks: ReadonlyArray<Uint8Array>, limits: Http.Limits = LIMITS): Http.Collected => {
  let buffer = Http.emptyHeadBuffer
  let last: Http.Collected = { _tag: "More", buffer }
  for (const chunk of chunks) {
    last = Http.collectHead(buffer, chunk, limits)
    if (last._tag !== "More") return last
    buffer = last.buffer
  }
  return last
}

const expectHead = (collected: Http.Collected): { head: string; rest: string } => {
  if (collected._tag !== "Head") throw new Error(`expected a head, got ${JSON.stringify(collected)}`)
  return { head: latin1Text(collected.head), rest: latin1Text(collected.rest) }
}

const parseRequest = (text: string, limits: Http.Limits = LIMITS) => Http.parseRequest(latin1(text), limits)
const parseResponse = (text: string, limits: Http.Limits = LIMITS) => Http.parseResponse(latin1(text), limits)

const expectFailure = (result: unknown, reason: Http.Failure["reason"]): void => {
  expect(result).toMatchObject({ _tag: "Failure", reason })
}

/** A response head as `parseResponse` gives it, for `bodyFraming`. */
const response = (statusCode: number, headers: Array<readonly [string, string]> = []): Http.ResponseHead => ({
  _tag: "Response",
  statusCode,
  reason: "",
  versionMinor: 1,
  headers
})

/** Reads chunks of a body from `state`, collecting the data as text. */
const readAll = (state: Http.BodyState, chunks: ReadonlyArray<Uint8Array>) => {
  let current = state
  const pieces: Array<Uint8Array> = []
  for (const chunk of chunks) {
    const step = Http.readBody(current, chunk)
    if (step._tag === "Failure") return { failure: step, data: latin1Text(concatAll(pieces)), state: current }
    pieces.push(...step.data.map((piece) => piece.slice()))
    current = step.state
  }
  return { failure: undefined, data: latin1Text(concatAll(pieces)), state: current }
}

const CHUNKED: Http.BodyState = { _tag: "Chunked", phase: "size", remaining: 0, line: "" }

describe("collecting a head (RFC 9112 §2.1: the head ends with an empty line)", () => {
  it("asks for more bytes until CR LF CR LF has arrived, counting what it holds", () => {
    const first = Http.collectHead(Http.emptyHeadBuffer, latin1("GET / HTTP/1.1\r\nHost: a\r\n"), LIMITS)
    expect(first._tag).toBe("More")
    if (first._tag !== "More") return
    expect(first.buffer.size).toBe(25)
    expect(expectHead(Http.collectHead(first.buffer, latin1("\r\n"), LIMITS))).toEqual({
      head: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      rest: ""
    })
  })

  it("gives the whole head, terminator included, and the bytes after it as rest", () => {
    const collected = collect([concatBytes(REQUEST, latin1("\x81\x85abcd"))])
    expect(expectHead(collected)).toEqual({ head: latin1Text(REQUEST), rest: "\x81\x85abcd" })
  })

  it("finds the end of the head for every cut of the bytes into two chunks", () => {
    const bytes = concatBytes(REQUEST, latin1("tail"))
    for (let cut = 1; cut < bytes.length; cut++) {
      const chunks = splitAt(bytes, [cut])
      const { head, rest } = expectHead(collect(chunks))
      expect(head).toBe(latin1Text(REQUEST))
      // The rest is what follows the terminator in the chunk that completes the head.
      expect(rest).toBe(cut < REQUEST.length ? "tail" : latin1Text(bytes.subarray(REQUEST.length, cut)))
    }
  })

  it("finds the end of the head for every way of cutting the terminator into three chunks", () => {
    const end = REQUEST.length
    for (let a = end - 5; a < end; a++) {
      for (let b = a + 1; b <= end; b++) {
        expect(expectHead(collect(splitAt(REQUEST, [a, b]))).head).toBe(latin1Text(REQUEST))
      }
    }
  })

  it("finds the end of the head when it arrives one byte at a time", () => {
    const bytes = Array.from(REQUEST, (byte) => Uint8Array.of(byte))
    expect(expectHead(collect(bytes)).head).toBe(latin1Text(REQUEST))
  })

  it("the bytes held are not views of the chunks given: a caller may reuse its read buffer", () => {
    const buffer = REQUEST.slice(0, 30)
    const first = Http.collectHead(Http.emptyHeadBuffer, buffer, LIMITS)
    expect(first._tag).toBe("More")
    if (first._tag !== "More") return
    buffer.fill(0x21)
    expect(expectHead(Http.collectHead(first.buffer, REQUEST.subarray(30), LIMITS)).head).toBe(latin1Text(REQUEST))
  })

  it("a CR before CR LF CR LF restarts the match (… CR CR LF CR LF)", () => {
    const text = "GET / HTTP/1.1\r\nX: a\r\r\n\r\nrest"
    expect(expectHead(collect([latin1(text)]))).toEqual({ head: "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", rest: "rest" })
  })

  it("CR LF CR CR LF CR LF ends at the second CR LF CR LF", () => {
    const text = "GET / HTTP/1.1\r\n\r\r\n\r\nrest"
    expect(expectHead(collect([latin1(text)]))).toEqual({ head: "GET / HTTP/1.1\r\n\r\r\n\r\n", rest: "rest" })
  })

  it("LF LF and CR LF LF do not end a head (a bare-LF head only ends at the size limit)", () => {
    const collected = collect([latin1("GET / HTTP/1.1\nHost: a\n\nX\r\n\nY")])
    expect(collected._tag).toBe("More")
  })

  it("a head of exactly maxHeadSize bytes is accepted", () => {
    const limits = { maxHeadSize: REQUEST.length, maxHeaders: 100 }
    expect(expectHead(collect([REQUEST], limits)).head).toBe(latin1Text(REQUEST))
    expect(expectHead(collect(splitAt(REQUEST, [10, 40]), limits)).head).toBe(latin1Text(REQUEST))
  })

  it("a head one byte over maxHeadSize is HeadTooLarge (431)", () => {
    expectFailure(collect([REQUEST], { maxHeadSize: REQUEST.length - 1, maxHeaders: 100 }), "HeadTooLarge")
  })

  it("bytes after the terminator do not count toward the head's size", () => {
    const limits = { maxHeadSize: REQUEST.length, maxHeaders: 100 }
    const collected = collect([concatBytes(REQUEST, repeatByte(0x41, 1000))], limits)
    expect(expectHead(collected).rest).toHaveLength(1000)
  })

  it("a head without an end fails as soon as the bytes held pass the limit, before any terminator", () => {
    const limits = { maxHeadSize: 100, maxHeaders: 100 }
    const first = Http.collectHead(Http.emptyHeadBuffer, repeatByte(0x41, 100), limits)
    expect(first._tag).toBe("More")
    if (first._tag !== "More") return
    expectFailure(Http.collectHead(first.buffer, Uint8Array.of(0x41), limits), "HeadTooLarge")
  })
})

describe("parsing a request head (RFC 9112 §3, §5)", () => {
  it("reads the method, target, version and the header fields in order, names as sent", () => {
    expect(Http.parseRequest(REQUEST, LIMITS)).toEqual({
      _tag: "Request",
      method: "GET",
      target: "/chat",
      versionMinor: 1,
      headers: [["Host", "example.com"], ["Upgrade", "websocket"], ["Connection", "Upgrade"]]
    })
  })

  it("strips optional whitespace (SP and HTAB) around a value and keeps the whitespace inside", () => {
    const parsed = parseRequest("GET / HTTP/1.1\r\nA:b\r\nB: \t x \t y \t \r\n\r\n")
    expect(parsed).toMatchObject({ headers: [["A", "b"], ["B", "x \t y"]] })
  })

  it("keeps repeated header fields, in order", () => {
    const parsed = parseRequest("GET / HTTP/1.1\r\nX: 1\r\nY: 2\r\nx: 3\r\n\r\n")
    expect(parsed).toMatchObject({ headers: [["X", "1"], ["Y", "2"], ["x", "3"]] })
  })

  it("keeps an empty value", () => {
    expect(parseRequest("GET / HTTP/1.1\r\nX:\r\nY:   \r\n\r\n")).toMatchObject({ headers: [["X", ""], ["Y", ""]] })
  })

  it("reads obs-text bytes (0x80–0xff) in a value as Latin-1", () => {
    expect(parseRequest("GET / HTTP/1.1\r\nX: caf\xe9\r\n\r\n")).toMatchObject({ headers: [["X", "caf\xe9"]] })
  })

  it("reads the minor version (HTTP/1.0 is 0)", () => {
    expect(parseRequest("GET / HTTP/1.0\r\n\r\n")).toMatchObject({ versionMinor: 0 })
  })

  it("reads an absolute-form target and any method token (the handshake checks GET)", () => {
    expect(parseRequest("get wss://api.website.xyz/ws HTTP/1.1\r\n\r\n")).toMatchObject({
      method: "get",
      target: "wss://api.website.xyz/ws"
    })
  })

  it("a request without header fields parses with none", () => {
    expect(parseRequest("GET / HTTP/1.1\r\n\r\n")).toMatchObject({ headers: [] })
  })

  it.each([
    ["a line that is not a request line", "broken nonsense"],
    ["no version", "GET /"],
    ["a space after the version", "GET / HTTP/1.1 "],
    ["two spaces between method and target", "GET  / HTTP/1.1"],
    ["a lowercase protocol name", "GET / http/1.1"],
    ["a two-digit minor version", "GET / HTTP/1.10"],
    ["HTTP/2.0", "GET / HTTP/2.0"],
    ["the HTTP/2 preface", "PRI * HTTP/2.0"],
    ["a method that is not a token", "G(T / HTTP/1.1"],
    ["a non-ASCII byte in the target", "GET /caf\xe9 HTTP/1.1"],
    ["a control character in the target", "GET /a\x01b HTTP/1.1"],
    ["an empty request line", ""]
  ])("a request line with %s is malformed (400)", (_, line) => {
    expectFailure(parseRequest(`${line}\r\nHost: a\r\n\r\n`), "MalformedHttp")
  })

  it.each([
    ["obs-fold with a space", "X: a\r\n b"],
    ["obs-fold with a tab", "X: a\r\n\tb"],
    ["a bare LF between fields", "X: a\nY: b"],
    ["a bare LF inside a value", "X: a\nb"],
    ["a bare CR inside a value", "X: a\rb"],
    ["whitespace between name and colon", "Host : a"],
    ["a tab between name and colon", "Host\t: a"],
    ["no colon", "Host a"],
    ["an empty name", ": a"],
    ["a name that is not a token", "Ho(st: a"],
    ["a NUL in the value", "X: a\x00b"],
    ["a control character in the value", "X: a\x01b"],
    ["DEL in the value", "X: a\x7fb"],
    ["a field line that is only whitespace", " "]
  ])("a header field with %s is malformed (400)", (_, line) => {
    expectFailure(parseRequest(`GET / HTTP/1.1\r\nHost: a\r\n${line}\r\n\r\n`), "MalformedHttp")
  })

  it("a tab inside a value is allowed", () => {
    expect(parseRequest("GET / HTTP/1.1\r\nX: a\tb\r\n\r\n")).toMatchObject({ headers: [["X", "a\tb"]] })
  })

  it("exactly maxHeaders header fields parse; one more is HeadTooLarge (431)", () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: ${i}`)
    const limits = { maxHeadSize: 1 << 20, maxHeaders: 20 }
    const ok = Http.parseRequest(httpHead("GET / HTTP/1.1", lines(20)), limits)
    expect(ok).toMatchObject({ method: "GET" })
    expect((ok as Http.RequestHead).headers).toHaveLength(20)
    expectFailure(Http.parseRequest(httpHead("GET / HTTP/1.1", lines(21)), limits), "HeadTooLarge")
  })
})

describe("parsing a response head (RFC 9112 §4)", () => {
  it("reads the status, the reason phrase, the version and the header fields", () => {
    expect(parseResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")).toEqual({
      _tag: "Response",
      statusCode: 101,
      reason: "Switching Protocols",
      versionMinor: 1,
      headers: [["Upgrade", "websocket"]]
    })
  })

  it("the reason phrase may be missing or empty", () => {
    expect(parseResponse("HTTP/1.1 200\r\n\r\n")).toMatchObject({ statusCode: 200, reason: "" })
    expect(parseResponse("HTTP/1.1 400 \r\n\r\n")).toMatchObject({ statusCode: 400, reason: "" })
  })

  it("the reason phrase may hold spaces, tabs and obs-text", () => {
    expect(parseResponse("HTTP/1.1 404 Not \tFound \xe9\r\n\r\n")).toMatchObject({ reason: "Not \tFound \xe9" })
  })

  it("reads an HTTP/1.0 response (minor version 0)", () => {
    expect(parseResponse("HTTP/1.0 200 OK\r\n\r\n")).toMatchObject({ versionMinor: 0 })
  })

  it.each([
    ["a two-digit status", "HTTP/1.1 20 OK"],
    ["a four-digit status", "HTTP/1.1 2000 OK"],
    ["a status that is not a number", "HTTP/1.1 abc OK"],
    ["HTTP/2", "HTTP/2 200 OK"],
    ["HTTP/2.0", "HTTP/2.0 200 OK"],
    ["a lowercase protocol name", "http/1.1 200 OK"],
    ["two spaces before the status", "HTTP/1.1  200 OK"],
    ["a control character in the reason", "HTTP/1.1 200 O\x01K"],
    ["a line that is not a status line", "broken nonsense"]
  ])("a status line with %s is malformed", (_, line) => {
    expectFailure(parseResponse(`${line}\r\n\r\n`), "MalformedHttp")
  })

  it("header fields follow the same rules as in a request (obs-fold is malformed)", () => {
    expectFailure(parseResponse("HTTP/1.1 101 Switching Protocols\r\nX: a\r\n b\r\n\r\n"), "MalformedHttp")
  })

  it("more than maxHeaders header fields are HeadTooLarge", () => {
    expectFailure(
      parseResponse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", { maxHeadSize: 1024, maxHeaders: 2 }),
      "HeadTooLarge"
    )
  })
})

describe("reading header fields (RFC 9110 §5.3, §5.6.1)", () => {
  const headers: Array<readonly [string, string]> = [
    ["Connection", "keep-alive"],
    ["X", "1"],
    ["CONNECTION", " Upgrade ,, close "],
    ["connection", ""]
  ]

  it("values gives every value of a field, names compared case-insensitively, in order", () => {
    expect(Http.values(headers, "connection")).toEqual(["keep-alive", " Upgrade ,, close ", ""])
    expect(Http.values(headers, "missing")).toEqual([])
  })

  it("listValues joins the elements of every line, trimmed, empty elements dropped", () => {
    expect(Http.listValues(headers, "Connection")).toEqual(["keep-alive", "Upgrade", "close"])
  })

  it("splitList does not split at commas inside quoted strings", () => {
    expect(Http.splitList("a, b; p=\"x,y\" , c")).toEqual(["a", "b; p=\"x,y\"", "c"])
  })

  it("splitList skips escaped quotes inside a quoted string", () => {
    expect(Http.splitList("a; p=\"x\\\",y\", b")).toEqual(["a; p=\"x\\\",y\"", "b"])
  })

  it("splitList keeps empty elements (listValues drops them)", () => {
    expect(Http.splitList(", a,")).toEqual(["", "a", ""])
  })

  it("hasToken matches whole elements case-insensitively", () => {
    expect(Http.hasToken(headers, "connection", "upgrade")).toBe(true)
    expect(Http.hasToken([["Connection", "no-upgrade, upgrade2"]], "connection", "upgrade")).toBe(false)
    expect(Http.hasToken([], "connection", "upgrade")).toBe(false)
  })
})

describe("the framing of a response body (RFC 9112 §6.3)", () => {
  it("1xx, 204 and 304 responses have no body", () => {
    for (const status of [100, 102, 204, 304]) {
      expect(Http.bodyFraming(response(status, [["Content-Length", "5"]]))).toEqual({ _tag: "Done" })
    }
  })

  it("a final Transfer-Encoding of chunked means a chunked body, case-insensitively", () => {
    for (const te of ["chunked", "CHUNKED", "gzip, chunked"]) {
      expect(Http.bodyFraming(response(200, [["Transfer-Encoding", te]]))).toEqual(CHUNKED)
    }
  })

  it("Transfer-Encoding codings on several lines are read as one list", () => {
    const framing = Http.bodyFraming(response(200, [["Transfer-Encoding", "gzip"], ["Transfer-Encoding", "chunked"]]))
    expect(framing).toEqual(CHUNKED)
  })

  it("a Transfer-Encoding whose last coding is not chunked is read until the close", () => {
    expect(Http.bodyFraming(response(200, [["Transfer-Encoding", "chunked, gzip"]]))).toEqual({ _tag: "UntilClose" })
  })

  it("Transfer-Encoding overrides Content-Length", () => {
    const framing = Http.bodyFraming(response(200, [["Content-Length", "5"], ["Transfer-Encoding", "chunked"]]))
    expect(framing).toEqual(CHUNKED)
  })

  it("Content-Length gives the body's length; 0 is no body", () => {
    expect(Http.bodyFraming(response(403, [["Content-Length", "5"]]))).toEqual({ _tag: "Length", remaining: 5 })
    expect(Http.bodyFraming(response(403, [["Content-Length", "0"]]))).toEqual({ _tag: "Done" })
  })

  it("the same Content-Length repeated (in a list or on two lines) is one length", () => {
    expect(Http.bodyFraming(response(200, [["Content-Length", "5, 5"]]))).toEqual({ _tag: "Length", remaining: 5 })
    expect(Http.bodyFraming(response(200, [["Content-Length", "5"], ["content-length", "5"]]))).toEqual({
      _tag: "Length",
      remaining: 5
    })
  })

  it("conflicting Content-Length values are malformed", () => {
    expectFailure(Http.bodyFraming(response(200, [["Content-Length", "5, 6"]])), "MalformedHttp")
    expectFailure(Http.bodyFraming(response(200, [["Content-Length", "5"], ["Content-Length", "6"]])), "MalformedHttp")
  })

  it.each(["-1", "abc", "1e3", "0x10", "+5", "1234567890123456"])("Content-Length %s is malformed", (value) => {
    expectFailure(Http.bodyFraming(response(200, [["Content-Length", value]])), "MalformedHttp")
  })

  it("without Content-Length or Transfer-Encoding the body lasts until the close", () => {
    expect(Http.bodyFraming(response(400))).toEqual({ _tag: "UntilClose" })
  })
})

describe("reading a body", () => {
  it("a Content-Length body is read across chunks; bytes after it are not body", () => {
    const read = readAll({ _tag: "Length", remaining: 5 }, [latin1("he"), latin1("llo, more")])
    expect(read).toEqual({ failure: undefined, data: "hello", state: { _tag: "Done" } })
  })

  it("a Content-Length body not yet complete keeps counting down", () => {
    expect(readAll({ _tag: "Length", remaining: 5 }, [latin1("hel")]).state).toEqual({ _tag: "Length", remaining: 2 })
  })

  it("a close-delimited body passes every byte through", () => {
    expect(readAll({ _tag: "UntilClose" }, [latin1("a"), latin1("bc")])).toEqual({
      failure: undefined,
      data: "abc",
      state: { _tag: "UntilClose" }
    })
  })

  it("a finished body ignores further bytes", () => {
    expect(Http.readBody({ _tag: "Done" }, latin1("x"))).toEqual({ _tag: "Body", state: { _tag: "Done" }, data: [] })
  })

  it("only a close-delimited (or finished) body may end at the close", () => {
    expect(Http.endsAtClose({ _tag: "UntilClose" })).toBe(true)
    expect(Http.endsAtClose({ _tag: "Done" })).toBe(true)
    expect(Http.endsAtClose({ _tag: "Length", remaining: 1 })).toBe(false)
    expect(Http.endsAtClose(CHUNKED)).toBe(false)
  })

  it("a chunked body is the concatenation of its chunks and ends with the last chunk", () => {
    expect(readAll(CHUNKED, [latin1("5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n")])).toEqual({
      failure: undefined,
      data: "hello!",
      state: { _tag: "Done" }
    })
  })

  it("chunk sizes are hexadecimal, either case", () => {
    const ten = "0123456789"
    const sixteen = "abcdefghijklmnop"
    expect(readAll(CHUNKED, [latin1(`A\r\n${ten}\r\n10\r\n${sixteen}\r\n0\r\n\r\n`)]).data).toBe(ten + sixteen)
    expect(readAll(CHUNKED, [latin1(`a\r\n${ten}\r\n0\r\n\r\n`)]).data).toBe(ten)
  })

  it("chunk extensions (with whitespace before them) are ignored", () => {
    const body = "5;name=value\r\nhello\r\n3 ;a;b=\"c d\"\r\nabc\r\n0;last\r\n\r\n"
    expect(readAll(CHUNKED, [latin1(body)])).toEqual({ failure: undefined, data: "helloabc", state: { _tag: "Done" } })
  })

  it("trailer fields after the last chunk are skipped up to the empty line", () => {
    const body = "5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nafter"
    expect(readAll(CHUNKED, [latin1(body)])).toEqual({ failure: undefined, data: "hello", state: { _tag: "Done" } })
  })

  it("a chunked body split at every byte gives the same data and ends", () => {
    const body = latin1("5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nT: x\r\n\r\n")
    for (let cut = 1; cut < body.length; cut++) {
      expect(readAll(CHUNKED, splitAt(body, [cut]))).toEqual({
        failure: undefined,
        data: "hello0123456789abcdef",
        state: { _tag: "Done" }
      })
    }
    expect(readAll(CHUNKED, Array.from(body, (byte) => Uint8Array.of(byte))).state).toEqual({ _tag: "Done" })
  })

  it("an incomplete chunked body is not done", () => {
    expect(readAll(CHUNKED, [latin1("5\r\nhel")]).state).toMatchObject({ _tag: "Chunked", phase: "data", remaining: 2 })
  })

  it.each([
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n"],
    ["a bare LF after the data", "5\r\nhello\n0\r\n\r\n"],
    ["data longer than the size", "3\r\nhello\r\n0\r\n\r\n"],
    ["a size that is not hexadecimal", "g\r\nhello\r\n"],
    ["an empty size line", "\r\nhello\r\n"],
    ["a negative size", "-5\r\nhello\r\n"],
    ["a size of 13 hex digits", "1000000000000\r\n"],
    ["a CR inside the size line", "5\rx\r\nhello\r\n"],
    ["a bare LF in the trailers", "0\r\nX: 1\n\r\n"]
  ])("a chunked body with %s is malformed", (_, body) => {
    const read = readAll(CHUNKED, [latin1(body)])
    expect(read.failure).toMatchObject({ _tag: "Failure", reason: "MalformedHttp" })
  })

  it("a chunk-size line longer than 4096 bytes is malformed", () => {
    const read = readAll(CHUNKED, [latin1(`5;${"x".repeat(5000)}`)])
    expect(read.failure).toMatchObject({ _tag: "Failure", reason: "MalformedHttp" })
  })
})

describe("serialising", () => {
  it("checkHeaders accepts token names and values of visible characters, SP, HTAB and Latin-1", () => {
    expect(Http.checkHeaders([["X-Foo", "a b\tc"], ["Y", ""], ["Z", "caf\xe9"], ["!#$%&'*+-.^_`|~", "v"]]))
      .toBeUndefined()
  })

  it.each([
    ["a name with a space", "X Foo", "a"],
    ["a name with a colon", "X:", "a"],
    ["an empty name", "", "a"],
    ["a name with CR LF", "X\r\nY", "a"],
    ["a value with CR", "X", "a\rb"],
    ["a value with LF", "X", "a\nb"],
    ["a value with CR LF (header injection)", "X", "a\r\nInjected: yes"],
    ["a value with NUL", "X", "a\x00b"],
    ["a value with a control character", "X", "a\x1fb"],
    ["a value with DEL", "X", "a\x7fb"],
    ["a value with a character beyond Latin-1", "X", "a€b"]
  ])("checkHeaders refuses %s", (_, name, value) => {
    expect(Http.checkHeaders([["Ok", "ok"], [name, value]])).toEqual(expect.any(String))
  })

  it("serializeRequest writes the request line, the fields as given and the blank line", () => {
    const bytes = Http.serializeRequest("GET", "/x", [["Host", "a"], ["X-Y", "z"]])
    expect(latin1Text(bytes)).toBe("GET /x HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\n")
  })

  it("serializeResponse writes the status line with its reason phrase", () => {
    expect(latin1Text(Http.serializeResponse(101, "Switching Protocols", [["Upgrade", "websocket"]]))).toBe(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    )
    expect(latin1Text(Http.serializeResponse(418, "", []))).toBe("HTTP/1.1 418 \r\n\r\n")
  })

  it("serializeResponse writes Latin-1 values byte for byte", () => {
    expect(Array.from(Http.serializeResponse(200, "OK", [["X", "\xe9"]]))).toContain(0xe9)
  })

  it("serializeChunk writes the size in lowercase hex, the data and CR LF; the empty chunk ends the body", () => {
    expect(latin1Text(Http.serializeChunk(latin1("x")))).toBe("1\r\nx\r\n")
    expect(latin1Text(Http.serializeChunk(repeatByte(0x61, 300)))).toBe(`12c\r\n${"a".repeat(300)}\r\n`)
    expect(latin1Text(Http.serializeChunk(new Uint8Array(0)))).toBe("0\r\n\r\n")
  })

  it("isToken follows RFC 9110 §5.6.2", () => {
    expect(Http.isToken("permessage-deflate")).toBe(true)
    expect(Http.isToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true)
    for (const text of ["", "a b", "a,b", "a;b", "a\"b", "a=b", "a/b", "a@b", "é"]) {
      expect(Http.isToken(text)).toBe(false)
    }
  })

  it("isValidTarget accepts visible ASCII only", () => {
    expect(Http.isValidTarget("/chat?x=1&y=%20")).toBe(true)
    expect(Http.isValidTarget("wss://api.website.xyz/ws")).toBe(true)
    for (const target of ["", "/a b", "/é", "/a\r\n", "/\x7f"]) expect(Http.isValidTarget(target)).toBe(false)
  })
})
