/**
 * The event constructors against the Schema constructors of their classes
 * (src/internal/eventClasses.ts): the constructors users call (`new Events.TextMessage(...)`) and
 * the positional ones the library uses on the hot path each make an instance that is
 * `Equal.equals` to the Schema-constructed one (both ways, same hash), passes
 * `Schema.is(Events.Event)`, is an `instanceof` its class with the same prototype, has the same own
 * properties in the same order, prints the same, and encodes identically with
 * `Schema.encodeSync(Events.Event)`.
 */
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Schema from "effect/Schema"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Events from "../../src/Events.js"
import * as Classes from "../../src/internal/eventClasses.js"
import * as fast from "../../src/internal/events.js"
import { hex } from "../helpers.js"

const encode = Schema.encodeSync(Events.Event)
const decode = Schema.decodeUnknownSync(Events.Event)
const isEvent = Schema.is(Events.Event)

/** The own string-keyed property descriptors (hashing adds a symbol-keyed cache to an instance). */
const descriptors = (event: Events.Event) =>
  Object.keys(event).map((key) => [key, Object.getOwnPropertyDescriptor(event, key)] as const)

/** Asserts that the trusted instance and the Schema instance are indistinguishable. */
const expectSame = (
  trusted: Events.Event,
  constructed: Events.Event,
  cls: abstract new(...args: Array<any>) => unknown
) => {
  expect(trusted).toBeInstanceOf(cls)
  expect(Object.getPrototypeOf(trusted)).toBe(Object.getPrototypeOf(constructed))
  expect(Object.keys(trusted)).toEqual(Object.keys(constructed))
  expect(descriptors(trusted)).toEqual(descriptors(constructed))
  expect(isEvent(trusted)).toBe(true)
  expect(() => Schema.validateSync(Events.Event)(trusted)).not.toThrow()
  expect(encode(trusted)).toEqual(encode(constructed))
  expect(JSON.stringify(encode(trusted))).toBe(JSON.stringify(encode(constructed)))
  expect(String(trusted)).toBe(String(constructed))
  expect(JSON.stringify(trusted)).toBe(JSON.stringify(constructed))
  expect(Equal.equals(trusted, constructed)).toBe(true)
  expect(Equal.equals(constructed, trusted)).toBe(true)
  expect(Hash.hash(trusted)).toBe(Hash.hash(constructed))
  // What it encodes to, as JSON, decodes to an event of the same class that encodes the same.
  const decoded = decode(JSON.parse(JSON.stringify(encode(trusted))))
  expect(decoded).toBeInstanceOf(cls)
  expect(encode(decoded)).toEqual(encode(trusted))
}

