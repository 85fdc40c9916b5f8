/**
 * The driver's timeouts and bounds, each crossed over 127.0.0.1 by a raw `node:net` peer that
 * misbehaves exactly (`rawPeer.ts`): every one ends within its bound with the right error, and
 * leaves no fiber or socket behind.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as Crypto from "node:crypto"
import * as Net from "node:net"
import { Opcode } from "../src/Frame.js"
import type { CloseInfo, Message, WebSocket } from "../src/WebSocket.js"
import * as WebSocketClient from "../src/WebSocketClient.js"
import type { WebSocketError } from "../src/WebSocketError.js"
import * as WebSocketServer from "../src/WebSocketServer.js"
import { latin1, latin1Text, rawFrame, utf8 } from "./helpers.js"
import {
  acceptHandshake,
  awaitWithin,
  closeOf,
  eventually,
  freshKey,
  maskedClose,
  maskedFrame,
  memoryInUse,
  rawClient,
  rawConnect,
  type RawPeer,
  rawServer,
  statusOf,
  tcpSockets,
  upgradeRequest
} from "./rawPeer.js"

const KiB = 1024
const MiB = 1024 * KiB

/** A listening server on an ephemeral port of 127.0.0.1 serving `handler`; all ends with the scope. */
const serve = <E>(
  options: WebSocketServer.ListenOptions,
  handler: (ws: WebSocket) => Effect.Effect<void, E>,
  handlers: WebSocketServer.Handlers<never> = {}
): Effect.Effect<WebSocketServer.WebSocketServer, WebSocketServer.WebSocketServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const server = yield* WebSocketServer.make({ host: "127.0.0.1", port: 0, deflate: false, ...options })
    yield* Effect.forkScoped(server.run(handler, handlers))
    return server
  })

const urlOf = (port: number, target = "/") => `ws://127.0.0.1:${port}${target}`

const echo = (ws: WebSocket) => Stream.runForEach(ws.messages, ws.send)

