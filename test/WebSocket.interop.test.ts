/**
 * The driver against `ws` (version 8) over 127.0.0.1: a `ws` client against our server, and our
 * client against a `ws` `WebSocketServer`, each echoing; text, binary, 16 MiB messages, pings
 * answered by the other side on its own, close codes and reasons both ways, subprotocols, and
 * permessage-deflate on and off. Every wait is bounded; everything a test opens lives in its scope.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import type * as http from "node:http"
import type * as net from "node:net"
import { WebSocket as WsSocket, WebSocketServer as WsServer } from "ws"
import type { ClientOptions as WsClientOptions, ServerOptions as WsServerOptions } from "ws"
import type * as WebSocket from "../src/WebSocket.js"
import * as WebSocketServer from "../src/WebSocketServer.js"
import { connect, exchange, within } from "./rawPeer.js"

const MIB = 1024 * 1024

const digest = (data: string | Uint8Array) => crypto.createHash("sha256").update(data).digest("hex")

const noise = (size: number) => new Uint8Array(crypto.randomBytes(size))

/** JSON-like text: what permessage-deflate is for. */
const jsonLike = (records: number) =>
  Array.from({ length: records }, (_, i) => JSON.stringify({ id: i, user: `user-${i % 97}`, tags: ["a", "b"] }))
    .join("\n")

// ---------------------------------------------------------------------------------------------
// ws's sockets, their events queued for the test

/** A message as `ws` gives it: text decoded, binary as a Buffer. */
type WsMessage = { readonly _tag: "Text"; readonly text: string } | { readonly _tag: "Binary"; readonly bytes: Buffer }

interface Watched {
  readonly socket: WsSocket
  /** The next message it received, bounded; fails if the socket closes first. */
  readonly message: Effect.Effect<WsMessage, Error>
  /** The next pong it received (its payload), bounded. */
  readonly pong: Effect.Effect<Buffer, Error>
  /** Its 'close' event: the close code and reason, bounded. */
  readonly closed: Effect.Effect<{ readonly code: number; readonly reason: string }, Error>
  readonly send: (data: string | Uint8Array) => Effect.Effect<void, Error>
}

/** Queues a `ws` socket's messages, pongs and close for the test. */
const watch = (socket: WsSocket): Effect.Effect<Watched> =>
  Effect.gen(function*() {
    const messages = yield* Queue.unbounded<WsMessage>()
    const pongs = yield* Queue.unbounded<Buffer>()
    const closed = yield* Deferred.make<{ readonly code: number; readonly reason: string }>()
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      const message: WsMessage = isBinary
        ? { _tag: "Binary", bytes: data }
        : { _tag: "Text", text: data.toString("utf8") }
      Queue.unsafeOffer(messages, message)
    })
    socket.on("pong", (payload: Buffer) => Queue.unsafeOffer(pongs, payload))
    socket.on("close", (code: number, reason: Buffer) => {
      Deferred.unsafeDone(closed, Exit.succeed({ code, reason: reason.toString("utf8") }))
    })
    socket.on("error", () => {})
    return {
      socket,
      // A close before the message fails the wait at once, with the close in the message.
      message: Effect.raceFirst(
        Queue.take(messages),
        Effect.flatMap(Deferred.await(closed), (info) =>
          Effect.fail(new Error(`ws's socket closed (${info.code} ${info.reason}) before the message`)))
      ).pipe(within("a message at ws", "10 seconds")),
      pong: Queue.take(pongs).pipe(within("a pong at ws")),
      closed: Deferred.await(closed).pipe(within("ws's close event")),
      send: (data) =>
        Effect.async<void, Error>((resume) => {
          socket.send(data, (cause) =>
            resume(cause ? Effect.fail(cause) : Effect.void))
        })
    }
  })

/** A `ws` client connected to `url`; terminated when the scope closes. */
const wsClient = (url: string, protocols: ReadonlyArray<string> = [], options: WsClientOptions = {}) =>
  Effect.acquireRelease(
    Effect.async<WsSocket, Error>((resume) => {
      const socket = new WsSocket(url, [...protocols], options)
      socket.once("open", () => resume(Effect.succeed(socket)))
      socket.once("error", (cause) => resume(Effect.fail(cause)))
      return Effect.sync(() => socket.terminate())
    }).pipe(within(`ws connecting to ${url}`)),
    (socket) => Effect.sync(() => socket.terminate())
  ).pipe(Effect.flatMap(watch))