describe("trusted event constructors = Schema constructors", () => {
  describe("textMessage", () => {
    it.each(
      [
        ["hi", true, true],
        ["", true, true],
        ["ƒñö®∂😎", false, false],
        ["part", true, false],
        ["odd", false, true]
      ] as const
    )("(%j, %s, %s)", (data, frameFinished, messageFinished) => {
      const trusted = fast.textMessage(data, frameFinished, messageFinished)
      const constructed = new Classes.TextMessage({ data, frameFinished, messageFinished })
      expectSame(trusted, constructed, Events.TextMessage)
      expect(Schema.is(Events.TextMessage)(trusted)).toBe(true)
      expect(Schema.is(Events.Message)(trusted)).toBe(true)
      expect(Schema.is(Events.BytesMessage)(trusted)).toBe(false)
    })

    it("equals the Schema instance for any data and flags", () => {
      fc.assert(
        fc.property(
          fc.string({ unit: "binary" }),
          fc.boolean(),
          fc.boolean(),
          (data, frameFinished, messageFinished) => {
            const trusted = fast.textMessage(data, frameFinished, messageFinished)
            expectSame(trusted, new Classes.TextMessage({ data, frameFinished, messageFinished }), Events.TextMessage)
          }
        ),
        { numRuns: 200 }
      )
    })

    it("differs from a Schema instance with other fields", () => {
      expect(Equal.equals(fast.textMessage("a", true, true), new Classes.TextMessage({ data: "b" }))).toBe(false)
      expect(Equal.equals(fast.textMessage("a", true, false), new Classes.TextMessage({ data: "a" }))).toBe(false)
      expect(Equal.equals(fast.textMessage("a", false, true), new Classes.TextMessage({ data: "a" }))).toBe(false)
    })
  })

  describe("bytesMessage", () => {
    it.each(
      [
        ["00 01", true, true],
        ["", true, true],
        ["ff fe fd", false, false],
        ["78", true, false]
      ] as const
    )("(%s, %s, %s)", (dataHex, frameFinished, messageFinished) => {
      const data = hex(dataHex)
      const trusted = fast.bytesMessage(data, frameFinished, messageFinished)
      const constructed = new Classes.BytesMessage({ data, frameFinished, messageFinished })
      expectSame(trusted, constructed, Events.BytesMessage)
      expect(trusted.data).toBe(data)
      expect(Schema.is(Events.Message)(trusted)).toBe(true)
      expect(Schema.is(Events.TextMessage)(trusted)).toBe(false)
    })

    it("a Buffer as data (what the decoder may give) is still a valid event", () => {
      const data = Buffer.from([1, 2, 3])
      expectSame(fast.bytesMessage(data, true, true), new Classes.BytesMessage({ data }), Events.BytesMessage)
    })

    it("equals the Schema instance for any data and flags", () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 64 }),
          fc.boolean(),
          fc.boolean(),
          (data, frameFinished, messageFinished) => {
            const trusted = fast.bytesMessage(data, frameFinished, messageFinished)
            expectSame(trusted, new Classes.BytesMessage({ data, frameFinished, messageFinished }), Events.BytesMessage)
          }
        ),
        { numRuns: 200 }
      )
    })
  })

  describe("ping and pong", () => {
    it.each(["", "70", "00 ff 10"])("ping(%j), and its response is the matching Pong", (payloadHex) => {
      const payload = hex(payloadHex)
      const trusted = fast.ping(payload)
      expectSame(trusted, new Classes.Ping({ payload }), Events.Ping)
      const response = trusted.response()
      expect(response).toBeInstanceOf(Events.Pong)
      expect(response.payload).toBe(payload)
      expectSame(fast.pong(payload), response, Events.Pong)
    })

    it.each(["", "7a", "01 02 03 04"])("pong(%j)", (payloadHex) => {
      const payload = hex(payloadHex)
      expectSame(fast.pong(payload), new Classes.Pong({ payload }), Events.Pong)
      expect(Schema.is(Events.Ping)(fast.pong(payload))).toBe(false)
    })

    it("ping and pong with an empty payload", () => {
      const empty = new Uint8Array(0)
      expectSame(fast.ping(empty), new Classes.Ping({ payload: empty }), Events.Ping)
      expectSame(fast.pong(empty), new Classes.Pong({ payload: empty }), Events.Pong)
      expect(encode(fast.ping(empty))).toEqual(encode(new Classes.Ping({})))
    })
  })

  describe("closeConnection", () => {
    it.each(
      [
        [1000, ""],
        [1000, "bye"],
        [1001, "👋👋"],
        [1005, ""],
        [1006, ""],
        [1002, "Invalid opcode 0x3"],
        [4999, "r"]
      ] as const
    )("(%i, %j), and its response closes with the same code and reason", (code, reason) => {
      const trusted = fast.closeConnection(code, reason)
      expectSame(trusted, new Classes.CloseConnection({ code, reason }), Events.CloseConnection)
      const response = trusted.response()
      expect(response).toBeInstanceOf(Events.CloseConnection)
      expectSame(fast.closeConnection(code, reason), response, Events.CloseConnection)
    })

    it("with an empty reason it equals the Schema instance built with the default reason", () => {
      expect(Equal.equals(fast.closeConnection(1000, ""), new Classes.CloseConnection({ code: 1000 }))).toBe(true)
      expect(encode(fast.closeConnection(1000, ""))).toEqual(encode(new Classes.CloseConnection({ code: 1000 })))
    })

    it("equals the Schema instance for any code and reason", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 65535 }),
          fc.string({ unit: "binary", maxLength: 40 }),
          (code, reason) => {
            expectSame(
              fast.closeConnection(code, reason),
              new Classes.CloseConnection({ code, reason }),
              Events.CloseConnection
            )
          }
        ),
        { numRuns: 200 }
      )
    })
  })

  it("each trusted instance is its own object: no state is shared between calls", () => {
    const a = fast.textMessage("a", true, true)
    const b = fast.textMessage("a", true, true)
    expect(a).not.toBe(b)
    ;(a as { data: string }).data = "changed"
    expect(b.data).toBe("a")
  })
})

