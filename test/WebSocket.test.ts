/**
 * The driver end to end over 127.0.0.1: our client (`WebSocketClient.connect`) against our server
 * (`WebSocketServer.make`, `attach`), and each against raw `node:net` peers that do the handshake
 * and the frames by hand, for what a well-behaved peer cannot show (violations, a dropped TCP
 * connection, who closes TCP first). Every wait is bounded; everything a test opens lives in its
 * scope.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as http from "node:http"
import * as net from "node:net"
import * as Events from "../src/Events.js"
import type * as PerMessageDeflate from "../src/PerMessageDeflate.js"
import * as WebSocket from "../src/WebSocket.js"
import * as WebSocketClient from "../src/WebSocketClient.js"
import * as WebSocketServer from "../src/WebSocketServer.js"
import { concatAll, utf8 } from "./helpers.js"
import {
  awaitWithin,
  closeOf,
  connect,
  eventually,
  exchange,
  freshKey,
  headerOf,
  maskedClose,
  maskedFrame,
  rawClient,
  type RawClientOptions,
  rawConnect,
  type RawPeer,
  rawServer,
  type RawServerOptions,
  statusOf,
  take,
  tlsFixture,
  unmaskedFrame,
  upgradeRequest,
  within
} from "./rawPeer.js"

const MIB = 1024 * 1024

type Handler = (ws: WebSocket.WebSocket) => Effect.Effect<void, unknown>

/** Echoes every message back. */
const echo: Handler = (ws) => Stream.runForEach(ws.messages, ws.send)

/** A server on 127.0.0.1 (ephemeral port) running `handler` in the test's scope. */
const serve = (
  handler: Handler = echo,
  options: WebSocketServer.ListenOptions = {},
  handlers: WebSocketServer.Handlers<never> = {}
) =>
  Effect.gen(function*() {
    const server = yield* WebSocketServer.make({ host: "127.0.0.1", port: 0, closeTimeout: "500 millis", ...options })
    yield* Effect.forkScoped(server.run(handler, handlers))
    return { server, url: (target = "/") => `ws://127.0.0.1:${server.address.port}${target}` }
  })

/** The next message of a connection, bounded. */
const next = (ws: WebSocket.WebSocket) =>
  Stream.runHead(ws.messages).pipe(
    Effect.flatMap((head) => head._tag === "Some" ? Effect.succeed(head.value) : Effect.fail(new Error("no message"))),
    within("a message")
  )

/** The error a failing Effect gives, bounded. */
const failure = <A, E, R>(self: Effect.Effect<A, E, R>, what: string) => Effect.flip(self).pipe(within(what))

const digest = (data: string | Uint8Array) => crypto.createHash("sha256").update(data).digest("hex")

/** Pseudo-random bytes (not compressible). */
const noise = (size: number) => new Uint8Array(crypto.randomBytes(size))

const textOf = (data: WebSocket.Message) => {
  assert.strictEqual(typeof data, "string")
  return data as string
}

const bytesOf = (data: WebSocket.Message) => {
  assert.instanceOf(data, Uint8Array)
  return data as Uint8Array
}

/**
 * A handler that hands each server-side connection to the test and keeps it open until it ends;
 * `next` is the next connection the server opened.
 */
const handOver = Effect.gen(function*() {
  const opened = yield* Queue.unbounded<WebSocket.WebSocket>()
  const handler: Handler = (ws) => Effect.zipRight(Queue.offer(opened, ws), Effect.ignore(ws.closed))
  return { handler, next: Queue.take(opened).pipe(within("the server's connection")) }
})

/** A handler whose outcome (`f`'s exit) the test reads with `result`; the handler then returns. */
const outcome = <A>(f: (ws: WebSocket.WebSocket) => Effect.Effect<A, unknown>) =>
  Effect.gen(function*() {
    const results = yield* Queue.unbounded<Exit.Exit<A, unknown>>()
    const handler: Handler = (ws) => Effect.flatMap(Effect.exit(f(ws)), (exit) => Queue.offer(results, exit))
    return { handler, result: Queue.take(results).pipe(within("the server's handler")) }
  })

/** A server handler whose `run` keeps every message it is called with, and its outcome. */
const recording = Effect.suspend(() => {
  const seen: Array<WebSocket.Message> = []
  return Effect.map(
    outcome((ws) =>
      ws.run((message) => {
        seen.push(message)
      })
    ),
    (server) => ({ seen, server })
  )
})

/** The value of a successful exit; fails the test otherwise. */
const success = <A>(exit: Exit.Exit<A, unknown>): A => {
  if (Exit.isFailure(exit)) assert.fail(`expected success, got ${String(exit.cause)}`)
  return exit.value
}

/** The `WebSocketError` of a failed exit; fails the test otherwise. */
const wsError = (exit: Exit.Exit<unknown, unknown>): WebSocket.WebSocketError => {
  if (Exit.isSuccess(exit)) return assert.fail("expected a failure, got a success")
  const error = Cause.failureOption(exit.cause)
  if (error._tag === "None") return assert.fail(`expected a failure, got ${String(exit.cause)}`)
  assert.instanceOf(error.value, WebSocket.WebSocketError)
  return error.value as WebSocket.WebSocketError
}

/** Asserts a `WebSocketError`'s reason (and close code). */
const expectError = (error: unknown, reason: WebSocket.WebSocketError["reason"], closeCode?: number) => {
  assert.instanceOf(error, WebSocket.WebSocketError)
  const e = error as WebSocket.WebSocketError
  assert.strictEqual(e.reason, reason, e.message)
  if (closeCode !== undefined) assert.strictEqual(e.closeCode, closeCode, e.message)
}