/** The error of a failed exit; throws (failing the test) on success or a defect. */
const failureOf = <A>(exit: Exit.Exit<A, WebSocketError>): WebSocketError => {
  if (Exit.isSuccess(exit)) throw new Error(`expected a failure, got ${JSON.stringify(exit.value)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) throw new Error(`expected a failure, got ${Cause.pretty(exit.cause)}`)
  return failure.value
}

/** `ws.messages` pulled into a queue by a fiber of the scope; `next` takes one, at most 5 s. */
const receiver = (ws: WebSocket) =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Message>()
    yield* Effect.forkScoped(Stream.runForEach(ws.messages, (message) => Queue.offer(queue, message)))
    return {
      next: Effect.timeoutFail(Queue.take(queue), {
        duration: "5 seconds",
        onTimeout: () => new Error("no message in 5 seconds")
      })
    }
  })

/** Asserts `elapsed` (ms) lies in the loose window of a 300 ms timeout on a shared machine. */
const assertAboutTimeout = (elapsed: number, what: string) => {
  assert.isAtLeast(elapsed, 250, `${what} ended too early: ${elapsed.toFixed(0)} ms`)
  assert.isBelow(elapsed, 3_000, `${what} ended too late: ${elapsed.toFixed(0)} ms`)
}

/** A masked frame header declaring `length` bytes with the 8-byte length form (RFC 6455 §5.2), mask key included. */
const header64 = (b0: number, high: number, low: number): Uint8Array => {
  const bytes = new Uint8Array(14)
  bytes[0] = b0
  bytes[1] = 0x80 | 127
  const view = new DataView(bytes.buffer)
  view.setUint32(2, high)
  view.setUint32(6, low)
  bytes.set(Crypto.randomBytes(4), 10)
  return bytes
}

/** A masked frame header declaring `length` bytes (< 2^32), mask key included, without its payload. */
const headerOnly = (b0: number, length: number): Uint8Array => {
  if (length < 126) return Uint8Array.of(b0, 0x80 | length, ...Crypto.randomBytes(4))
  if (length < 0x10000) return Uint8Array.of(b0, 0x80 | 126, length >>> 8, length & 0xff, ...Crypto.randomBytes(4))
  return header64(b0, 0, length)
}

/** A raw client of `port` that never reads: its socket paused, its bytes not kept (they would count as memory). */
const nonReader = (port: number) =>
  Effect.map(rawClient(port), (peer) => {
    peer.socket.pause()
    peer.keepBytes = false
    return peer
  })

/**
 * Writes `next()` to `socket` as fast as Node takes it while `more()` holds, waiting for 'drain'
 * whenever its buffer is full; `written` runs in the callback of each write that went through.
 */
const pump = (
  socket: Net.Socket,
  more: () => boolean,
  next: () => Uint8Array,
  written: (bytes: Uint8Array) => void
) => {
  const step = () => {
    while (more()) {
      const bytes = next()
      const room = socket.write(bytes, (error) => {
        if (!error) written(bytes)
      })
      if (!room) return void socket.once("drain", step)
    }
  }
  step()
}

// ---------------------------------------------------------------------------------------------

describe("close timeout", () => {
  it.scopedLive(
    "the server's close() fails with CloseTimeout when the client never answers, and the server then ends TCP",
    () =>
      Effect.gen(function*() {
        const result = yield* Deferred.make<{ exit: Exit.Exit<CloseInfo, WebSocketError>; elapsed: number }>()
        const server = yield* serve({ closeTimeout: "300 millis" }, (ws) =>
          Effect.gen(function*() {
            const started = performance.now()
            const exit = yield* Effect.exit(ws.close())
            yield* Deferred.succeed(result, { exit, elapsed: performance.now() - started })
          }))
        const peer = yield* rawClient(server.address.port)
        // RFC 6455 §5.5.1: the server's close frame, code 1000, unmasked.
        const close = yield* peer.frame(0)
        const closeSeenAt = performance.now()
        assert.strictEqual(close.opcode, Opcode.CLOSE)
        assert.isFalse(close.masked)
        assert.deepStrictEqual(closeOf(close), { code: 1000, reason: "" })
        // The raw client stays silent: no close frame back.
        const { elapsed, exit } = yield* awaitWithin(result, "the server's close()")
        const error = failureOf(exit)
        assert.strictEqual(error.reason, "CloseTimeout")
        assertAboutTimeout(elapsed, "close()")
        const goneAt = yield* peer.awaitGone(3_000)
        // The server cuts TCP when the timeout runs out, not before.
        assertAboutTimeout(goneAt - closeSeenAt, "the server's TCP connection")
        assert.strictEqual(peer.frames.length, 1, "nothing but the close frame")
      }),
    15_000
  )

  it.scopedLive(
    "the client's close() fails with CloseTimeout when the server never answers, and the client then ends TCP",
    () =>
      Effect.gen(function*() {
        const raw = yield* rawServer()
        const connecting = yield* Effect.fork(
          WebSocketClient.connect(urlOf(raw.port), { closeTimeout: "300 millis", deflate: false })
        )
        const peer = yield* raw.accepted
        yield* acceptHandshake(peer)
        const ws = yield* Fiber.join(connecting)
        const started = performance.now()
        const exit = yield* Effect.exit(ws.close()).pipe(Effect.timeout("5 seconds"))
        const elapsed = performance.now() - started
        const error = failureOf(exit)
        assert.strictEqual(error.reason, "CloseTimeout")
        assertAboutTimeout(elapsed, "close()")
        // The client's close frame came, masked (RFC 6455 §5.3), with 1000.
        const close = yield* peer.frameOf(Opcode.CLOSE)
        assert.isTrue(close.masked)
        assert.deepStrictEqual(closeOf(close), { code: 1000, reason: "" })
        // The client cuts TCP when the timeout runs out, not before.
        const goneAt = yield* peer.awaitGone(3_000)
        assertAboutTimeout(goneAt - started, "the client's TCP connection")
      }),
    15_000
  )
})

describe("handshake timeout", () => {
  it.scopedLive(
    "a silent client and one dripping a byte per 100 ms are cut off, while a well-behaved one is served",
    () =>
      Effect.gen(function*() {
        const server = yield* serve({ handshakeTimeout: "300 millis" }, echo)
        const port = server.address.port
        const silent = yield* rawConnect(port)
        const silentAt = performance.now()
        const drip = yield* rawConnect(port)
        const dripAt = performance.now()
        const request = upgradeRequest(freshKey())
        let dripped = 0
        yield* Effect.forkScoped(Effect.gen(function*() {
          while (dripped < request.length && !drip.gone) {
            drip.writeNow(request.subarray(dripped, dripped + 1))
            dripped++
            yield* Effect.sleep("100 millis")
          }
        }))
        // Meanwhile a well-behaved client connects and is echoed, before and after the cut-offs.
        const ws = yield* WebSocketClient.connect(urlOf(port), { deflate: false })
        const { next } = yield* receiver(ws)
        for (let i = 0; i < 6; i++) {
          yield* ws.send(`message ${i}`)
          assert.strictEqual(yield* next, `message ${i}`)
          yield* Effect.sleep("100 millis")
        }
        const silentGone = yield* silent.awaitGone(3_000)
        const dripGone = yield* drip.awaitGone(3_000)
        assertAboutTimeout(silentGone - silentAt, "the silent client's connection")
        assertAboutTimeout(dripGone - dripAt, "the dripping client's connection")
        assert.isBelow(dripped, request.length, "the dripping client was cut off before its request was complete")
        for (const peer of [silent, drip]) {
          assert.notInclude(latin1Text(peer.received()), "101", "no handshake was accepted")
        }
        // The well-behaved client is still served after the cut-offs.
        yield* ws.send("after")
        assert.strictEqual(yield* next, "after")
      }),
    15_000
  )

  it.scopedLive(
    "the client fails with HandshakeTimeout against a server that never answers, and closes its socket",
    () =>
      Effect.gen(function*() {
        const raw = yield* rawServer()
        const started = performance.now()
        const exit = yield* Effect.exit(
          WebSocketClient.connect(urlOf(raw.port), { handshakeTimeout: "300 millis", deflate: false })
        ).pipe(Effect.timeout("5 seconds"))
        const elapsed = performance.now() - started
        assert.strictEqual(failureOf(exit).reason, "HandshakeTimeout")
        assertAboutTimeout(elapsed, "connect")
        const peer = yield* raw.accepted
        // The request came, and nothing was answered.
        const head = yield* peer.takeHead()
        assert.match(head, /^GET \/ HTTP\/1\.1\r\n/)
        // Nothing left behind: the failed connect's socket is closed, not kept until the scope ends.
        const goneAt = yield* peer.awaitGone(2_000)
        assert.isBelow(goneAt - started, 3_000)
      }),
    15_000
  )
})

describe("keepalive", () => {
  it.scopedLive(
    "a client that never answers pings gets a ping, a close with 1011, the end of TCP; closed fails with PongTimeout",
    () =>
      Effect.gen(function*() {
        const closed = yield* Deferred.make<Exit.Exit<CloseInfo, WebSocketError>>()
        const server = yield* serve(
          { pingInterval: "100 millis", pongTimeout: "200 millis" },
          (ws) => Effect.flatMap(Effect.exit(ws.closed), (exit) => Deferred.succeed(closed, exit))
        )
        const peer = yield* rawClient(server.address.port)
        const openedAt = performance.now()
        const ping = yield* peer.frame(0, 3_000)
        const close = yield* peer.frame(1, 3_000)
        const closeAt = performance.now()
        yield* peer.awaitGone(3_000)
        // RFC 6455 §5.5.2: a ping, unmasked, FIN set; then §5.5.1 a close with 1011 (0x03F3).
        assert.strictEqual(ping.opcode, Opcode.PING)
        assert.strictEqual(close.opcode, Opcode.CLOSE)
        const reason = closeOf(close).reason
        assert.isAbove(reason.length, 0)
        const expected = Buffer.concat([
          Buffer.from([0x89, ping.payload.length]),
          Buffer.from(ping.payload),
          Buffer.from([0x88, 2 + utf8(reason).length, 0x03, 0xf3]),
          Buffer.from(utf8(reason))
        ])
        assert.strictEqual(peer.bytesAfterHead().toString("hex"), expected.toString("hex"))
        // pingInterval + pongTimeout = 300 ms.
        assertAboutTimeout(closeAt - openedAt, "the keepalive")
        const exit = yield* awaitWithin(closed, "the handler's closed")
        assert.strictEqual(failureOf(exit).reason, "PongTimeout")
      }),
    15_000
  )

  it.scopedLive(
    "a client that answers pings stays connected across several ping intervals",
    () =>
      Effect.gen(function*() {
        const serverClosed = yield* Deferred.make<Exit.Exit<CloseInfo, WebSocketError>>()
        const server = yield* serve({ pingInterval: "100 millis", pongTimeout: "200 millis" }, (ws) =>
          Effect.gen(function*() {
            yield* Effect.forkScoped(
              Effect.flatMap(Effect.exit(ws.closed), (exit) =>
                Deferred.succeed(serverClosed, exit))
            )
            yield* echo(ws)
          }).pipe(Effect.scoped))
        const port = server.address.port
        // Our own client answers the pings.
        const ws = yield* WebSocketClient.connect(urlOf(port), { deflate: false })
        const { next } = yield* receiver(ws)
        // A raw client that answers each ping with its pong (RFC 6455 §5.5.3), counting them.
        const peer = yield* rawClient(port)
        let pongs = 0
        yield* Effect.forkScoped(Effect.gen(function*() {
          for (let i = 0;; i++) {
            const frame = yield* peer.frame(i, 10_000)
            if (frame.opcode === Opcode.PING) {
              yield* peer.write(maskedFrame(Opcode.PONG, frame.payload))
              pongs++
            }
          }
        }))
        yield* Effect.sleep("800 millis")
        assert.isFalse(yield* Deferred.isDone(serverClosed), "the server's side of our client is still open")
        yield* ws.send("still here")
        assert.strictEqual(yield* next, "still here")
        assert.isAtLeast(pongs, 3, "several pings were answered")
        assert.isTrue(
          peer.frames.every((frame) =>
            frame.opcode === Opcode.PING
          ),
          "the raw client got pings only"
        )
        assert.isFalse(peer.gone)
      }),
    15_000
  )

  it.scopedLive(
    "with pingInterval Infinity no ping is sent",
    () =>
      Effect.gen(function*() {
        const server = yield* serve({ pingInterval: Infinity, pongTimeout: "100 millis" }, () => Effect.never)
        const peer = yield* rawClient(server.address.port)
        yield* Effect.sleep("500 millis")
        assert.strictEqual(peer.bytesAfterHead().length, 0)
        assert.isFalse(peer.gone)
      }),
    15_000
  )
})

describe("backpressure", () => {
  it.scopedLive(
    "a handler that stops pulling stalls the peer at a bounded amount; once it pulls, everything arrives intact",
    () =>
      Effect.gen(function*() {
        const FRAME = 64 * KiB
        const ATTEMPT = 256 * MiB
        const pull = yield* Deferred.make<void>()
        const received = yield* Deferred.make<{ bytes: number; messages: number; digest: string }>()
        const server = yield* serve({}, (ws) =>
          Effect.gen(function*() {
            yield* Deferred.await(pull)
            const hash = Crypto.createHash("sha256")
            let bytes = 0
            let messages = 0
            yield* ws.messages.pipe(
              Stream.takeWhile((message) => typeof message !== "string"),
              Stream.runForEach((message) =>
                Effect.sync(() => {
                  hash.update(message as Uint8Array)
                  bytes += message.length
                  messages++
                })
              )
            )
            yield* Deferred.succeed(received, { bytes, messages, digest: hash.digest("hex") })
          }))
        const peer = yield* rawClient(server.address.port)
        const before = memoryInUse()
        // The client writes 64 KiB binary messages as fast as Node lets it, for a second.
        const block = Crypto.randomBytes(FRAME)
        const sent = Crypto.createHash("sha256")
        let issued = 0
        let completed = 0
        const deadline = performance.now() + 1_000
        const completedAt: Array<number> = []
        pump(peer.socket, () => performance.now() < deadline && issued * FRAME < ATTEMPT, () => {
          block.writeUInt32BE(issued, 0)
          sent.update(block)
          issued++
          return maskedFrame(Opcode.BINARY, block)
        }, (frame) => (completed += frame.length))
        yield* Effect.sleep("700 millis")
        completedAt.push(completed)
        yield* Effect.sleep("300 millis")
        completedAt.push(completed)
        const grown = memoryInUse() - before
        // Stalled: nothing moved in the last 300 ms, far less than attempted got through (a reader
        // without backpressure takes all of it), and the server holds no more than a bound.
        assert.isAbove(completed, 2 * 64 * KiB, "the writes went through until the read buffer was full")
        assert.strictEqual(completedAt[0], completedAt[1], "the writes stalled")
        assert.isBelow(completed, 16 * MiB, `the client handed ${(completed / MiB).toFixed(1)} MiB to the kernel`)
        assert.isBelow(issued * FRAME, ATTEMPT)
        assert.isBelow(grown, 8 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`)
        // The handler pulls: every message the client wrote arrives, in order, intact.
        yield* Deferred.succeed(pull, undefined)
        yield* peer.write(maskedFrame(Opcode.TEXT, utf8("end")))
        const result = yield* awaitWithin(received, "every message", 10_000)
        assert.strictEqual(result.messages, issued)
        assert.strictEqual(result.bytes, issued * FRAME)
        assert.strictEqual(result.digest, sent.digest("hex"))
      }),
    20_000
  )

  it.scopedLive(
    "send suspends against a peer that never reads, bufferedAmount stays bounded, and reading resumes it",
    () =>
      Effect.gen(function*() {
        const MESSAGE = 64 * KiB
        const HIGH_WATER = 64 * KiB
        const stats = { attempted: 0, sent: 0, maxBuffered: 0 }
        const stop = yield* Deferred.make<void>()
        const finished = yield* Deferred.make<Exit.Exit<void, WebSocketError>>()
        const opened = yield* Deferred.make<WebSocket>()
        const payload = Crypto.randomBytes(MESSAGE)
        const server = yield* serve({ writeHighWaterMark: HIGH_WATER }, (ws) =>
          Effect.gen(function*() {
            yield* Deferred.succeed(opened, ws)
            while (!(yield* Deferred.isDone(stop))) {
              stats.attempted++
              yield* ws.send(payload)
              stats.sent++
              stats.maxBuffered = Math.max(stats.maxBuffered, yield* ws.bufferedAmount)
            }
            yield* ws.send("done")
          }).pipe(Effect.exit, Effect.flatMap((exit) => Deferred.succeed(finished, exit))))
        const peer = yield* nonReader(server.address.port)
        const ws = yield* awaitWithin(opened, "the connection")
        const before = memoryInUse()
        // Sample bufferedAmount from outside too, while the handler sends.
        const sampler = yield* Effect.forkScoped(Effect.forever(
          Effect.zipRight(
            Effect.map(ws.bufferedAmount, (n) => (stats.maxBuffered = Math.max(stats.maxBuffered, n))),
            Effect.sleep("5 millis")
          )
        ))
        yield* Effect.sleep("700 millis")
        const sentAt700 = stats.sent
        yield* Effect.sleep("300 millis")
        const grown = memoryInUse() - before
        yield* Fiber.interrupt(sampler)
        assert.strictEqual(stats.sent, sentAt700, "send stalled")
        assert.strictEqual(stats.attempted, stats.sent + 1, "one send is suspended")
        assert.isBelow(stats.sent * MESSAGE, 16 * MiB, `${stats.sent} sends completed`)
        // At most the high-water mark plus the one message (and its 10-byte header) is queued.
        assert.isAtMost(stats.maxBuffered, HIGH_WATER + MESSAGE + 10)
        assert.isAtLeast(stats.maxBuffered, HIGH_WATER, "the queue did fill")
        assert.isBelow(grown, 8 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`)
        // The peer reads: the suspended send completes, every message arrives.
        yield* Deferred.succeed(stop, undefined)
        peer.socket.resume()
        const exit = yield* awaitWithin(finished, "the handler", 10_000)
        assert.isTrue(Exit.isSuccess(exit))
        const done = yield* peer.until("the last message", () => {
          const index = peer.frames.findIndex((frame) => frame.opcode === Opcode.TEXT)
          return index < 0 ? undefined : index
        }, 10_000)
        const binary = peer.frames.slice(0, done)
        assert.strictEqual(binary.length, stats.sent)
        assert.isTrue(binary.every((frame) => frame.opcode === Opcode.BINARY && frame.payload.length === MESSAGE))
        assert.isTrue(Buffer.from(binary[binary.length - 1]!.payload).equals(payload))
      }),
    20_000
  )
})

describe("limits", () => {
  /** A server whose handler pulls `messages` and reports what came and how the stream ended. */
  const limited = (options: WebSocketServer.ListenOptions) =>
    Effect.gen(function*() {
      const ended = yield* Deferred.make<{ exit: Exit.Exit<void, WebSocketError>; messages: Array<Message> }>()
      const server = yield* serve(options, (ws) =>
        Effect.gen(function*() {
          const messages: Array<Message> = []
          const exit = yield* Effect.exit(Stream.runForEach(ws.messages, (m) => Effect.sync(() => messages.push(m))))
          yield* Deferred.succeed(ended, { exit, messages })
        }))
      return { ended, port: server.address.port }
    })

  /** Waits for the server's close frame; asserts its code, that it came quickly, and that TCP ends. */
  const expectClose = (peer: RawPeer, code: number, sentAt: number) =>
    Effect.gen(function*() {
      const close = yield* peer.frameOf(Opcode.CLOSE, 3_000)
      assert.isBelow(performance.now() - sentAt, 1_000, "the close came at once")
      assert.strictEqual(closeOf(close).code, code)
      assert.deepStrictEqual([...close.payload.subarray(0, 2)], [code >>> 8, code & 0xff])
      yield* peer.awaitGone(3_000)
    })

  it.scopedLive(
    "a frame whose header declares more than maxMessageSize is answered with 1009 before its payload is sent",
    () =>
      Effect.gen(function*() {
        const { ended, port } = yield* limited({ maxMessageSize: 64 * KiB, maxFrameSize: 1 * MiB })
        const peer = yield* rawClient(port)
        const sentAt = performance.now()
        yield* peer.write(headerOnly(0x80 | Opcode.BINARY, 64 * KiB + 1))
        yield* expectClose(peer, 1009, sentAt)
        const { exit, messages } = yield* awaitWithin(ended, "the handler")
        const error = failureOf(exit)
        assert.strictEqual(error.reason, "ProtocolError")
        assert.strictEqual(error.closeCode, 1009)
        assert.strictEqual(messages.length, 0)
      }),
    15_000
  )

  it.scopedLive(
    "a message crossing maxMessageSize across fragments gets 1009 at the crossing fragment; one at the limit passes",
    () =>
      Effect.gen(function*() {
        const { ended, port } = yield* limited({ maxMessageSize: 64 * KiB })
        const peer = yield* rawClient(port)
        const piece = Crypto.randomBytes(16 * KiB)
        // Exactly 64 KiB in four fragments: delivered.
        for (let i = 0; i < 4; i++) {
          yield* peer.write(maskedFrame(i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, piece, i === 3))
        }
        // Then three fragments of 16 KiB and a fourth declaring one byte more.
        for (let i = 0; i < 3; i++) {
          yield* peer.write(maskedFrame(i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, piece, false))
        }
        const sentAt = performance.now()
        yield* peer.write(headerOnly(0x80 | Opcode.CONTINUATION, 16 * KiB + 1))
        yield* expectClose(peer, 1009, sentAt)
        const { exit, messages } = yield* awaitWithin(ended, "the handler")
        assert.strictEqual(failureOf(exit).closeCode, 1009)
        assert.strictEqual(messages.length, 1)
        assert.isTrue(Buffer.from(messages[0] as Uint8Array).equals(Buffer.concat([piece, piece, piece, piece])))
      }),
    15_000
  )

  it.scopedLive(
    "a frame larger than maxFrameSize is answered with 1009, while a message of frames within it is delivered",
    () =>
      Effect.gen(function*() {
        const { ended, port } = yield* limited({ maxMessageSize: 1 * MiB, maxFrameSize: 16 * KiB })
        const peer = yield* rawClient(port)
        const piece = Crypto.randomBytes(16 * KiB)
        for (let i = 0; i < 4; i++) {
          yield* peer.write(maskedFrame(i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, piece, i === 3))
        }
        const sentAt = performance.now()
        yield* peer.write(headerOnly(0x80 | Opcode.BINARY, 16 * KiB + 1))
        yield* expectClose(peer, 1009, sentAt)
        const { exit, messages } = yield* awaitWithin(ended, "the handler")
        assert.strictEqual(failureOf(exit).closeCode, 1009)
        assert.strictEqual(messages.length, 1)
        assert.strictEqual(messages[0]!.length, 64 * KiB)
      }),
    15_000
  )

  it.scopedLive(
    "a frame declaring 2^63-1 bytes is answered with 1009 at once, and one with the length's top bit set with 1002",
    () =>
      Effect.gen(function*() {
        const { port } = yield* limited({})
        const huge = yield* rawClient(port)
        let sentAt = performance.now()
        yield* huge.write(header64(0x80 | Opcode.BINARY, 0x7fffffff, 0xffffffff))
        yield* expectClose(huge, 1009, sentAt)
        // RFC 6455 §5.2: the most significant bit of a 64-bit length must be 0.
        const topBit = yield* rawClient(port)
        sentAt = performance.now()
        yield* topBit.write(header64(0x80 | Opcode.BINARY, 0x80000000, 0))
        yield* expectClose(topBit, 1002, sentAt)
      }),
    15_000
  )

  it.scopedLive(
    "a request head larger than maxHeadSize is answered with 431, also before the head is complete",
    () =>
      Effect.gen(function*() {
        const server = yield* serve({ maxHeadSize: 4 * KiB }, echo)
        const port = server.address.port
        // A complete request with one long header field.
        const long = yield* rawConnect(port)
        yield* long.write(upgradeRequest(freshKey(), "/", [`X-Padding: ${"a".repeat(5 * KiB)}`]))
        assert.strictEqual(statusOf(yield* long.takeHead(3_000)), 431)
        yield* long.awaitGone(3_000)
        // A head that never ends: answered as soon as the limit is crossed.
        const endless = yield* rawConnect(port)
        yield* endless.write(latin1(`GET / HTTP/1.1\r\nX-Padding: ${"a".repeat(5 * KiB)}`))
        assert.strictEqual(statusOf(yield* endless.takeHead(3_000)), 431)
        yield* endless.awaitGone(3_000)
        // Just within the limit is accepted.
        const request = upgradeRequest(freshKey())
        const fits = yield* rawClient(port, { headers: [`X-Padding: ${"a".repeat(4 * KiB - request.length - 13)}`] })
        assert.isFalse(fits.gone)
      }),
    15_000
  )

  it.scopedLive(
    "a request with more than maxHeaders header fields is answered with 431",
    () =>
      Effect.gen(function*() {
        const server = yield* serve({ maxHeaders: 20 }, echo)
        const port = server.address.port
        // Five fields of the handshake and 15 more: 20, accepted.
        const extra = (n: number) => Array.from({ length: n }, (_, i) => `X-Field-${i}: ${i}`)
        const fits = yield* rawClient(port, { headers: extra(15) })
        assert.isFalse(fits.gone)
        // 21: 431.
        const many = yield* rawConnect(port)
        yield* many.write(upgradeRequest(freshKey(), "/", extra(16)))
        assert.strictEqual(statusOf(yield* many.takeHead(3_000)), 431)
        yield* many.awaitGone(3_000)
      }),
    15_000
  )

  it.scopedLive(
    "a flood of 10,000 pings is answered by 10,000 pongs in order, in bounded memory",
    () =>
      Effect.gen(function*() {
        const COUNT = 10_000
        const { port } = yield* limited({})
        const peer = yield* rawClient(port)
        peer.keepBytes = false
        const pings: Array<Uint8Array> = []
        for (let i = 0; i < COUNT; i++) {
          const payload = new Uint8Array(4)
          new DataView(payload.buffer).setUint32(0, i)
          pings.push(maskedFrame(Opcode.PING, payload))
        }
        const before = memoryInUse()
        const started = performance.now()
        yield* peer.write(Buffer.concat(pings))
        yield* peer.until("10,000 pongs", () => (peer.frames.length >= COUNT ? true : undefined), 10_000)
        const elapsed = performance.now() - started
        const grown = memoryInUse() - before
        assert.strictEqual(peer.frames.length, COUNT)
        peer.frames.forEach((frame, i) => {
          const index = new DataView(frame.payload.buffer, frame.payload.byteOffset).getUint32(0)
          if (frame.opcode !== Opcode.PONG || index !== i) {
            assert.fail(`frame ${i} is not the pong of ping ${i}`)
          }
        })
        assert.isBelow(elapsed, 5_000)
        assert.isBelow(grown, 16 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`)
      }),
    15_000
  )

  it.scopedLive(
    "a peer that floods pings and never reads the pongs is stalled, not buffered for",
    () =>
      Effect.gen(function*() {
        const HIGH_WATER = 64 * KiB
        const opened = yield* Deferred.make<WebSocket>()
        const server = yield* serve({ writeHighWaterMark: HIGH_WATER }, (ws) =>
          Effect.zipRight(Deferred.succeed(opened, ws), Effect.never))
        const peer = yield* nonReader(server.address.port)
        const ws = yield* awaitWithin(opened, "the connection")
        const before = memoryInUse()
        // Pings of 125 bytes (RFC 6455 §5.5: the most a control frame holds), each to be answered by
        // a 127-byte pong (§5.5.2), written as fast as Node takes them for 1.5 s.
        const ping = maskedFrame(Opcode.PING, Crypto.randomBytes(125))
        const flood = Buffer.concat(Array.from({ length: 1000 }, () =>
          ping))
        let floods = 0
        const deadline = performance.now() + 1_500
        pump(peer.socket, () => performance.now() < deadline, () => flood, () => floods++)
        let maxBuffered = 0
        while (performance.now() < deadline + 200) {
          maxBuffered = Math.max(maxBuffered, yield* ws.bufferedAmount)
          yield* Effect.sleep("20 millis")
        }
        const grown = memoryInUse() - before
        // Once its write queue is over the high-water mark the server must stop reading (the pongs
        // of one more read chunk, at most 64 KiB, may still be queued): the flood then stalls in
        // the kernel instead of in the server's memory.
        assert.isAtMost(
          maxBuffered,
          HIGH_WATER + 65 * KiB,
          `the server queued ${(maxBuffered / MiB).toFixed(1)} MiB of pongs for a peer that does not read ` +
            `(${floods} × 1000 pings handed over)`
        )
        assert.isBelow(grown, 16 * MiB, `memory grew by ${(grown / MiB).toFixed(1)} MiB`)
      }),
    15_000
  )

  it.scopedLive(
    "a 1 MiB message in one-byte fragments is delivered whole, once, in bounded time",
    () =>
      Effect.gen(function*() {
        const SIZE = 1 * MiB
        const { ended, port } = yield* limited({ maxMessageSize: 2 * MiB })
        const peer = yield* rawClient(port)
        const data = Crypto.randomBytes(SIZE)
        const keys = Crypto.randomBytes(4 * SIZE)
        // Each fragment by hand: FIN|opcode, MASK|1, the key, the byte masked (RFC 6455 §5.2, §5.3).
        const flood = Buffer.alloc(7 * SIZE)
        for (let i = 0; i < SIZE; i++) {
          const at = 7 * i
          flood[at] = (i === SIZE - 1 ? 0x80 : 0) | (i === 0 ? Opcode.BINARY : Opcode.CONTINUATION)
          flood[at + 1] = 0x81
          keys.copy(flood, at + 2, 4 * i, 4 * i + 4)
          flood[at + 6] = data[i]! ^ keys[4 * i]!
        }
        // The hand-built fragments are the reference serialiser's.
        const first = rawFrame({
          fin: false,
          opcode: Opcode.BINARY,
          payload: data.subarray(0, 1),
          mask: keys.subarray(0, 4)
        })
        assert.strictEqual(flood.subarray(0, 7).toString("hex"), Buffer.from(first).toString("hex"))
        const started = performance.now()
        yield* peer.write(flood)
        yield* peer.write(maskedClose(1000))
        const { exit, messages } = yield* awaitWithin(ended, "the message", 20_000)
        const elapsed = performance.now() - started
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(messages.length, 1)
        assert.isTrue(Buffer.from(messages[0] as Uint8Array).equals(data))
        assert.isBelow(elapsed, 15_000, `took ${elapsed.toFixed(0)} ms`)
      }),
    30_000
  )
})