describe("the constructors users call = the Schema constructors, at the cost of a plain object", () => {
  const ext = { name: "x", init: () => undefined }
  const data = hex("6e6f")
  const headers: Events.Headers = [["a", "b"]]
  // Each event built by both constructors from the same fields: with every field given (so the
  // instances are `Equal`, unless a field is an array, which the Schema constructor copies), and with
  // the defaults (fresh arrays and bytes): where not `Equal`, equal in every other way.
  const cases: ReadonlyArray<
    readonly [string, (cls: any) => Events.Event, abstract new(...args: Array<any>) => unknown, any, boolean]
  > = [
    ["Request", (c) => new c({ host: "h", target: "/" }), Events.Request, Classes.Request, false],
    [
      "Request, every field",
      (c) => new c({ host: "h", target: "/t", extensions: [], extraHeaders: headers, subprotocols: [] }),
      Events.Request,
      Classes.Request,
      false
    ],
    ["AcceptConnection", (c) => new c(), Events.AcceptConnection, Classes.AcceptConnection, false],
    [
      "AcceptConnection, a subprotocol",
      (c) => new c({ subprotocol: "p", extensions: [ext] }),
      Events.AcceptConnection,
      Classes.AcceptConnection,
      false
    ],
    ["RejectConnection", (c) => new c(), Events.RejectConnection, Classes.RejectConnection, false],
    [
      "RejectConnection, every field",
      (c) => new c({ statusCode: 403, headers, hasBody: true }),
      Events.RejectConnection,
      Classes.RejectConnection,
      false
    ],
    ["RejectData", (c) => new c({ data }), Events.RejectData, Classes.RejectData, true],
    [
      "RejectData, not finished",
      (c) => new c({ data, bodyFinished: false }),
      Events.RejectData,
      Classes.RejectData,
      true
    ],
    ["CloseConnection", (c) => new c({ code: 1000 }), Events.CloseConnection, Classes.CloseConnection, true],
    [
      "CloseConnection, a reason",
      (c) => new c({ code: 4000, reason: "é" }),
      Events.CloseConnection,
      Classes.CloseConnection,
      true
    ],
    ["TextMessage", (c) => new c({ data: "hi" }), Events.TextMessage, Classes.TextMessage, true],
    [
      "TextMessage, a piece",
      (c) => new c({ data: "hi", frameFinished: false, messageFinished: false }),
      Events.TextMessage,
      Classes.TextMessage,
      true
    ],
    ["BytesMessage", (c) => new c({ data }), Events.BytesMessage, Classes.BytesMessage, true],
    ["Ping", (c) => new c(), Events.Ping, Classes.Ping, false],
    ["Ping, a payload", (c) => new c({ payload: data }), Events.Ping, Classes.Ping, true],
    ["Pong", (c) => new c(), Events.Pong, Classes.Pong, false],
    ["Pong, a payload", (c) => new c({ payload: data }), Events.Pong, Classes.Pong, true]
  ]

  it.each(cases)("%s", (_, build, cls, schemaClass, equal) => {
    const event = build(cls)
    const reference = build(schemaClass)
    expect(event.constructor).toBe(cls)
    if (equal) {
      expectSame(event, reference, cls)
    } else {
      expect(Object.getPrototypeOf(event)).toBe(Object.getPrototypeOf(reference))
      expect(Object.keys(event)).toEqual(Object.keys(reference))
      expect(encode(event)).toEqual(encode(reference))
      expect(isEvent(event)).toBe(true)
    }
  })

  it("the defaults are fresh for each instance", () => {
    const a = new Events.Request({ host: "h", target: "/" })
    const b = new Events.Request({ host: "h", target: "/" })
    expect(a.extraHeaders).not.toBe(b.extraHeaders)
    expect(new Events.Ping().payload).not.toBe(new Events.Ping().payload)
  })

  it("outside data is still validated when decoded, and decoding constructs the class", () => {
    const decodeText = Schema.decodeUnknownEither(Events.TextMessage)
    expect(decodeText({ _tag: "TextMessage", data: 5 })._tag).toBe("Left")
    const decoded = Schema.decodeUnknownSync(Events.TextMessage)({ _tag: "TextMessage", data: "hi" })
    expect(decoded).toBeInstanceOf(Events.TextMessage)
    expectSame(decoded, new Classes.TextMessage({ data: "hi" }), Events.TextMessage)
    expect(Schema.decodeUnknownEither(Events.Event)({ _tag: "CloseConnection", code: "1000" })._tag).toBe("Left")
    expect(Events.TextMessage.make({ data: "x" })).toBeInstanceOf(Events.TextMessage)
    expect(Object.keys(Events.TextMessage.fields).sort()).toEqual(["_tag", "data", "frameFinished", "messageFinished"])
    expect(Schema.is(Events.Ping)(new Events.Pong())).toBe(false)
  })

  it("constructing one costs about what a plain object costs (compared in one run, loosely)", () => {
    const n = 20_000
    const time = (make: () => unknown) => {
      let kept: unknown
      const start = process.hrtime.bigint()
      for (let i = 0; i < n; i++) kept = make()
      return [Number(process.hrtime.bigint() - start), kept] as const
    }
    const data = "hello"
    // Warm both, then compare: the Schema constructor validates every field (about 300 times slower).
    time(() => new Events.TextMessage({ data }))
    time(() => new Classes.TextMessage({ data }))
    const [fastTime] = time(() => new Events.TextMessage({ data }))
    const [schemaTime] = time(() => new Classes.TextMessage({ data }))
    expect(fastTime * 10).toBeLessThan(schemaTime)
  })
})