/** The `Sec-WebSocket-Extensions` of a 101 `ws`'s server sent. */
interface WsServerSide extends Watched {
  readonly responseHeaders: ReadonlyArray<string>
}

/**
 * A `ws` `WebSocketServer` on 127.0.0.1 (ephemeral port) that echoes (unless `echo` is false) and
 * hands each connection, with the response headers of its 101, to `next`. Closed, its clients
 * terminated, when the scope closes.
 */
const wsServer = (options: WsServerOptions = {}, echo = true) =>
  Effect.gen(function*() {
    const connections = yield* Queue.unbounded<WsServerSide>()
    const server = yield* Effect.acquireRelease(
      Effect.async<WsServer, Error>((resume) => {
        const server = new WsServer({ host: "127.0.0.1", port: 0, ...options })
        server.once("listening", () => resume(Effect.succeed(server)))
        server.once("error", (cause) => resume(Effect.fail(cause)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const client of server.clients) client.terminate()
          server.close(() => resume(Effect.void))
        })
    )
    const headers = new WeakMap<http.IncomingMessage, ReadonlyArray<string>>()
    server.on("headers", (lines: Array<string>, request: http.IncomingMessage) => headers.set(request, [...lines]))
    server.on("connection", (socket: WsSocket, request: http.IncomingMessage) => {
      const watched = Effect.runSync(watch(socket))
      if (echo) socket.on("message", (data: Buffer, isBinary: boolean) => socket.send(data, { binary: isBinary }))
      Queue.unsafeOffer(connections, { ...watched, responseHeaders: headers.get(request) ?? [] })
    })
    const port = (server.address() as net.AddressInfo).port
    return { url: `ws://127.0.0.1:${port}/`, next: Queue.take(connections).pipe(within("ws's connection")) }
  })

// ---------------------------------------------------------------------------------------------
// Ours

type Handler = (ws: WebSocket.WebSocket) => Effect.Effect<void, unknown>

const echo: Handler = (ws) => Stream.runForEach(ws.messages, ws.send)

/**
 * Our server on 127.0.0.1 running `handler` in a scope of its own (`close` closes it); each
 * connection is also handed to `next` (the handler runs meanwhile).
 */
const ourServer = (handler: Handler = echo, options: WebSocketServer.ListenOptions = {}, quiet = false) =>
  Effect.gen(function*() {
    const opened = yield* Queue.unbounded<WebSocket.WebSocket>()
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const server = yield* Scope.extend(
      WebSocketServer.make({ host: "127.0.0.1", port: 0, closeTimeout: "500 millis", ...options }),
      scope
    )
    const run = server.run((ws) => Effect.zipRight(Queue.offer(opened, ws), handler(ws)))
    // `quiet`: the failure of a handler that fails on purpose is not logged.
    yield* Effect.forkIn(quiet ? Logger.withMinimumLogLevel(run, LogLevel.None) : run, scope)
    return {
      url: `ws://127.0.0.1:${server.address.port}/`,
      next: Queue.take(opened).pipe(within("our server's connection")),
      /** Closes the server's scope: 1001 to every connection. */
      close: Scope.close(scope, Exit.void)
    }
  })

/** Sends with ws and reads the echoes ws receives, in order. */
const wsExchange = (
  peer: Watched,
  messages: ReadonlyArray<string | Uint8Array>,
  duration: Duration.DurationInput = "5 seconds"
) =>
  Effect.gen(function*() {
    const sending = yield* Effect.fork(Effect.forEach(messages, peer.send, { discard: true }))
    const received = yield* Effect.forEach(messages, () => peer.message)
    yield* Fiber.join(sending)
    return received
  }).pipe(within("ws's echoes", duration))

const textOf = (m: WsMessage | WebSocket.Message): string => {
  if (typeof m === "string") return m
  if (m instanceof Uint8Array) return assert.fail("expected text, got binary")
  if (m._tag !== "Text") return assert.fail("expected text, got binary")
  return m.text
}

const bytesOf = (m: WsMessage | WebSocket.Message): Uint8Array => {
  if (m instanceof Uint8Array) return m
  if (typeof m === "string") return assert.fail("expected binary, got text")
  if (m._tag !== "Binary") return assert.fail("expected binary, got text")
  return m.bytes
}

const TEXTS = ["hello", "héllo wörld", "日本語", "😀🎉 𝄞", ""]

// ---------------------------------------------------------------------------------------------

describe("a ws client against our server", () => {
  it.scopedLive("text, multi-byte UTF-8 and empty messages echo as text", () =>
    Effect.gen(function*() {
      const server = yield* ourServer()
      const peer = yield* wsClient(server.url)
      const echoed = yield* wsExchange(peer, TEXTS)
      assert.deepStrictEqual(echoed.map(textOf), TEXTS)
    }))

  it.scopedLive("binary messages echo as binary, byte for byte", () =>
    Effect.gen(function*() {
      const server = yield* ourServer()
      const peer = yield* wsClient(server.url)
      const data = [new Uint8Array([0, 255]), noise(10_000), new Uint8Array(0)]
      const echoed = yield* wsExchange(peer, data)
      assert.deepStrictEqual(echoed.map((m) => digest(bytesOf(m))), data.map(digest))
    }))

  it.scopedLive("a 16 MiB binary and a 16 MiB text message echo whole", () =>
    Effect.gen(function*() {
      // Without deflate: our pako deflate takes seconds per 16 MiB of noise; deflate has its own tests.
      const server = yield* ourServer(echo, { maxMessageSize: 32 * MIB })
      const peer = yield* wsClient(server.url, [], { perMessageDeflate: false, maxPayload: 32 * MIB })
      const bytes = noise(16 * MIB)
      const text = "wörld 😀 ".repeat(Math.ceil((16 * MIB) / 13))
      const [bytesBack, textBack] = yield* wsExchange(peer, [bytes, text], "20 seconds")
      assert.strictEqual(digest(bytesOf(bytesBack!)), digest(bytes))
      assert.isTrue(textOf(textBack!) === text)
    }))

  it.scopedLive("a ping from ws is answered with its payload", () =>
    Effect.gen(function*() {
      // The handler does not read: the driver answers (RFC 6455 §5.5.2).
      const server = yield* ourServer((ws) => Effect.ignore(ws.closed))
      const peer = yield* wsClient(server.url)
      peer.socket.ping(Buffer.from("are you there"))
      assert.strictEqual((yield* peer.pong).toString(), "are you there")
      peer.socket.ping()
      assert.strictEqual((yield* peer.pong).length, 0)
    }))

  it.scopedLive("ws closes with a code and reason: our server sees them and echoes them", () =>
    Effect.gen(function*() {
      const server = yield* ourServer((ws) => Effect.ignore(ws.closed))
      const peer = yield* wsClient(server.url)
      const serverSide = yield* server.next
      peer.socket.close(4001, "client bye 😀")
      const seen = yield* serverSide.closed.pipe(within("our close"))
      assert.deepStrictEqual(seen, { code: 4001, reason: "client bye 😀" })
      assert.deepStrictEqual(yield* peer.closed, { code: 4001, reason: "client bye 😀" })
    }))

  it.scopedLive("our server closes with a code and reason: ws sees them, and close() gives ws's answer", () =>
    Effect.gen(function*() {
      const answered = yield* Deferred.make<WebSocket.CloseInfo, WebSocket.WebSocketError>()
      const server = yield* ourServer((ws) => Deferred.complete(answered, ws.close(4000, "server bye")))
      const peer = yield* wsClient(server.url)
      assert.deepStrictEqual(yield* peer.closed, { code: 4000, reason: "server bye" })
      const answer = yield* Deferred.await(answered).pipe(within("close()"))
      assert.deepStrictEqual(answer, { code: 4000, reason: "server bye" })
    }))

  it.scopedLive("a handler that returns gives ws 1000, a failing one 1011, the server's end 1001", () =>
    Effect.gen(function*() {
      const returns = yield* ourServer(() => Effect.void)
      assert.strictEqual((yield* (yield* wsClient(returns.url)).closed).code, 1000)
      const fails = yield* ourServer(() => Effect.fail("boom"), {}, true)
      const failed = yield* wsClient(fails.url)
      assert.strictEqual((yield* failed.closed).code, 1011)
      const ends = yield* ourServer()
      const left = yield* wsClient(ends.url)
      yield* ends.close.pipe(within("our server's end"))
      assert.strictEqual((yield* left.closed).code, 1001)
    }))

  it.scopedLive("a message from ws over our maxMessageSize: ws gets close 1009", () =>
    Effect.gen(function*() {
      const server = yield* ourServer(echo, { maxMessageSize: 1024 })
      const peer = yield* wsClient(server.url, [], { perMessageDeflate: false })
      yield* peer.send(noise(2000))
      assert.strictEqual((yield* peer.closed).code, 1009)
    }))

  it.scopedLive("ws's subprotocol is the first it offers that our server speaks", () =>
    Effect.gen(function*() {
      const server = yield* ourServer(echo, { subprotocols: ["b", "a"] })
      const peer = yield* wsClient(server.url, ["a", "b"])
      assert.strictEqual(peer.socket.protocol, "a")
      assert.strictEqual((yield* server.next).protocol, "a")
    }))

  it.scopedLive("permessage-deflate with ws's perMessageDeflate: true: agreed on both ends, large messages echo", () =>
    Effect.gen(function*() {
      const server = yield* ourServer(echo, { maxMessageSize: 8 * MIB })
      const peer = yield* wsClient(server.url, [], { perMessageDeflate: true })
      assert.strictEqual(peer.socket.extensions, "permessage-deflate")
      assert.deepStrictEqual((yield* server.next).extensions.map((e) => e.name), ["permessage-deflate"])
      const text = jsonLike(30_000)
      const bytes = new TextEncoder().encode(jsonLike(20_000))
      const [textBack, bytesBack] = yield* wsExchange(peer, [text, bytes], "10 seconds")
      assert.isTrue(textOf(textBack!) === text)
      assert.strictEqual(digest(bytesOf(bytesBack!)), digest(bytes))
    }))

  it.scopedLive("ws with perMessageDeflate: false: no extension on either end, messages echo", () =>
    Effect.gen(function*() {
      const server = yield* ourServer()
      const peer = yield* wsClient(server.url, [], { perMessageDeflate: false })
      assert.strictEqual(peer.socket.extensions, "")
      assert.deepStrictEqual((yield* server.next).extensions, [])
      const [back] = yield* wsExchange(peer, [jsonLike(1000)])
      assert.strictEqual(textOf(back!), jsonLike(1000))
    }))
})

describe("our client against a ws server", () => {
  it.scopedLive("text, multi-byte UTF-8 and empty messages echo as text", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const ws = yield* connect(server.url)
      assert.deepStrictEqual(yield* exchange(ws, TEXTS), TEXTS)
    }))

  it.scopedLive("binary messages echo as binary, byte for byte", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const ws = yield* connect(server.url)
      const data = [new Uint8Array([0, 255]), noise(10_000), new Uint8Array(0)]
      const echoed = yield* exchange(ws, data)
      assert.deepStrictEqual(echoed.map((m) => digest(bytesOf(m))), data.map(digest))
    }))

  it.scopedLive("a 16 MiB binary and a 16 MiB text message echo whole", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ maxPayload: 32 * MIB })
      const ws = yield* connect(server.url, { maxMessageSize: 32 * MIB, deflate: false })
      const bytes = noise(16 * MIB)
      const text = "wörld 😀 ".repeat(Math.ceil((16 * MIB) / 13))
      const [bytesBack, textBack] = yield* exchange(ws, [bytes, text], "the 16 MiB echoes", "20 seconds")
      assert.strictEqual(digest(bytesOf(bytesBack!)), digest(bytes))
      assert.isTrue(textOf(textBack!) === text)
    }))

  it.scopedLive("our ping() is answered by ws and gives a Duration", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const ws = yield* connect(server.url)
      const rtt = yield* ws.ping(new TextEncoder().encode("hi")).pipe(within("ws's pong"))
      assert.isTrue(Duration.isDuration(rtt))
      assert.isBelow(Duration.toMillis(rtt), 5000)
    }))

  it.scopedLive("ws's pings are answered by our client on its own, with their payload", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      // The client does not read its messages: the driver answers (RFC 6455 §5.5.2).
      const ws = yield* connect(server.url)
      const serverSide = yield* server.next
      serverSide.socket.ping(Buffer.from("ping from ws"))
      assert.strictEqual((yield* serverSide.pong).toString(), "ping from ws")
      serverSide.socket.ping()
      assert.strictEqual((yield* serverSide.pong).length, 0)
      assert.isUndefined(ws.request)
    }))

  it.scopedLive("our client closes with a code and reason: ws sees them, and close() gives ws's echo", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const ws = yield* connect(server.url)
      const serverSide = yield* server.next
      assert.deepStrictEqual(yield* ws.close(4001, "client bye 😀").pipe(within("the closing handshake")), {
        code: 4001,
        reason: "client bye 😀"
      })
      assert.deepStrictEqual(yield* serverSide.closed, { code: 4001, reason: "client bye 😀" })
    }))

  it.scopedLive("ws closes with a code and reason: our client's `closed` gives them, its messages end", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const ws = yield* connect(server.url)
      const serverSide = yield* server.next
      serverSide.socket.close(4000, "server bye")
      const messages = yield* Stream.runCollect(ws.messages).pipe(within("the end of the messages"))
      assert.strictEqual(Chunk.size(messages), 0)
      assert.deepStrictEqual(yield* ws.closed.pipe(within("closed")), { code: 4000, reason: "server bye" })
      assert.deepStrictEqual(yield* serverSide.closed, { code: 4000, reason: "server bye" })
    }))

  it.scopedLive("closing our client's scope gives ws 1000", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      yield* Scope.extend(connect(server.url), scope)
      const serverSide = yield* server.next
      yield* Scope.close(scope, Exit.void).pipe(within("our client's scope"))
      assert.strictEqual((yield* serverSide.closed).code, 1000)
    }))

  it.scopedLive("our subprotocols and headers reach ws; ws's choice reaches our client", () =>
    Effect.gen(function*() {
      const seen = yield* Deferred.make<http.IncomingHttpHeaders>()
      const server = yield* wsServer({
        handleProtocols: (protocols) => (protocols.has("b") ? "b" : false),
        verifyClient: (info: { req: http.IncomingMessage }) => {
          Deferred.unsafeDone(seen, Exit.succeed(info.req.headers))
          return true
        }
      })
      const ws = yield* connect(server.url, { protocols: ["a", "b"], headers: [["X-Custom", "42"]] })
      assert.strictEqual(ws.protocol, "b")
      assert.strictEqual((yield* server.next).socket.protocol, "b")
      const headers = yield* Deferred.await(seen).pipe(within("the request at ws"))
      assert.strictEqual(headers["x-custom"], "42")
      assert.strictEqual(headers["sec-websocket-protocol"], "a, b")
    }))

  it.scopedLive("permessage-deflate with a ws server that has it: our offer is accepted, large messages echo", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ perMessageDeflate: true })
      const ws = yield* connect(server.url, { maxMessageSize: 8 * MIB })
      assert.deepStrictEqual(ws.extensions.map((e) => e.name), ["permessage-deflate"])
      const serverSide = yield* server.next
      assert.strictEqual(serverSide.socket.extensions, "permessage-deflate")
      const agreed = serverSide.responseHeaders.find((line) =>
        line.toLowerCase().startsWith("sec-websocket-extensions:")
      )
      assert.match(agreed ?? "", /permessage-deflate/)
      const text = jsonLike(30_000)
      const bytes = new TextEncoder().encode(jsonLike(20_000))
      const [textBack, bytesBack] = yield* exchange(ws, [text, bytes], "the compressed echoes", "10 seconds")
      assert.isTrue(textBack === text)
      assert.strictEqual(digest(bytesOf(bytesBack!)), digest(bytes))
    }))

  it.scopedLive("permessage-deflate with a ws server without it (ws's default): none agreed, messages echo", () =>
    Effect.gen(function*() {
      const server = yield* wsServer()
      const ws = yield* connect(server.url)
      assert.deepStrictEqual(ws.extensions, [])
      assert.strictEqual((yield* server.next).socket.extensions, "")
      assert.deepStrictEqual(yield* exchange(ws, ["plain"]), ["plain"])
    }))

  it.scopedLive("our client with deflate: false against a ws server that has it: none agreed", () =>
    Effect.gen(function*() {
      const server = yield* wsServer({ perMessageDeflate: true })
      const ws = yield* connect(server.url, { deflate: false })
      assert.deepStrictEqual(ws.extensions, [])
      assert.strictEqual((yield* server.next).socket.extensions, "")
      assert.deepStrictEqual(yield* exchange(ws, ["plain"]), ["plain"])
    }))
})
