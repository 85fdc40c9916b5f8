/**
 * The Effect face: `WSConnection.Service` from its client and server layers.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { ConnectionState } from "../src/ConnectionState.js"
import { LocalProtocolError, RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import * as WSConnection from "../src/WSConnection.js"

const NONCE = () => new Uint8Array(16).fill(7)
const KEY = () => new Uint8Array([1, 2, 3, 4])

const join = (chunks: ReadonlyArray<Uint8Array>) => Buffer.concat(chunks)

/** A client and a server service, each built from its layer, wired by hand. */
const pair = Effect.gen(function*() {
  const client = yield* Effect.provide(WSConnection.Service, WSConnection.layerClient({ nonce: NONCE, maskKey: KEY }))
  const server = yield* Effect.provide(WSConnection.Service, WSConnection.layerServer())
  const request = yield* client.send(new Events.Request({ host: "localhost", target: "/chat", subprotocols: ["chat"] }))
  const [received] = yield* server.receive(join(request.bytes))
  assert.instanceOf(received, Events.Request)
  const accept = yield* server.send(new Events.AcceptConnection({ subprotocol: "chat" }))
  const accepted = yield* client.receive(join(accept.bytes))
  assert.strictEqual(accepted.length, 1)
  assert.instanceOf(accepted[0], Events.AcceptConnection)
  return { client, server }
})

describe("WSConnection.Service", () => {
  it.effect("a client and a server layer reach OPEN and exchange messages", () =>
    Effect.gen(function*() {
      const { client, server } = yield* pair
      assert.strictEqual(yield* client.state, ConnectionState.OPEN)
      assert.strictEqual(yield* server.state, ConnectionState.OPEN)
      const sent = yield* client.send(new Events.TextMessage({ data: "hello" }))
      const events = yield* server.receive(join(sent.bytes))
      assert.strictEqual(events.length, 1)
      assert.instanceOf(events[0], Events.TextMessage)
      assert.strictEqual((events[0] as Events.TextMessage).data, "hello")
    }))

  it.effect("sending an event the state does not allow fails with LocalProtocolError", () =>
    Effect.gen(function*() {
      const client = yield* Effect.provide(WSConnection.Service, WSConnection.layerClient())
      const error = yield* Effect.flip(client.send(new Events.TextMessage({ data: "too early" })))
      assert.instanceOf(error, LocalProtocolError)
      assert.include(error.message, "ConnectionState.CONNECTING")
      assert.strictEqual(yield* client.state, ConnectionState.CONNECTING)
    }))

  it.effect("a bad handshake fails receive with RemoteProtocolError whose eventHint is the rejection", () =>
    Effect.gen(function*() {
      const server = yield* Effect.provide(WSConnection.Service, WSConnection.layerServer())
      const error = yield* Effect.flip(server.receive(new TextEncoder().encode("POST / HTTP/1.1\r\nHost: x\r\n\r\n")))
      assert.instanceOf(error, RemoteProtocolError)
      assert.instanceOf(error.eventHint, Events.RejectConnection)
      // The failed step left the state as it was: the hint can be sent.
      const rejection = yield* server.send(error.eventHint!)
      assert.strictEqual(
        new TextDecoder().decode(join(rejection.bytes)),
        "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"
      )
      assert.strictEqual(yield* server.state, ConnectionState.CLOSED)
    }))

  it.effect("a frame violation fails receive with the close code, the close to send and the events before it", () =>
    Effect.gen(function*() {
      const { client } = yield* pair
      // An unmasked text frame "a", then a frame with the reserved opcode 3.
      const error = yield* Effect.flip(client.receive(new Uint8Array([0x81, 0x01, 0x61, 0x83, 0x00])))
      assert.instanceOf(error, RemoteProtocolError)
      assert.strictEqual((error as RemoteProtocolError).closeCode, 1002)
      assert.instanceOf((error as RemoteProtocolError).eventHint, Events.CloseConnection)
      const before = (error as RemoteProtocolError).events ?? []
      assert.strictEqual(before.length, 1)
      assert.strictEqual((before[0] as Events.TextMessage).data, "a")
      // Nothing more is received, and the close of the hint can be sent.
      const again = yield* Effect.flip(client.receive(new Uint8Array([0x81, 0x01, 0x62])))
      assert.instanceOf(again, RemoteProtocolError)
      yield* client.send((error as RemoteProtocolError).eventHint!)
      assert.strictEqual(yield* client.state, ConnectionState.LOCAL_CLOSING)
    }))

  it.effect("the end of the transport gives a 1006 close, and then receive fails with LocalProtocolError", () =>
    Effect.gen(function*() {
      const { server } = yield* pair
      const events = yield* server.receive(null)
      assert.strictEqual((events[0] as Events.CloseConnection).code, 1006)
      assert.strictEqual(yield* server.state, ConnectionState.CLOSED)
      const error = yield* Effect.flip(server.receive(new Uint8Array([0x81])))
      assert.instanceOf(error, LocalProtocolError)
    }))

  it.effect("initiateUpgradeConnection starts a server from parsed headers", () =>
    Effect.gen(function*() {
      const server = yield* Effect.provide(WSConnection.Service, WSConnection.layerServer())
      const events = yield* server.initiateUpgradeConnection([
        ["Host", "example.com"],
        ["Upgrade", "websocket"],
        ["Connection", "Upgrade"],
        ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
        ["Sec-WebSocket-Version", "13"]
      ], "/path?q")
      assert.strictEqual((events[0] as Events.Request).target, "/path?q")
      const accept = yield* server.send(new Events.AcceptConnection())
      assert.include(
        new TextDecoder().decode(join(accept.bytes)),
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
      )
    }))
})