/** A port on 127.0.0.1 nobody listens on: one the system just gave out and took back. */
const freePort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen({ host: "127.0.0.1", port: 0 }, () => {
    const port = (server.address() as net.AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A raw client of our server that never ends its side of TCP unless told to (half-open): who sends
 * FIN first is the driver's doing (RFC 6455 §7.1.1).
 */
const halfOpenClient = (port: number, options: RawClientOptions = {}) =>
  rawClient(port, { allowHalfOpen: true, ...options })

/** A raw server that answers each handshake with a 101 on its own, and is half-open too. */
const answeringServer = (options: RawServerOptions = {}) => rawServer({ allowHalfOpen: true, accept: true, ...options })

describe("our client and our server: messages", () => {
  it.scopedLive("text messages round-trip, multi-byte UTF-8 and emoji included", () =>
    Effect.gen(function*() {
      const { url } = yield* serve()
      const ws = yield* connect(url())
      const texts = ["hello", "héllo wörld", "日本語のテキスト", "😀🎉 𝄞 astral", "mixed: a é 日 😀"]
      for (const text of texts) yield* ws.send(text)
      assert.deepStrictEqual(yield* take(ws, texts.length), texts)
    }))

  it.scopedLive("binary messages round-trip byte for byte", () =>
    Effect.gen(function*() {
      const { url } = yield* serve()
      const ws = yield* connect(url())
      const data = [new Uint8Array([0, 1, 2, 255]), noise(1000), noise(70_000)]
      const echoed = yield* exchange(ws, data)
      assert.deepStrictEqual(echoed.map((m) => bytesOf(m).length), data.map((d) => d.length))
      assert.deepStrictEqual(echoed.map((m) => digest(bytesOf(m))), data.map(digest))
    }))

  it.scopedLive("empty text and empty binary messages round-trip as such", () =>
    Effect.gen(function*() {
      const { url } = yield* serve()
      const ws = yield* connect(url())
      yield* ws.send("")
      yield* ws.send(new Uint8Array(0))
      yield* ws.send("after")
      const [text, bytes, after] = yield* take(ws, 3)
      assert.strictEqual(textOf(text!), "")
      assert.strictEqual(bytesOf(bytes!).length, 0)
      assert.strictEqual(after, "after")
    }))

  it.scopedLive("a 16 MiB binary and a 16 MiB text message go both ways whole", () =>
    Effect.gen(function*() {
      // Without deflate: this is about frames and memory, not pako's 3 s per 16 MiB of noise.
      const limits = { maxMessageSize: 32 * MIB, deflate: false }
      const { url } = yield* serve(echo, limits)
      const ws = yield* connect(url(), limits)
      const bytes = noise(16 * MIB)
      const unit = "héllo wörld 😀 日本語 "
      const text = unit.repeat(Math.ceil((16 * MIB) / utf8(unit).length))
      assert.isAtLeast(utf8(text).length, 16 * MIB)
      const [bytesBack, textBack] = yield* exchange(ws, [bytes, text], "the 16 MiB echoes", "20 seconds")
      assert.strictEqual(bytesOf(bytesBack!).length, bytes.length)
      assert.strictEqual(digest(bytesOf(bytesBack!)), digest(bytes))
      assert.strictEqual(textOf(textBack!).length, text.length)
      assert.isTrue(textBack === text)
    }))

  it.scopedLive("a message sent in fragments arrives piece by piece on `fragments` on the other end", () =>
    Effect.gen(function*() {
      // The server reports each piece it sees as JSON.
      const report: Handler = (ws) =>
        Stream.runForEach(ws.fragments, (piece) =>
          ws.send(JSON.stringify({
            tag: piece._tag,
            data: typeof piece.data === "string" ? piece.data : Array.from(piece.data),
            frameFinished: piece.frameFinished,
            messageFinished: piece.messageFinished
          })))
      const { url } = yield* serve(report)
      const ws = yield* connect(url())
      interface Piece {
        readonly tag: string
        readonly data: string | Array<number>
        readonly frameFinished: boolean
        readonly messageFinished: boolean
      }
      /** The reports until the one that ends a message. */
      const reports = Stream.map(ws.messages, (m) => JSON.parse(textOf(m)) as Piece).pipe(
        Stream.takeUntil((p) => p.messageFinished),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        within("the server's reports")
      )
      yield* ws.sendFragment("hé", false)
      yield* ws.sendFragment("llo ", false)
      yield* ws.sendFragment("😀", true)
      const text = yield* reports
      assert.deepStrictEqual(text.map((p) => p.data).join(""), "héllo 😀")
      assert.isTrue(text.every((p) => p.tag === "TextMessage"))
      // Three frames: three pieces end a frame, and only the last ends the message.
      assert.strictEqual(text.filter((p) => p.frameFinished).length, 3)
      assert.deepStrictEqual(text.map((p) => p.messageFinished), [...text.slice(1).map(() => false), true])
      yield* ws.sendFragment(new Uint8Array([1, 2]), false)
      yield* ws.sendFragment(new Uint8Array([3]), true)
      const binary = yield* reports
      assert.deepStrictEqual(binary.flatMap((p) => p.data as Array<number>), [1, 2, 3])
      assert.isTrue(binary.every((p) => p.tag === "BytesMessage"))
      assert.strictEqual(binary.filter((p) => p.frameFinished).length, 2)
      assert.isTrue(binary[binary.length - 1]!.messageFinished)
    }))

  it.scopedLive("a message sent in fragments is assembled whole by `messages` on the other end", () =>
    Effect.gen(function*() {
      const fragmenting: Handler = (ws) =>
        Stream.runForEach(ws.messages, (m) =>
          typeof m === "string"
            ? Effect.zipRight(ws.sendFragment(m.slice(0, 3), false), ws.sendFragment(m.slice(3), true))
            : Effect.zipRight(ws.sendFragment(m.subarray(0, 1), false), ws.sendFragment(m.subarray(1), true)))
      const { url } = yield* serve(fragmenting)
      const ws = yield* connect(url())
      yield* ws.send("fragmented 😀 text")
      yield* ws.send(new Uint8Array([9, 8, 7, 6]))
      const [text, bytes] = yield* take(ws, 2)
      assert.strictEqual(text, "fragmented 😀 text")
      assert.deepStrictEqual(Array.from(bytesOf(bytes!)), [9, 8, 7, 6])
    }))

  it.scopedLive("10,000 small messages arrive in order", () =>
    Effect.gen(function*() {
      const { url } = yield* serve()
      const ws = yield* connect(url())
      const n = 10_000
      const indices = Array.from({ length: n }, (_, i) => i)
      const sending = yield* Effect.fork(Effect.forEach(indices, (i) => ws.send(`m${i}`), { discard: true }))
      const echoed = yield* take(ws, n, "10,000 echoes", "15 seconds")
      yield* Fiber.join(sending)
      assert.strictEqual(echoed.length, n)
      const wrong = echoed.findIndex((m, i) => m !== `m${i}`)
      assert.strictEqual(wrong, -1, `message ${wrong} is ${String(echoed[wrong])}`)
    }))

  it.scopedLive("ping() gives the round-trip time; the peer answers on its own, either way", () =>
    Effect.gen(function*() {
      const server = yield* handOver
      const { url } = yield* serve(server.handler)
      // Neither end pulls its messages: the pongs come from the drivers (RFC 6455 §5.5.2).
      const client = yield* connect(url())
      const serverSide = yield* server.next
      const rtt = yield* client.ping().pipe(within("the server's pong"))
      assert.isTrue(Duration.isDuration(rtt))
      assert.isAtLeast(Duration.toMillis(rtt), 0)
      assert.isBelow(Duration.toMillis(rtt), 5000)
      const withPayload = yield* client.ping(utf8("payload")).pipe(within("the pong of a ping with a payload"))
      assert.isTrue(Duration.isDuration(withPayload))
      const back = yield* serverSide.ping().pipe(within("the client's pong"))
      assert.isTrue(Duration.isDuration(back))
      assert.isBelow(Duration.toMillis(back), 5000)
      // And the connection still carries messages.
      yield* client.send("still open")
      const echoed = yield* Stream.runHead(serverSide.messages).pipe(within("a message"))
      assert.deepStrictEqual(echoed._tag === "Some" ? echoed.value : undefined, "still open")
    }))

  it.scopedLive("concurrent sends from several fibers arrive whole, each fiber's in order", () =>
    Effect.gen(function*() {
      const { url } = yield* serve()
      // Frames of 8 KiB: an interleaving of two messages' frames would break the message.
      const ws = yield* connect(url(), { fragmentSize: 8192 })
      const fibers = 4
      const perFiber = 20
      const messages = Array.from({ length: fibers }, (_, f) =>
        Array.from({ length: perFiber }, (_, i) => {
          const bytes = noise(16_000 + 997 * i)
          bytes[0] = f
          bytes[1] = i
          return bytes
        }))
      const expected = new Map(messages.flat().map((m) => [`${m[0]}:${m[1]}`, digest(m)]))
      const sending = yield* Effect.fork(
        Effect.forEach(messages, (list) => Effect.forEach(list, (m) => ws.send(m), { discard: true }), {
          concurrency: "unbounded",
          discard: true
        })
      )
      const echoed = (yield* take(ws, fibers * perFiber, "the echoes", "15 seconds")).map(bytesOf)
      yield* Fiber.join(sending)
      for (const m of echoed) assert.strictEqual(digest(m), expected.get(`${m[0]}:${m[1]}`), `message ${m[0]}:${m[1]}`)
      for (let f = 0; f < fibers; f++) {
        const order = echoed.filter((m) => m[0] === f).map((m) => m[1])
        assert.deepStrictEqual(order, Array.from({ length: perFiber }, (_, i) => i))
      }
    }))
})

describe("our client and our server: closing", () => {
  it.scopedLive("a client's close() gives the server's close: its code and reason echoed (RFC 6455 §5.5.1)", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => Effect.zipRight(Stream.runDrain(ws.messages), ws.closed))
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      const info = yield* ws.close(4001, "done 😀").pipe(within("the closing handshake"))
      assert.deepStrictEqual(info, { code: 4001, reason: "done 😀" })
      assert.deepStrictEqual(success(yield* server.result), { code: 4001, reason: "done 😀" })
      assert.deepStrictEqual(yield* ws.closed.pipe(within("closed")), { code: 4001, reason: "done 😀" })
    }))

  it.scopedLive("a server's close(4000, \"bye\") reaches the client's `closed`; its messages end without failure", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => ws.close(4000, "bye"))
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      const messages = yield* Stream.runCollect(ws.messages).pipe(within("the end of the messages"))
      assert.strictEqual(Chunk.size(messages), 0)
      assert.deepStrictEqual(yield* ws.closed.pipe(within("closed")), { code: 4000, reason: "bye" })
      // Sending after the peer's close fails with that close.
      expectError(yield* failure(ws.send("too late"), "send after the peer's close"), "Closed", 4000)
      // The server's close() gave the client's answer: the same close.
      assert.deepStrictEqual(success(yield* server.result), { code: 4000, reason: "bye" })
    }))

  it.scopedLive("a handler that returns closes the connection with 1000", () =>
    Effect.gen(function*() {
      const { url } = yield* serve(() => Effect.void)
      const ws = yield* connect(url())
      const info = yield* ws.closed.pipe(within("closed"))
      assert.strictEqual(info.code, 1000)
    }))

  it.scopedLive("a handler that fails closes the connection with 1011", () =>
    Effect.gen(function*() {
      const server = yield* WebSocketServer.make({ host: "127.0.0.1", port: 0, closeTimeout: "500 millis" })
      // The server logs the failure; not in the test's output.
      const run = server.run(() => Effect.fail(new Error("boom")))
      yield* Effect.forkScoped(Logger.withMinimumLogLevel(run, LogLevel.None))
      const ws = yield* connect(`ws://127.0.0.1:${server.address.port}/`)
      const info = yield* ws.closed.pipe(within("closed"))
      assert.strictEqual(info.code, 1011)
      const messages = yield* Effect.exit(Stream.runDrain(ws.messages))
      assert.isTrue(Exit.isSuccess(messages))
    }))

  it.scopedLive("closing the server's scope sends 1001 to every open client at once", () =>
    Effect.gen(function*() {
      const serverScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const { server, url } = yield* Scope.extend(serve(), serverScope)
      const ours = yield* Effect.forEach([1, 2], () => connect(url()))
      // Raw clients that never answer the close: each costs the server its close timeout.
      const silent = yield* Effect.forEach([1, 2, 3], () => halfOpenClient(server.address.port))
      const started = Date.now()
      yield* Scope.close(serverScope, Exit.void).pipe(within("the server's scope to close"))
      const elapsed = Date.now() - started
      for (const ws of ours) assert.strictEqual((yield* ws.closed.pipe(within("closed"))).code, 1001)
      for (const peer of silent) {
        const frame = yield* peer.frame(0)
        assert.strictEqual(frame.opcode, 0x8)
        assert.strictEqual(closeOf(frame).code, 1001)
      }
      // The close timeouts ran side by side (500 ms each), not one after the other (1.5 s).
      assert.isBelow(elapsed, 1400)
    }))

  it.scopedLive("closing the client's scope closes the connection with 1000", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => ws.closed)
      const { url } = yield* serve(server.handler)
      const clientScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const ws = yield* Scope.extend(connect(url()), clientScope)
      yield* ws.send("hello")
      yield* Scope.close(clientScope, Exit.void).pipe(within("the client's scope to close"))
      assert.deepStrictEqual(success(yield* server.result), { code: 1000, reason: "" })
      assert.deepStrictEqual(yield* ws.closed.pipe(within("closed")), { code: 1000, reason: "" })
    }))

  it.scopedLive("send after close fails with reason Closed", () =>
    Effect.gen(function*() {
      const { url } = yield* serve()
      const ws = yield* connect(url())
      yield* ws.close().pipe(within("the closing handshake"))
      expectError(yield* failure(ws.send("too late"), "send after close"), "Closed")
      expectError(yield* failure(ws.send(new Uint8Array([1])), "send after close"), "Closed")
      expectError(yield* failure(ws.sendFragment("x", true), "sendFragment after close"), "Closed")
      expectError(yield* failure(ws.ping(), "ping after close"), "Closed")
    }))

  it.scopedLive("a client's TCP drops without a close: the server's `closed` and `messages` fail: Closed 1006", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) =>
        Effect.all([Effect.exit(ws.closed), Effect.exit(Stream.runDrain(ws.messages))], { concurrency: 2 })
      )
      const { server: listening } = yield* serve(server.handler)
      const peer = yield* halfOpenClient(listening.address.port)
      yield* peer.destroy()
      const [closed, messages] = success(yield* server.result)
      expectError(wsError(closed), "Closed", 1006)
      expectError(wsError(messages), "Closed", 1006)
    }))

  it.scopedLive("a server's TCP drops without a close: the client's `closed` and `messages` fail: Closed 1006", () =>
    Effect.gen(function*() {
      const raw = yield* answeringServer({ onOpen: (peer) => peer.socket.destroy() })
      const ws = yield* connect(`ws://127.0.0.1:${raw.port}/`)
      const [closed, messages] = yield* Effect.all(
        [Effect.exit(ws.closed), Effect.exit(Stream.runDrain(ws.messages))],
        { concurrency: 2 }
      ).pipe(within("the end of the connection"))
      expectError(wsError(closed), "Closed", 1006)
      expectError(wsError(messages), "Closed", 1006)
    }))

  it.scopedLive("close() to a peer that never answers fails with CloseTimeout after closeTimeout", () =>
    Effect.gen(function*() {
      const raw = yield* answeringServer()
      const ws = yield* connect(`ws://127.0.0.1:${raw.port}/`, { closeTimeout: "300 millis" })
      const started = Date.now()
      expectError(yield* failure(ws.close(), "the close timeout"), "CloseTimeout")
      assert.isAtLeast(Date.now() - started, 250)
      expectError(yield* failure(ws.closed, "closed"), "CloseTimeout")
      // The close was sent, masked, before the wait.
      const frame = yield* (yield* raw.accepted).frame(0)
      assert.strictEqual(frame.opcode, 0x8)
      assert.strictEqual(closeOf(frame).code, 1000)
    }))

  it.scopedLive("close with a code that may not be sent fails with LocalError, and the connection stays open", () =>
    Effect.gen(function*() {
      const { url } = yield* serve()
      const ws = yield* connect(url())
      // RFC 6455 §7.4.1: 1005 and 1006 are never sent; codes below 1000 are not used.
      expectError(yield* failure(ws.close(1005, "no status"), "close(1005)"), "LocalError")
      expectError(yield* failure(ws.close(999), "close(999)"), "LocalError")
      expectError(yield* failure(ws.close(1006), "close(1006)"), "LocalError")
      yield* ws.send("still open")
      assert.strictEqual(yield* next(ws), "still open")
    }))
})

