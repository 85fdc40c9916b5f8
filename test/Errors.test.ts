/**
 * The two protocol errors: what each reason means on the wire (RFC 6455 §7.4.1 close codes, the
 * statuses of RFC 6455 §4.2.1 and §4.4, RFC 9110 §15.5.1, RFC 6585 §5), and which fields an error
 * carries in each phase.
 */
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as Errors from "../src/Errors.js"
import * as Events from "../src/Events.js"
import { handshakeFailure, local, violation, withHint } from "../src/internal/errors.js"

describe("reasons and what they mean on the wire", () => {
  it.each(
    [
      ["ProtocolViolation", 1002],
      ["InvalidPayload", 1007],
      ["MessageTooBig", 1009],
      ["ExtensionFailure", 1002]
    ] as const
  )("a connection failing with %s closes with %i", (reason, code) => {
    expect(Errors.closeCodeFor(reason)).toBe(code)
    expect(Errors.isHandshakeReason(reason)).toBe(false)
  })

  it.each(
    [
      ["MalformedHttp", 400],
      ["HeadTooLarge", 431],
      ["InvalidHandshake", 400],
      ["UnsupportedVersion", 426],
      ["UnexpectedEnd", 400]
    ] as const
  )("a server rejects a handshake failing with %s with %i", (reason, status) => {
    expect(Errors.statusFor(reason)).toBe(status)
    expect(Errors.isHandshakeReason(reason)).toBe(true)
  })
})

describe("the fields of each phase", () => {
  it("a violation on a connection carries its close code and the close to answer with, no status", () => {
    const error = violation("InvalidPayload", "Invalid UTF-8 in text message")
    expect(error).toBeInstanceOf(Errors.RemoteProtocolError)
    expect(error.closeCode).toBe(1007)
    expect(error.statusCode).toBeUndefined()
    expect(error.eventHint).toBeInstanceOf(Events.CloseConnection)
    expect(error.eventHint).toMatchObject({ code: 1007, reason: "Invalid UTF-8 in text message" })
  })

  it("an extension may choose the close code", () => {
    const error = violation("ExtensionFailure", "error in extension", 1010)
    expect(error.closeCode).toBe(1010)
    expect(error.eventHint).toMatchObject({ code: 1010 })
  })

  it("a server's handshake failure carries the status and the rejection to send, no close code", () => {
    const error = handshakeFailure(true, "UnsupportedVersion", "Unsupported version", [["Sec-WebSocket-Version", "13"]])
    expect(error.closeCode).toBeUndefined()
    expect(error.statusCode).toBe(426)
    expect(error.eventHint).toBeInstanceOf(Events.RejectConnection)
    expect(error.eventHint).toMatchObject({
      statusCode: 426,
      headers: [["Sec-WebSocket-Version", "13"]],
      hasBody: false
    })
  })

  it("a client's handshake failure carries neither a status nor a hint: a client has no one to answer", () => {
    const error = handshakeFailure(false, "InvalidHandshake", "Bad accept token")
    expect(error.closeCode).toBeUndefined()
    expect(error.statusCode).toBeUndefined()
    expect(error.eventHint).toBeUndefined()
  })

  it("an error an extension built without a hint gets its close from the connection", () => {
    const built = new Errors.RemoteProtocolError({ reason: "ExtensionFailure", message: "no", closeCode: 1008 })
    const hinted = withHint(built)
    expect(hinted.closeCode).toBe(1008)
    expect(hinted.eventHint).toMatchObject({ code: 1008, reason: "no" })
    const complete = violation("MessageTooBig", "too big")
    expect(withHint(complete)).toBe(complete)
  })

  it("both errors are tagged and caught by tag in Effect's error channel", () => {
    const caught = Effect.runSync(
      Effect.fail(local("InvalidEvent", "no")).pipe(
        Effect.catchTag("LocalProtocolError", (error) => Effect.succeed(error.reason))
      )
    )
    expect(caught).toBe("InvalidEvent")
  })
})