layer(WSConnection.layerServer())("WSConnection.layerServer shared across tests", (it) => {
  it.effect("the first test sees CONNECTING", () =>
    Effect.gen(function*() {
      const server = yield* WSConnection.Service
      assert.strictEqual(yield* server.state, ConnectionState.CONNECTING)
      yield* server.send(new Events.RejectConnection({ statusCode: 403 }))
    }))

  it.effect("the second test sees the state the first left: CLOSED", () =>
    Effect.gen(function*() {
      const server = yield* WSConnection.Service
      assert.strictEqual(yield* server.state, ConnectionState.CLOSED)
    }))
})

describe("the Event schema", () => {
  it("decodes JSON events from a fixture into the event classes, bytes as number arrays", () => {
    const decoded = Schema.decodeUnknownSync(Schema.Array(Events.Event))(JSON.parse(
      `[{"_tag":"TextMessage","data":"hi"},{"_tag":"BytesMessage","data":[1,2],"messageFinished":false},` +
        `{"_tag":"Ping"},{"_tag":"CloseConnection","code":1000},{"_tag":"RejectConnection","statusCode":403}]`
    ))
    assert.instanceOf(decoded[0], Events.TextMessage)
    assert.isTrue((decoded[0] as Events.TextMessage).frameFinished)
    assert.deepStrictEqual(Array.from((decoded[1] as Events.BytesMessage).data), [1, 2])
    assert.isFalse((decoded[1] as Events.BytesMessage).messageFinished)
    assert.strictEqual((decoded[2] as Events.Ping).payload.length, 0)
    assert.strictEqual((decoded[3] as Events.CloseConnection).reason, "")
    assert.strictEqual((decoded[4] as Events.RejectConnection).hasBody, false)
  })

  it("rejects malformed input with a precise error", () => {
    const result = Schema.decodeUnknownEither(Events.Event)({ _tag: "CloseConnection", code: "1000" })
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(String(result.left), "code")
  })

  it("encodes events back to JSON-able values", () => {
    const encoded = Schema.encodeSync(Events.Event)(new Events.BytesMessage({ data: new Uint8Array([9]) }))
    assert.deepStrictEqual(JSON.parse(JSON.stringify(encoded)), {
      _tag: "BytesMessage",
      data: [9],
      frameFinished: true,
      messageFinished: true
    })
  })

  it("Ping.response() is the Pong with the same payload, CloseConnection.response() the same close", () => {
    const pong = new Events.Ping({ payload: new Uint8Array([1, 2]) }).response()
    assert.instanceOf(pong, Events.Pong)
    assert.deepStrictEqual(Array.from(pong.payload), [1, 2])
    const close = new Events.CloseConnection({ code: 1001, reason: "away" }).response()
    assert.deepStrictEqual([close.code, close.reason], [1001, "away"])
  })
})