describe("the server ends TCP first (RFC 6455 §7.1.1)", () => {
  it.scopedLive("a raw client's close is answered, then the server sends FIN without the client ending first", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const peer = yield* halfOpenClient(server.address.port)
      yield* peer.write(maskedClose(1000, "bye"))
      const frame = yield* peer.frame(0)
      assert.strictEqual(frame.opcode, 0x8)
      assert.isFalse(frame.masked)
      assert.deepStrictEqual(closeOf(frame), { code: 1000, reason: "bye" })
      yield* peer.awaitEnd("the server's FIN")
      assert.deepStrictEqual(peer.log.slice(0, 1), ["end"])
      assert.strictEqual(peer.frames.length, 1)
      yield* peer.end()
    }))

  it.scopedLive("our client answers a raw server's close, then waits for the server's FIN before its own", () =>
    Effect.gen(function*() {
      const raw = yield* answeringServer()
      const ws = yield* connect(`ws://127.0.0.1:${raw.port}/`, { closeTimeout: "2 seconds" })
      const peer = yield* raw.accepted
      yield* peer.write(unmaskedFrame(0x8, new Uint8Array([0x0f, 0xa0, 0x62, 0x79, 0x65]))) // 4000 "bye"
      const frame = yield* peer.frame(0)
      assert.strictEqual(frame.opcode, 0x8)
      assert.isTrue(frame.masked)
      assert.deepStrictEqual(closeOf(frame), { code: 4000, reason: "bye" })
      assert.deepStrictEqual(yield* ws.closed.pipe(within("closed")), { code: 4000, reason: "bye" })
      // The client does not end TCP first.
      yield* Effect.sleep("150 millis")
      assert.isFalse(peer.peerEnded)
      yield* peer.end()
      yield* peer.awaitEnd("the client's FIN after the server's")
    }))
})

