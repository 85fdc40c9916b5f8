/**
 * The trusted event constructors of src/internal/events.ts against the Schema constructors: each
 * makes an instance that is `Equal.equals` to the Schema-constructed one (both ways, same hash),
 * passes `Schema.is(Events.Event)`, is an `instanceof` its class with the same prototype, has the
 * same own properties in the same order, prints the same, and encodes identically with
 * `Schema.encodeSync(Events.Event)`.
 */
import * as Equal from "effect/Equal"
import * as Hash from "effect/Hash"
import * as Schema from "effect/Schema"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Events from "../../src/Events.js"
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
      const constructed = new Events.TextMessage({ data, frameFinished, messageFinished })
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
            expectSame(trusted, new Events.TextMessage({ data, frameFinished, messageFinished }), Events.TextMessage)
          }
        ),
        { numRuns: 200 }
      )
    })

    it("differs from a Schema instance with other fields", () => {
      expect(Equal.equals(fast.textMessage("a", true, true), new Events.TextMessage({ data: "b" }))).toBe(false)
      expect(Equal.equals(fast.textMessage("a", true, false), new Events.TextMessage({ data: "a" }))).toBe(false)
      expect(Equal.equals(fast.textMessage("a", false, true), new Events.TextMessage({ data: "a" }))).toBe(false)
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
      const constructed = new Events.BytesMessage({ data, frameFinished, messageFinished })
      expectSame(trusted, constructed, Events.BytesMessage)
      expect(trusted.data).toBe(data)
      expect(Schema.is(Events.Message)(trusted)).toBe(true)
      expect(Schema.is(Events.TextMessage)(trusted)).toBe(false)
    })

    it("a Buffer as data (what the decoder may give) is still a valid event", () => {
      const data = Buffer.from([1, 2, 3])
      expectSame(fast.bytesMessage(data, true, true), new Events.BytesMessage({ data }), Events.BytesMessage)
    })

    it("equals the Schema instance for any data and flags", () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 64 }),
          fc.boolean(),
          fc.boolean(),
          (data, frameFinished, messageFinished) => {
            const trusted = fast.bytesMessage(data, frameFinished, messageFinished)
            expectSame(trusted, new Events.BytesMessage({ data, frameFinished, messageFinished }), Events.BytesMessage)
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
      expectSame(trusted, new Events.Ping({ payload }), Events.Ping)
      const response = trusted.response()
      expect(response).toBeInstanceOf(Events.Pong)
      expect(response.payload).toBe(payload)
      expectSame(fast.pong(payload), response, Events.Pong)
    })

    it.each(["", "7a", "01 02 03 04"])("pong(%j)", (payloadHex) => {
      const payload = hex(payloadHex)
      expectSame(fast.pong(payload), new Events.Pong({ payload }), Events.Pong)
      expect(Schema.is(Events.Ping)(fast.pong(payload))).toBe(false)
    })

    it("ping and pong with an empty payload", () => {
      const empty = new Uint8Array(0)
      expectSame(fast.ping(empty), new Events.Ping({ payload: empty }), Events.Ping)
      expectSame(fast.pong(empty), new Events.Pong({ payload: empty }), Events.Pong)
      expect(encode(fast.ping(empty))).toEqual(encode(new Events.Ping({})))
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
      expectSame(trusted, new Events.CloseConnection({ code, reason }), Events.CloseConnection)
      const response = trusted.response()
      expect(response).toBeInstanceOf(Events.CloseConnection)
      expectSame(fast.closeConnection(code, reason), response, Events.CloseConnection)
    })

    it("with an empty reason it equals the Schema instance built with the default reason", () => {
      expect(Equal.equals(fast.closeConnection(1000, ""), new Events.CloseConnection({ code: 1000 }))).toBe(true)
      expect(encode(fast.closeConnection(1000, ""))).toEqual(encode(new Events.CloseConnection({ code: 1000 })))
    })

    it("equals the Schema instance for any code and reason", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 65535 }),
          fc.string({ unit: "binary", maxLength: 40 }),
          (code, reason) => {
            expectSame(
              fast.closeConnection(code, reason),
              new Events.CloseConnection({ code, reason }),
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