describe("nothing left behind", () => {
  it.scopedLive(
    "after 50 connections opened and closed every way, no connection, socket or fiber is left",
    () =>
      Effect.gen(function*() {
        // Fibers are counted exactly with `Supervisor.track`: it sees every fiber forked under
        // `Effect.supervised`, descendants included (the server's connection fibers are forked with
        // the runtime of `server.run`, which carries the supervisor), and drops each one as it ends.
        // One supervisor for the server's fibers, one for the clients'.
        const serverFibers = yield* Supervisor.track
        const clientFibers = yield* Supervisor.track
        const server = yield* WebSocketServer.make({
          host: "127.0.0.1",
          port: 0,
          deflate: false,
          handshakeTimeout: "300 millis",
          closeTimeout: "300 millis"
        })
        // A second server whose keepalive gives up after 300 ms (its options are server-wide).
        const keepaliveServer = yield* WebSocketServer.make({
          host: "127.0.0.1",
          port: 0,
          deflate: false,
          pingInterval: "100 millis",
          pongTimeout: "200 millis"
        })
        const handler = (ws: WebSocket) => {
          switch (ws.request?.target) {
            case "/server-close":
              return Effect.void
            case "/close-timeout":
              return Effect.ignore(ws.close())
            default:
              return echo(ws)
          }
        }
        const onRequest = (request: { readonly target: string }) =>
          Effect.succeed(
            request.target === "/reject" ? WebSocketServer.reject(403, { body: "no" }) : WebSocketServer.accept()
          )
        yield* Effect.forkScoped(Effect.supervised(server.run(handler, { onRequest }), serverFibers))
        yield* Effect.forkScoped(Effect.supervised(keepaliveServer.run(echo), serverFibers))
        const port = server.address.port
        const keepalivePort = keepaliveServer.address.port
        // The Node servers behind them: WebSocketServer keeps them private, so they are found among
        // the process's handles by their ports.
        const handles = (process as unknown as { _getActiveHandles(): Array<unknown> })._getActiveHandles()
        const nodeServers = [port, keepalivePort].map((p) =>
          handles.find((handle): handle is Net.Server =>
            handle instanceof Net.Server && (handle.address() as Net.AddressInfo | null)?.port === p
          )
        )
        const getConnections = Effect.forEach(nodeServers, (nodeServer) =>
          Effect.async<number>((resume) => {
            if (nodeServer === undefined) return resume(Effect.succeed(-1))
            nodeServer.getConnections((_, count) => resume(Effect.succeed(count)))
          })).pipe(Effect.map(([a, b]) => a! + b!))
        assert.isTrue(nodeServers.every((nodeServer) => nodeServer !== undefined), "both Node servers found")
        // Sockets of the tests before this one may still be closing: let them go first.
        yield* Effect.ignore(eventually("earlier sockets to close", Effect.sync(() => tcpSockets() === 0), 2_000))
        const socketsBefore = tcpSockets()
        assert.lengthOf(yield* serverFibers.value, 0)

        const ways: Array<Effect.Effect<void, unknown, Scope.Scope>> = [
          // Clean close by the client (RFC 6455 §7.1.2), after an echo.
          Effect.gen(function*() {
            const ws = yield* WebSocketClient.connect(urlOf(port, "/echo"), { deflate: false })
            yield* ws.send("hi")
            assert.strictEqual(yield* (yield* receiver(ws)).next, "hi")
            assert.deepStrictEqual(yield* ws.close(), { code: 1000, reason: "" })
          }),
          // Clean close by the server: the handler returns.
          Effect.gen(function*() {
            const ws = yield* WebSocketClient.connect(urlOf(port, "/server-close"), { deflate: false })
            assert.strictEqual((yield* ws.closed.pipe(Effect.timeout("5 seconds"))).code, 1000)
          }),
          // Abort: TCP ended without a closing handshake.
          Effect.gen(function*() {
            const peer = yield* rawClient(port, { target: "/echo" })
            peer.socket.end()
            yield* peer.awaitGone()
          }),
          // Abort: TCP reset.
          Effect.gen(function*() {
            const peer = yield* rawClient(port, { target: "/echo" })
            peer.socket.resetAndDestroy()
          }),
          // Handshake timeout: nothing sent.
          Effect.gen(function*() {
            const peer = yield* rawConnect(port)
            yield* peer.awaitGone(3_000)
          }),
          // Handshake abandoned halfway.
          Effect.gen(function*() {
            const peer = yield* rawConnect(port)
            yield* peer.write(upgradeRequest(freshKey()).subarray(0, 40))
            peer.socket.destroy()
          }),
          // Close timeout: the handler closes, the client never answers.
          Effect.gen(function*() {
            const peer = yield* rawClient(port, { target: "/close-timeout" })
            yield* peer.awaitGone(3_000)
          }),
          // Protocol error: an unmasked client frame (RFC 6455 §5.1) gets 1002.
          Effect.gen(function*() {
            const peer = yield* rawClient(port, { target: "/echo" })
            yield* peer.write(rawFrame({ fin: true, opcode: Opcode.TEXT, payload: utf8("unmasked") }))
            assert.strictEqual(closeOf(yield* peer.frameOf(Opcode.CLOSE)).code, 1002)
            yield* peer.awaitGone(3_000)
          }),
          // Rejected by onRequest: 403.
          Effect.gen(function*() {
            const peer = yield* rawConnect(port)
            yield* peer.write(upgradeRequest(freshKey(), "/reject"))
            assert.strictEqual(statusOf(yield* peer.takeHead()), 403)
            yield* peer.awaitGone(3_000)
          }),
          // Our client rejected: HandshakeRejected with the status.
          Effect.gen(function*() {
            const exit = yield* Effect.exit(WebSocketClient.connect(urlOf(port, "/reject"), { deflate: false }))
            const error = failureOf(exit)
            assert.strictEqual(error.reason, "HandshakeRejected")
            assert.strictEqual(error.status, 403)
          }),
          // Keepalive: pings never answered, 1011 after 300 ms.
          Effect.gen(function*() {
            const peer = yield* rawClient(keepalivePort)
            yield* peer.awaitGone(3_000)
            assert.strictEqual(closeOf(yield* peer.frameOf(Opcode.CLOSE, 0)).code, 1011)
          }),
          // Not HTTP at all: 400.
          Effect.gen(function*() {
            const peer = yield* rawConnect(port)
            yield* peer.write(latin1("HELLO\r\n\r\n"))
            assert.strictEqual(statusOf(yield* peer.takeHead()), 400)
            yield* peer.awaitGone(3_000)
          })
        ]
        const tally = Effect.all({
          connections: Effect.zipWith(server.connections, keepaliveServer.connections, (a, b) => a + b),
          nodeConnections: getConnections,
          sockets: Effect.sync(tcpSockets),
          serverFibers: Effect.map(serverFibers.value, (fibers) => fibers.length),
          clientFibers: Effect.map(clientFibers.value, (fibers) => fibers.length)
        })
        // While the batch runs, the most of each count: proof that each one sees what it counts.
        const peak = { connections: 0, nodeConnections: 0, sockets: 0, serverFibers: 0, clientFibers: 0 }
        const sampler = yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
          Effect.map(tally, (now) => {
            for (const key of Object.keys(peak) as Array<keyof typeof peak>) peak[key] = Math.max(peak[key], now[key])
          }),
          Effect.sleep("5 millis")
        )))
        const batch = Array.from({ length: 50 }, (_, i) => Effect.scoped(ways[i % ways.length]!))
        yield* Effect.all(batch, { concurrency: "unbounded", discard: true }).pipe(
          Effect.supervised(clientFibers),
          Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the batch took over 10 s") })
        )
        yield* Fiber.interrupt(sampler)
        assert.isAtLeast(peak.connections, 10, "server.connections counted the batch")
        assert.isAtLeast(peak.nodeConnections, 10, "getConnections counted the batch")
        assert.isAtLeast(peak.sockets, socketsBefore + 20, "the TCP handles of both ends were counted")
        assert.isAtLeast(peak.serverFibers, 20, "the supervisor saw the server's connection fibers")
        assert.isAtLeast(peak.clientFibers, 5, "the supervisor saw the clients' fibers")
        const settled = { connections: 0, nodeConnections: 0, sockets: socketsBefore, serverFibers: 0, clientFibers: 0 }
        yield* Effect.ignore(eventually(
          "everything to end",
          Effect.map(tally, (now) => JSON.stringify(now) === JSON.stringify(settled)),
          5_000
        ))
        assert.deepStrictEqual(yield* tally, settled)
      }),
    30_000
  )
})