describe("protocol violations from a raw peer", () => {
  /** A server whose handler reports how its `messages` stream ended. */
  const violated = (options: WebSocketServer.ListenOptions = {}) =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => Stream.runDrain(ws.messages))
      const { server: listening } = yield* serve(server.handler, options)
      const peer = yield* halfOpenClient(listening.address.port)
      return { peer, result: server.result }
    })

  /** The raw client gets a close with `code`, then the server's FIN. */
  const closedWith = (peer: RawPeer, code: number) =>
    Effect.gen(function*() {
      const frame = yield* peer.frame(0)
      assert.strictEqual(frame.opcode, 0x8)
      assert.strictEqual(closeOf(frame).code, code)
      yield* peer.awaitEnd("the server's FIN")
    })

  it.scopedLive("an unmasked frame from a client: close 1002, TCP ended, messages fail with ProtocolError 1002", () =>
    Effect.gen(function*() {
      const { peer, result } = yield* violated()
      yield* peer.write(unmaskedFrame(0x1, utf8("not masked")))
      yield* closedWith(peer, 1002)
      expectError(wsError(yield* result), "ProtocolError", 1002)
    }))

  it.scopedLive("invalid UTF-8 in a text message: close 1007, messages fail with ProtocolError 1007", () =>
    Effect.gen(function*() {
      const { peer, result } = yield* violated()
      yield* peer.write(maskedFrame(0x1, new Uint8Array([0x61, 0xff, 0xfe, 0x62])))
      yield* closedWith(peer, 1007)
      expectError(wsError(yield* result), "ProtocolError", 1007)
    }))

  it.scopedLive("a message over maxMessageSize: close 1009, messages fail with ProtocolError 1009", () =>
    Effect.gen(function*() {
      const { peer, result } = yield* violated({ maxMessageSize: 1024 })
      yield* peer.write(maskedFrame(0x2, noise(600), false))
      yield* peer.write(maskedFrame(0x0, noise(600), true))
      yield* closedWith(peer, 1009)
      expectError(wsError(yield* result), "ProtocolError", 1009)
    }))

  it.scopedLive("a violation in frames pipelined behind the request is answered with close 1002 after the 101", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => Stream.runDrain(ws.messages))
      const { server: listening } = yield* serve(server.handler)
      const extra = unmaskedFrame(0x1, utf8("too early, unmasked"))
      const peer = yield* halfOpenClient(listening.address.port, { extra })
      yield* closedWith(peer, 1002)
      expectError(wsError(yield* server.result), "ProtocolError", 1002)
    }))

  it.scopedLive("a masked frame from a server: our client sends close 1002 and fails with ProtocolError 1002", () =>
    Effect.gen(function*() {
      const raw = yield* answeringServer()
      const ws = yield* connect(`ws://127.0.0.1:${raw.port}/`)
      const peer = yield* raw.accepted
      // RFC 6455 §5.1: a client closes the connection on a masked frame.
      yield* peer.write(maskedFrame(0x1, utf8("masked")))
      expectError(yield* failure(Stream.runDrain(ws.messages), "the violation"), "ProtocolError", 1002)
      expectError(yield* failure(ws.closed, "closed"), "ProtocolError", 1002)
      const frame = yield* peer.frame(0)
      assert.strictEqual(frame.opcode, 0x8)
      assert.isTrue(frame.masked)
      assert.strictEqual(closeOf(frame).code, 1002)
    }))

  it.scopedLive("a message in the same TCP write as the 101 reaches the client's messages", () =>
    Effect.gen(function*() {
      const raw = yield* answeringServer({ extra: unmaskedFrame(0x1, utf8("welcome 😀")) })
      const ws = yield* connect(`ws://127.0.0.1:${raw.port}/`)
      assert.strictEqual(yield* next(ws), "welcome 😀")
    }))

  it.scopedLive("a masked frame in the 101's TCP write: ProtocolError 1002 too, and the client sends close 1002", () =>
    Effect.gen(function*() {
      const raw = yield* answeringServer({ extra: maskedFrame(0x1, utf8("masked")) })
      // The 101 is right: the violation is the connection's, whether connect or the messages report it.
      const outcome = yield* Effect.exit(
        Effect.flatMap(connect(`ws://127.0.0.1:${raw.port}/`), (ws) => Stream.runDrain(ws.messages)).pipe(
          within("the violation")
        )
      )
      expectError(wsError(outcome), "ProtocolError", 1002)
      const frame = yield* (yield* raw.accepted).frame(0)
      assert.strictEqual(frame.opcode, 0x8)
      assert.strictEqual(closeOf(frame).code, 1002)
    }))
})

describe("the opening handshake", () => {
  it.scopedLive("a request onRequest rejects fails with HandshakeRejected: status, headers and body", () =>
    Effect.gen(function*() {
      const { url } = yield* serve(echo, {}, {
        onRequest: (request) =>
          Effect.succeed(
            request.target === "/private"
              ? WebSocketServer.reject(401, { headers: [["www-authenticate", "Basic"]], body: "no" })
              : WebSocketServer.accept()
          )
      })
      const error = yield* failure(connect(url("/private")), "the rejection")
      expectError(error, "HandshakeRejected")
      const e = error as WebSocket.WebSocketError
      assert.strictEqual(e.status, 401)
      assert.deepStrictEqual(
        e.headers?.filter(([name]) => name.toLowerCase() === "www-authenticate").map(([, value]) => value),
        ["Basic"]
      )
      assert.strictEqual(new TextDecoder().decode(e.body), "no")
      // Another path is accepted.
      const ws = yield* connect(url("/public"))
      yield* ws.send("in")
      assert.strictEqual(yield* next(ws), "in")
    }))

  it.scopedLive("the subprotocol is the first the client offers that the server speaks, on both ends", () =>
    Effect.gen(function*() {
      const server = yield* handOver
      const { url } = yield* serve(server.handler, { subprotocols: ["b", "a"] })
      const ws = yield* connect(url(), { protocols: ["a", "b"] })
      assert.strictEqual(ws.protocol, "a")
      assert.strictEqual((yield* server.next).protocol, "a")
      const none = yield* connect(url(), { protocols: ["c"] })
      assert.isUndefined(none.protocol)
      assert.isUndefined((yield* server.next).protocol)
    }))

  it.scopedLive("the server sees the request's target and headers; the client sees the response's headers", () =>
    Effect.gen(function*() {
      const server = yield* handOver
      const { url } = yield* serve(server.handler, {}, {
        onRequest: () => Effect.succeed(WebSocketServer.accept({ headers: [["X-Server", "yes"]] }))
      })
      const ws = yield* connect(url("/chat?room=1"), { headers: [["X-Custom", "42"]] })
      const serverSide = yield* server.next
      const request = serverSide.request!
      assert.strictEqual(request.target, "/chat?room=1")
      assert.strictEqual(request.host, `127.0.0.1:${new URL(url()).port}`)
      assert.strictEqual(WebSocketServer.header(request, "x-custom"), "42")
      assert.isUndefined(serverSide.response)
      const response = ws.response!
      assert.deepStrictEqual(
        response.extraHeaders.filter(([name]) => name.toLowerCase() === "x-server").map(([, value]) => value),
        ["yes"]
      )
      assert.isUndefined(ws.request)
    }))

  it.scopedLive("allowedOrigins: another Origin gets 403, an allowed one or none opens (RFC 6455 §10.2)", () =>
    Effect.gen(function*() {
      const { url } = yield* serve(echo, { allowedOrigins: ["https://good.example"] })
      const error = yield* failure(connect(url(), { headers: [["Origin", "https://evil.example"]] }), "the 403")
      expectError(error, "HandshakeRejected")
      assert.strictEqual((error as WebSocket.WebSocketError).status, 403)
      const allowed = yield* connect(url(), { headers: [["Origin", "https://good.example"]] })
      yield* allowed.send("allowed")
      assert.strictEqual(yield* next(allowed), "allowed")
      const none = yield* connect(url())
      yield* none.send("no origin")
      assert.strictEqual(yield* next(none), "no origin")
    }))

  it.scopedLive("maxConnections: 2 turns a third client away with 503 while two are open, then lets it in", () =>
    Effect.gen(function*() {
      const { server, url } = yield* serve(echo, { maxConnections: 2 })
      const first = yield* connect(url())
      const secondScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      yield* Scope.extend(connect(url()), secondScope)
      const error = yield* failure(connect(url()), "the 503")
      expectError(error, "HandshakeRejected")
      assert.strictEqual((error as WebSocket.WebSocketError).status, 503)
      yield* Scope.close(secondScope, Exit.void)
      yield* eventually("the server to count one connection", Effect.map(server.connections, (n) => n === 1))
      const third = yield* connect(url())
      yield* third.send("third")
      assert.strictEqual(yield* next(third), "third")
      yield* first.send("first")
      assert.strictEqual(yield* next(first), "first")
    }))

  it.scopedLive("connecting to a port nobody listens on fails with reason Transport", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      expectError(yield* failure(connect(`ws://127.0.0.1:${port}/`), "the refusal"), "Transport")
    }))

  it.scopedLive("a URL that is not ws:// or wss://, or has a fragment, fails", () =>
    Effect.gen(function*() {
      for (const url of ["http://127.0.0.1:1/", "ws://127.0.0.1:1/#fragment", "ws://127.0.0.1:1/path#", "not a url"]) {
        const error = yield* failure(WebSocketClient.connect(url), url)
        expectError(error, "HandshakeFailed")
      }
    }))
})

describe("TLS", () => {
  it.scopedLive("our TLS server and our client with its CA: wss:// echoes", () =>
    Effect.gen(function*() {
      const { server } = yield* serve(echo, { tls: tlsFixture })
      const ws = yield* connect(`wss://localhost:${server.address.port}/`, { tls: { ca: tlsFixture.cert } })
      yield* ws.send("secure 😀")
      yield* ws.send(new Uint8Array([1, 2, 3]))
      const [text, bytes] = yield* take(ws, 2)
      assert.strictEqual(text, "secure 😀")
      assert.deepStrictEqual(Array.from(bytesOf(bytes!)), [1, 2, 3])
      // The certificate also names 127.0.0.1.
      const byAddress = yield* connect(`wss://127.0.0.1:${server.address.port}/`, { tls: { ca: tlsFixture.cert } })
      yield* byAddress.send("by address")
      assert.strictEqual(yield* next(byAddress), "by address")
    }))

  it.scopedLive("a client without the CA fails with reason Transport", () =>
    Effect.gen(function*() {
      const { server } = yield* serve(echo, { tls: tlsFixture })
      expectError(yield* failure(connect(`wss://localhost:${server.address.port}/`), "the TLS failure"), "Transport")
    }))
})

describe("attach to a node:http server", () => {
  /** An HTTP server on 127.0.0.1 with one route, WebSockets on /ws (attached in `attachScope`). */
  const httpServer = Effect.gen(function*() {
    const server = http.createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" })
      response.end("plain http")
    })
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => {
        server.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          server.closeAllConnections()
        })
    )
    return server
  })

  const httpWithWebSockets = Effect.gen(function*() {
    const server = yield* httpServer
    yield* WebSocketServer.attach(server, echo, { path: "/ws", closeTimeout: "500 millis" })
    return (server.address() as net.AddressInfo).port
  })

  const get = (port: number, target: string) =>
    Effect.async<{ readonly status: number; readonly body: string }, Error>((resume) => {
      const request = http.get({ host: "127.0.0.1", port, path: target, agent: false }, (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () => {
          resume(Effect.succeed({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
        })
      })
      request.on("error", (cause) => resume(Effect.fail(cause)))
      return Effect.sync(() => request.destroy())
    }).pipe(within(`GET ${target}`))

  it.scopedLive("HTTP routes keep working while upgrades on the path echo", () =>
    Effect.gen(function*() {
      const port = yield* httpWithWebSockets
      assert.deepStrictEqual(yield* get(port, "/"), { status: 200, body: "plain http" })
      const ws = yield* connect(`ws://127.0.0.1:${port}/ws?token=1`)
      yield* ws.send("over http")
      assert.strictEqual(yield* next(ws), "over http")
      assert.deepStrictEqual(yield* get(port, "/"), { status: 200, body: "plain http" })
    }))

  it.scopedLive("an upgrade the handshake refuses gets its HTTP answer at once (426 for version 12)", () =>
    Effect.gen(function*() {
      const port = yield* httpWithWebSockets
      const peer = yield* rawConnect(port)
      const request = new TextDecoder().decode(upgradeRequest(freshKey(), "/ws")).replace("Version: 13", "Version: 12")
      const started = Date.now()
      yield* peer.write(utf8(request))
      const head = yield* peer.takeHead(2_000)
      assert.strictEqual(statusOf(head), 426)
      assert.strictEqual(headerOf(head, "sec-websocket-version"), "13")
      yield* peer.awaitGone(2_000)
      assert.isBelow(Date.now() - started, 400, "answered and closed well before the close timeout")
    }))

  it.scopedLive("closing attach's scope sends 1001 to its connections; the HTTP server serves on", () =>
    Effect.gen(function*() {
      const server = yield* httpServer
      const port = (server.address() as net.AddressInfo).port
      const attached = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      yield* Scope.extend(WebSocketServer.attach(server, echo, { path: "/ws", closeTimeout: "500 millis" }), attached)
      const ws = yield* connect(`ws://127.0.0.1:${port}/ws`)
      yield* Scope.close(attached, Exit.void).pipe(within("attach's scope to close"))
      assert.strictEqual((yield* ws.closed.pipe(within("closed"))).code, 1001)
      assert.deepStrictEqual(yield* get(port, "/"), { status: 200, body: "plain http" })
    }))

  it.scopedLive("an upgrade on another path gets 404", () =>
    Effect.gen(function*() {
      const port = yield* httpWithWebSockets
      const error = yield* failure(connect(`ws://127.0.0.1:${port}/elsewhere`), "the 404")
      expectError(error, "HandshakeRejected")
      assert.strictEqual((error as WebSocket.WebSocketError).status, 404)
    }))

  it.scopedLive("frames sent right behind the request head (the 'upgrade' event's head) are not lost", () =>
    Effect.gen(function*() {
      const port = yield* httpWithWebSockets
      const peer = yield* halfOpenClient(port, { target: "/ws", extra: maskedFrame(0x1, utf8("early bird")) })
      const frame = yield* peer.frame(0)
      assert.strictEqual(frame.opcode, 0x1)
      assert.strictEqual(new TextDecoder().decode(frame.payload), "early bird")
      yield* peer.write(maskedClose(1000))
      yield* peer.frame(1)
    }))
})

describe("permessage-deflate", () => {
  const extensionNames = (ws: WebSocket.WebSocket) => ws.extensions.map((e) => e.name)

  it.scopedLive("is on by default on both ends", () =>
    Effect.gen(function*() {
      const server = yield* handOver
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      assert.deepStrictEqual(extensionNames(ws), ["permessage-deflate"])
      assert.deepStrictEqual(extensionNames(yield* server.next), ["permessage-deflate"])
      // The client offered client_max_window_bits (RFC 7692 §7.1.2.2); the server's default is 15.
      const agreed = (ws.extensions[0] as PerMessageDeflate.Negotiated).agreed
      assert.isTrue(agreed.clientMaxWindowBits >= 8 && agreed.clientMaxWindowBits <= 15)
      assert.isTrue(agreed.serverMaxWindowBits >= 8 && agreed.serverMaxWindowBits <= 15)
    }))

  it.scopedLive("is off when the server says deflate: false", () =>
    Effect.gen(function*() {
      const server = yield* handOver
      const { url } = yield* serve(server.handler, { deflate: false })
      const ws = yield* connect(url())
      assert.deepStrictEqual(extensionNames(ws), [])
      assert.deepStrictEqual(extensionNames(yield* server.next), [])
    }))

  it.scopedLive("is off when the client says deflate: false", () =>
    Effect.gen(function*() {
      const server = yield* handOver
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url(), { deflate: false })
      assert.deepStrictEqual(extensionNames(ws), [])
      assert.deepStrictEqual(extensionNames(yield* server.next), [])
    }))

  it.scopedLive("large compressible messages round-trip with it on", () =>
    Effect.gen(function*() {
      const limits = { maxMessageSize: 8 * MIB }
      const { url } = yield* serve(echo, limits)
      const ws = yield* connect(url(), limits)
      assert.deepStrictEqual(extensionNames(ws), ["permessage-deflate"])
      const record = (i: number) => JSON.stringify({ id: i, name: `user-${i % 100}`, ok: i % 3 === 0 })
      const text = Array.from({ length: 60_000 }, (_, i) => record(i)).join("\n")
      const bytes = utf8(text.slice(0, 2 * MIB))
      const [textBack, bytesBack] = yield* exchange(ws, [text, bytes], "the compressed echoes", "15 seconds")
      assert.isTrue(textBack === text)
      assert.strictEqual(digest(bytesOf(bytesBack!)), digest(bytes))
    }))
})

describe("other sockets", () => {
  it.scopedLive("a stock @effect/platform-node NodeSocket carries WebSocket.makeClient to our server", () =>
    Effect.gen(function*() {
      const { server } = yield* serve()
      const host = `127.0.0.1:${server.address.port}`
      const socket = yield* NodeSocket.makeNet({ host: "127.0.0.1", port: server.address.port })
      const request = new Events.Request({ host, target: "/" })
      const ws = yield* WebSocket.makeClient(socket, request, { closeTimeout: "500 millis" }).pipe(
        within("the handshake over NodeSocket")
      )
      yield* ws.send("stock socket")
      yield* ws.send(new Uint8Array([4, 5, 6]))
      const [text, bytes] = yield* take(ws, 2)
      assert.strictEqual(text, "stock socket")
      assert.deepStrictEqual(Array.from(bytesOf(bytes!)), [4, 5, 6])
      assert.deepStrictEqual(yield* ws.close().pipe(within("the closing handshake")), { code: 1000, reason: "" })
    }))
})

describe("WebSocket.run", () => {
  /** The echo server of the docs: every message sent back from the read step. */
  const runEcho: Handler = (ws) => ws.run(ws.send)

  /** A message as a comparable string: its kind, length and digest. */
  const shape = (message: WebSocket.Message) =>
    `${typeof message === "string" ? "text" : "bytes"} ${message.length} ${digest(message)}`

  /**
   * Writes `next()` to `socket` as fast as Node takes it while `more()` holds, waiting for 'drain'
   * whenever its buffer is full; `written` gets the size of each write that went through (the
   * approach of the backpressure tests of `WebSocket.limits.test.ts`).
   */
  const flood = (socket: net.Socket, more: () => boolean, next: () => Uint8Array, written: (size: number) => void) => {
    const step = () => {
      while (more()) {
        const bytes = next()
        const room = socket.write(bytes, (error) => {
          if (!error) written(bytes.length)
        })
        if (!room) return void socket.once("drain", step)
      }
    }
    step()
  }

  /** A masked text frame. */
  const text = (data: string) => maskedFrame(0x1, utf8(data))

  it.scopedLive("an echo server written server.run((ws) => ws.run(ws.send)) echoes text, binary, empty and 16 MiB messages", () =>
    Effect.gen(function*() {
      // Without deflate (pako would take seconds over 16 MiB of noise); the limit raised on both ends.
      const limits = { maxMessageSize: 32 * MIB, deflate: false }
      const { url } = yield* serve(runEcho, limits)
      const ws = yield* connect(url(), limits)
      const small = [
        "hello",
        "héllo wörld 😀 日本語",
        "",
        new Uint8Array(0),
        new Uint8Array([0, 1, 255]),
        noise(70_000)
      ]
      const echoed = yield* exchange(ws, small)
      assert.deepStrictEqual(echoed.map(shape), small.map(shape))
      assert.strictEqual(textOf(echoed[2]!), "")
      assert.strictEqual(bytesOf(echoed[3]!).length, 0)
      const unit = "héllo wörld 😀 日本語 "
      const large = [noise(16 * MIB), unit.repeat(Math.ceil((16 * MIB) / utf8(unit).length))]
      const [bytesBack, textBack] = yield* exchange(ws, large, "the 16 MiB echoes", "20 seconds")
      assert.strictEqual(shape(bytesOf(bytesBack!)), shape(large[0]!))
      assert.isTrue(textOf(textBack!) === large[1])
    }))

  it.scopedLive("an echo server written with run echoes 10,000 messages in order", () =>
    Effect.gen(function*() {
      const { url } = yield* serve(runEcho)
      const ws = yield* connect(url())
      const sent = Array.from({ length: 10_000 }, (_, i) => (i % 5 === 4 ? utf8(`b${i}`) : `t${i}`))
      const echoed = yield* exchange(ws, sent, "10,000 echoes", "15 seconds")
      assert.strictEqual(echoed.length, sent.length)
      const wrong = echoed.findIndex((m, i) => shape(m) !== shape(sent[i]!))
      assert.strictEqual(wrong, -1, `echo ${wrong} is ${String(echoed[wrong])}`)
    }))

  it.scopedLive("a handler that returns void sees every message, in order", () =>
    Effect.gen(function*() {
      const { seen, server } = yield* recording
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      const sent = Array.from({ length: 2_000 }, (_, i) => (i % 3 === 2 ? utf8(`b${i}`) : `t${i}`))
      for (const message of sent) yield* ws.send(message)
      yield* ws.close().pipe(within("the closing handshake"))
      success(yield* server.result)
      assert.deepStrictEqual(seen.map(shape), sent.map(shape))
    }))

  it.scopedLive("a handler whose Effect suspends sees every message exactly once, in order, one at a time", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      let suspended = false
      let calledWhileSuspended = 0
      const server = yield* outcome((ws) =>
        ws.run((message) => {
          if (suspended) calledWhileSuspended++
          const m = message as string
          if (Number(m.slice(1)) % 10 !== 0) {
            seen.push(m)
            return
          }
          // Every tenth message: a few milliseconds' sleep before it is recorded.
          suspended = true
          return Effect.sleep("3 millis").pipe(Effect.zipRight(Effect.sync(() => {
            suspended = false
            seen.push(m)
          })))
        })
      )
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      const sent = Array.from({ length: 300 }, (_, i) => `m${i}`)
      for (const message of sent) yield* ws.send(message)
      yield* ws.close().pipe(within("the closing handshake"))
      success(yield* server.result)
      assert.deepStrictEqual(seen, sent)
      assert.strictEqual(calledWhileSuspended, 0, "the handler was called while an Effect of it was suspended")
    }))

  it.scopedLive("while the handler's Effect is suspended the socket is not read: the peer stalls; all arrives after", () =>
    Effect.gen(function*() {
      const FRAME = 64 * 1024
      const gate = yield* Deferred.make<void>()
      const received = yield* Deferred.make<
        { readonly count: number; readonly inOrder: boolean; readonly digest: string }
      >()
      const hash = crypto.createHash("sha256")
      let count = 0
      let inOrder = true
      // The first message blocks the handler on the gate; the text message "end" reports.
      const { server } = yield* serve((ws) =>
        ws.run((message) => {
          if (typeof message === "string") {
            return Deferred.succeed(received, { count, inOrder, digest: hash.digest("hex") })
          }
          if (Buffer.from(message.buffer, message.byteOffset, 4).readUInt32BE(0) !== count) inOrder = false
          hash.update(message)
          count++
          return count === 1 ? Deferred.await(gate) : undefined
        })
      )
      const peer = yield* rawClient(server.address.port)
      peer.keepBytes = false
      // 64 KiB binary messages as fast as Node takes them, for a second.
      const block = crypto.randomBytes(FRAME)
      const sent = crypto.createHash("sha256")
      let issued = 0
      let completed = 0
      const deadline = performance.now() + 1_000
      flood(peer.socket, () => performance.now() < deadline, () => {
        block.writeUInt32BE(issued, 0)
        sent.update(block)
        issued++
        return maskedFrame(0x2, block)
      }, (size) => (completed += size))
      yield* Effect.sleep("700 millis")
      const at700 = completed
      yield* Effect.sleep("300 millis")
      // Stalled: nothing went through in the last 300 ms, and far less than a second of loopback.
      assert.isAbove(completed, FRAME, "the first message went through")
      assert.strictEqual(completed, at700, "the peer's writes stalled")
      assert.isBelow(completed, 16 * MIB, `the peer handed ${(completed / MIB).toFixed(1)} MiB to the kernel`)
      assert.strictEqual(count, 1, "the handler was called again while its Effect was suspended")
      // The handler is let go: every message the peer wrote arrives, in order, intact.
      yield* Deferred.succeed(gate, undefined)
      yield* peer.write(text("end"))
      const result = yield* awaitWithin(received, "every message", 10_000)
      assert.strictEqual(result.count, issued)
      assert.isTrue(result.inOrder, "the messages came in order")
      assert.strictEqual(result.digest, sent.digest("hex"))
    }))

  it.scopedLive("run succeeds when the peer closes cleanly; closed then gives the peer's close", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => Effect.zip(Effect.exit(ws.run(ws.send)), ws.closed))
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      yield* ws.send("before the close")
      assert.strictEqual(yield* next(ws), "before the close")
      // The server answered: the closing handshake is done.
      assert.deepStrictEqual(yield* ws.close(4001, "bye").pipe(within("the closing handshake")), {
        code: 4001,
        reason: "bye"
      })
      const [run, closed] = success(yield* server.result)
      success(run)
      assert.deepStrictEqual(closed, { code: 4001, reason: "bye" })
    }))

  it.scopedLive("run fails with Closed 1006 when the peer's TCP drops without a close", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => ws.run(ws.send))
      const { server: listening } = yield* serve(server.handler)
      const peer = yield* halfOpenClient(listening.address.port)
      yield* peer.write(text("before the drop"))
      assert.strictEqual(new TextDecoder().decode((yield* peer.frame(0)).payload), "before the drop")
      yield* peer.destroy()
      expectError(wsError(yield* server.result), "Closed", 1006)
    }))

  it.scopedLive("the end waits for a suspended handler: the messages before it are handled, then run fails", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const server = yield* outcome((ws) =>
        ws.run((message) => {
          seen.push(message as string)
          return message === "slow" ? Effect.sleep("100 millis") : undefined
        })
      )
      const { server: listening } = yield* serve(server.handler)
      const peer = yield* halfOpenClient(listening.address.port)
      yield* peer.write(concatAll([text("slow"), text("behind 1"), text("behind 2")]))
      yield* peer.destroy()
      expectError(wsError(yield* server.result), "Closed", 1006)
      assert.deepStrictEqual(seen, ["slow", "behind 1", "behind 2"])
    }))

  it.scopedLive("run fails with ProtocolError 1002 on a violation, and the peer gets close 1002", () =>
    Effect.gen(function*() {
      const server = yield* outcome((ws) => ws.run(ws.send))
      const { server: listening } = yield* serve(server.handler)
      const peer = yield* halfOpenClient(listening.address.port)
      yield* peer.write(text("fine"))
      assert.strictEqual((yield* peer.frame(0)).opcode, 0x1)
      yield* peer.write(unmaskedFrame(0x1, utf8("not masked")))
      expectError(wsError(yield* server.result), "ProtocolError", 1002)
      const close = yield* peer.frame(1)
      assert.strictEqual(close.opcode, 0x8)
      assert.strictEqual(closeOf(close).code, 1002)
      yield* peer.awaitEnd("the server's FIN")
    }))

  it.scopedLive("the handler's failure fails run with that error, no message after it is handled, the client gets 1011", () =>
    Effect.gen(function*() {
      const boom = new Error("boom")
      const runs = yield* Queue.unbounded<Exit.Exit<void, unknown>>()
      const calls: Array<string> = []
      const server = yield* WebSocketServer.make({ host: "127.0.0.1", port: 0, closeTimeout: "500 millis" })
      // The handler fails at once on "bad", or after a sleep on "bad later".
      const handler = (ws: WebSocket.WebSocket) =>
        ws.run((message) => {
          calls.push(message as string)
          if (message === "bad") return Effect.fail(boom)
          if (message === "bad later") return Effect.zipRight(Effect.sleep("20 millis"), Effect.fail(boom))
          return ws.send(message)
        }).pipe(Effect.onExit((exit) => Queue.offer(runs, exit)))
      // The server logs the failure; not in the test's output.
      yield* Effect.forkScoped(Logger.withMinimumLogLevel(server.run(handler), LogLevel.None))
      for (const bad of ["bad", "bad later"]) {
        calls.length = 0
        const peer = yield* halfOpenClient(server.address.port)
        // One TCP write: the message behind the failing one is in the same read step.
        yield* peer.write(concatAll([text("ok"), text(bad), text("after")]))
        const exit = yield* Queue.take(runs).pipe(within("run to end"))
        assert.isTrue(Exit.isFailure(exit))
        assert.strictEqual(
          Cause.failureOption((exit as Exit.Failure<void, unknown>).cause).pipe(Option.getOrUndefined),
          boom
        )
        // The client sees the echo of "ok", then the close 1011 (not the echo of "after").
        const close = yield* peer.frame(1)
        assert.deepStrictEqual(calls, ["ok", bad], `${bad}: the handler's calls`)
        assert.strictEqual(new TextDecoder().decode(peer.frames[0]!.payload), "ok")
        assert.strictEqual(close.opcode, 0x8, `${bad}: the second frame is the close`)
        assert.strictEqual(closeOf(close).code, 1011)
        yield* peer.write(maskedClose(1000))
      }
    }))

  it.scopedLive("messages that arrived before run was called are handled first, in order, then the later ones", () =>
    Effect.gen(function*() {
      const { url } = yield* serve((ws) => Effect.zipRight(Effect.sleep("100 millis"), ws.run(ws.send)))
      const ws = yield* connect(url())
      // More than the read high-water mark (64 KiB) arrives before run: reading pauses, run resumes it.
      const early = [...Array.from({ length: 8 }, () => noise(16 * 1024)), "early text", new Uint8Array(0)]
      for (const message of early) yield* ws.send(message)
      // run was called 100 ms after the server's handler started.
      yield* Effect.sleep("250 millis")
      const late = ["late 1", noise(100), "late 3"]
      for (const message of late) yield* ws.send(message)
      const echoed = yield* take(ws, early.length + late.length)
      assert.deepStrictEqual(echoed.map(shape), [...early, ...late].map(shape))
    }))

  it.scopedLive("messages queued before run, and the peer's close behind them, are all handled before run succeeds", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const server = yield* outcome((ws) =>
        Effect.zipRight(
          Effect.sleep("150 millis"),
          Effect.zip(
            // A handler that only returns void gives nothing to infer E and R from.
            Effect.exit(ws.run<void, never, never>((message) => {
              seen.push(message as string)
            })),
            ws.closed
          )
        )
      )
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      for (const message of ["a", "b", "c"]) yield* ws.send(message)
      // The server's driver answers the close while its handler still sleeps.
      assert.deepStrictEqual(yield* ws.close(4002).pipe(within("the closing handshake")), { code: 4002, reason: "" })
      const [run, closed] = success(yield* server.result)
      success(run)
      assert.deepStrictEqual(closed, { code: 4002, reason: "" })
      assert.deepStrictEqual(seen, ["a", "b", "c"])
    }))

  it.scopedLive("a message the peer sends in fragments (sendFragment) reaches the handler whole", () =>
    Effect.gen(function*() {
      const { seen, server } = yield* recording
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      const pause = Effect.sleep("10 millis")
      for (const piece of ["hé", "llo ", ""]) yield* Effect.zipRight(ws.sendFragment(piece, false), pause)
      yield* ws.sendFragment("😀", true)
      const pieces = [noise(100_000), noise(1), noise(100_000)]
      for (const piece of pieces.slice(0, -1)) yield* Effect.zipRight(ws.sendFragment(piece, false), pause)
      yield* ws.sendFragment(pieces[2]!, true)
      yield* ws.send("whole")
      yield* ws.close().pipe(within("the closing handshake"))
      success(yield* server.result)
      assert.deepStrictEqual(seen.map(shape), ["héllo 😀", concatAll(pieces), "whole"].map(shape))
    }))

  it.scopedLive("interrupting run stops the handler (a suspended Effect of it too); the connection then closes", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const hungInterrupted = yield* Deferred.make<void>()
      const stopped = yield* Deferred.make<Option.Option<void>>()
      const release = yield* Deferred.make<void>()
      const { url } = yield* serve((ws) =>
        Effect.gen(function*() {
          const result = yield* ws.run((message) => {
            calls.push(message as string)
            if (message === "hang") {
              return Effect.onInterrupt(Effect.never, () => Deferred.succeed(hungInterrupted, undefined))
            }
            return ws.send(message)
          }).pipe(Effect.timeoutOption("300 millis"))
          yield* Deferred.succeed(stopped, result)
          yield* Deferred.await(release).pipe(Effect.timeout("5 seconds"), Effect.ignore)
        })
      )
      const ws = yield* connect(url())
      yield* ws.send("a")
      assert.strictEqual(yield* next(ws), "a")
      yield* ws.send("hang")
      assert.isTrue(Option.isNone(yield* awaitWithin(stopped, "run to be interrupted")))
      yield* awaitWithin(hungInterrupted, "the suspended Effect to be interrupted")
      // The connection is still open; what comes now reaches no handler.
      yield* ws.send("b")
      yield* ws.send("c")
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(calls, ["a", "hang"])
      // The server's handler returns: its connection's scope closes it with 1000.
      yield* Deferred.succeed(release, undefined)
      assert.deepStrictEqual(yield* ws.closed.pipe(within("closed")), { code: 1000, reason: "" })
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(ws.messages).pipe(within("the end of the messages"))), 0)
      assert.deepStrictEqual(calls, ["a", "hang"])
    }))

  it.scopedLive("closing the server's scope interrupts a running run: the client gets 1001", () =>
    Effect.gen(function*() {
      const interrupted = yield* Deferred.make<void>()
      const serverScope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const { url } = yield* Scope.extend(
        serve((ws) => Effect.onInterrupt(ws.run(ws.send), () => Deferred.succeed(interrupted, undefined))),
        serverScope
      )
      const ws = yield* connect(url())
      yield* ws.send("echoed")
      assert.strictEqual(yield* next(ws), "echoed")
      yield* Scope.close(serverScope, Exit.void).pipe(within("the server's scope to close"))
      yield* awaitWithin(interrupted, "run to be interrupted")
      assert.strictEqual((yield* ws.closed.pipe(within("closed"))).code, 1001)
    }))

  it.scopedLive("calling run while it runs is a defect, and the first run goes on", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const second = yield* Deferred.make<Exit.Exit<void, unknown>>()
      const server = yield* outcome((ws) =>
        Effect.gen(function*() {
          const first = yield* Effect.fork(ws.run<void, never, never>((message) => {
            seen.push(message as string)
          }))
          yield* Effect.sleep("20 millis")
          yield* Deferred.succeed(second, yield* Effect.exit(ws.run<void, never, never>(() => {})))
          return yield* Fiber.await(first).pipe(Effect.timeoutOption("1 second"))
        })
      )
      const { url } = yield* serve(server.handler)
      const ws = yield* connect(url())
      const exit = yield* awaitWithin(second, "the second run")
      assert.isTrue(Exit.isFailure(exit) && Cause.isDie(exit.cause), `expected a defect, got ${String(exit)}`)
      yield* ws.send("to the first run")
      yield* ws.close().pipe(within("the closing handshake"))
      const first = success(yield* server.result)
      assert.deepStrictEqual(seen, ["to the first run"], "the messages after the defect reach the first run's handler")
      assert.isTrue(Option.isSome(first), "the first run ends when the connection does")
      success(Option.getOrThrow(first))
    }))
})

describe("edges a review found", () => {
  it.scopedLive("a client whose server resets TCP during the handshake fails at once with Transport", () =>
    Effect.gen(function*() {
      const raw = yield* rawServer()
      yield* Effect.forkScoped(
        Effect.flatMap(raw.accepted, (peer) =>
          Effect.zipRight(
            peer.takeHead(),
            Effect.sync(() => peer.socket.resetAndDestroy())
          ))
      )
      const started = Date.now()
      const error = yield* failure(
        Effect.scoped(WebSocketClient.connect(`ws://127.0.0.1:${raw.port}/`, { handshakeTimeout: Infinity })),
        "the client's failure"
      )
      assert.strictEqual(error.reason, "Transport")
      assert.isBelow(Date.now() - started, 2_000)
    }))

  it.scopedLive("a connection reset before the server runs its handler does not bring the process down", () =>
    Effect.gen(function*() {
      const server = yield* WebSocketServer.make({ host: "127.0.0.1", port: 0 })
      const early = yield* rawConnect(server.address.port)
      early.socket.resetAndDestroy()
      yield* Effect.sleep("100 millis")
      yield* Effect.forkScoped(server.run(echo))
      const ws = yield* connect(`ws://127.0.0.1:${server.address.port}/`)
      assert.deepStrictEqual(yield* exchange(ws, ["still serving"], "an echo"), ["still serving"])
    }))

  it.scopedLive("messages a stream cut short did not emit stay for the next reader", () =>
    Effect.gen(function*() {
      const { url } = yield* serve((ws) => Effect.zipRight(Effect.forEach(["a", "b", "c"], ws.send), Effect.never))
      const ws = yield* connect(url())
      assert.strictEqual(yield* next(ws), "a")
      assert.strictEqual(yield* next(ws), "b")
      assert.deepStrictEqual(Chunk.toArray(yield* Stream.runCollect(Stream.take(ws.messages, 1)).pipe(within("c"))), [
        "c"
      ])
    }))

  it.scopedLive("after run is interrupted, messages gives what run had not handled, a half-received message whole", () =>
    Effect.gen(function*() {
      const handled: Array<WebSocket.Message> = []
      const { url } = yield* serve((ws) =>
        Effect.gen(function*() {
          // The first message suspends the handler; the rest wait behind it; run is then given up.
          yield* ws.run((message) => {
            handled.push(message)
            return Effect.never
          }).pipe(Effect.timeoutOption("300 millis"))
          const rest = yield* Stream.runCollect(Stream.take(ws.messages, 3)).pipe(within("the rest"))
          yield* Effect.forEach(rest, ws.send)
        })
      )
      const ws = yield* connect(url())
      yield* ws.send("1")
      yield* ws.send("2")
      yield* ws.send("3")
      yield* ws.sendFragment("hel", false)
      yield* Effect.sleep("400 millis")
      yield* ws.sendFragment("lo", true)
      assert.deepStrictEqual(yield* take(ws, 3, "the rest, echoed"), ["2", "3", "hello"])
      assert.deepStrictEqual(handled, ["1"])
    }))

  it.scopedLive("closing a TLS server's scope ends a TCP client that never started TLS", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
      const server = yield* Scope.extend(
        WebSocketServer.make({ host: "127.0.0.1", port: 0, tls: { key: tlsFixture.key, cert: tlsFixture.cert } }),
        scope
      )
      const idle = yield* rawConnect(server.address.port)
      yield* Effect.sleep("100 millis")
      yield* Scope.close(scope, Exit.void).pipe(within("the server's scope to close", "2 seconds"))
      yield* idle.awaitGone(2_000)
    }))
})
