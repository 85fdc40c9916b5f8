/**
 * Helpers of the driver tests (`WebSocket.test.ts`, `WebSocket.interop.test.ts`, `WebSocket.limits.test.ts`,
 * `chat.browser.test.ts`): bounded waits; raw WebSocket peers over `node:net` that do the opening handshake by
 * hand (RFC 6455 §4.1, §4.2.2, `Sec-WebSocket-Accept` with `node:crypto`), build their frames with the reference
 * serialiser of `helpers.ts` (a client's masked with a random key, §5.3) and read frames back with its reference
 * parser, so that each misbehaviour is exactly what the test says; our client's bounded reads; the self-signed
 * certificate of the fixtures; and the memory, garbage collection and TCP handle counts of the limit tests.
 */
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import type * as WebSocket from "../src/WebSocket.js"
import * as WebSocketClient from "../src/WebSocketClient.js"
import { closePayload, concatAll, latin1, latin1Text, parseWireFrames, rawFrame, type WireFrame } from "./helpers.js"

// ---------------------------------------------------------------------------------------------
// Bounded waits

/** How long any one exchange of a test may take. */
export const WAIT: Duration.DurationInput = "5 seconds"

/** Fails with a message naming what was awaited when `self` takes longer than `duration`. */
export const within =
  (what: string, duration: Duration.DurationInput = WAIT) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Error, R> =>
    Effect.timeoutFail(self, {
      duration,
      onTimeout: () => new Error(`timed out after ${Duration.format(Duration.decode(duration))} waiting for ${what}`)
    })

/** A deferred's value, at most `millis`. */
export const awaitWithin = <A, E>(deferred: Deferred.Deferred<A, E>, what: string, millis = 5_000) =>
  Deferred.await(deferred).pipe(within(what, millis))

/** Waits (polling every 10 ms) until `check` holds, at most `millis`; fails naming `what`. */
export const eventually = <E, R>(
  what: string,
  check: Effect.Effect<boolean, E, R>,
  millis = 5_000
): Effect.Effect<void, E | Error, R> =>
  Effect.gen(function*() {
    const deadline = performance.now() + millis
    while (!(yield* check)) {
      if (performance.now() > deadline) return yield* Effect.fail(new Error(`timed out after ${millis} ms: ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })

// ---------------------------------------------------------------------------------------------
// Fixtures

const fixtures = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "fixtures")

/** The self-signed certificate for `localhost` and 127.0.0.1 (also its own CA) and its key. */
export const tlsFixture = {
  key: Fs.readFileSync(Path.join(fixtures, "localhost-key.pem")),
  cert: Fs.readFileSync(Path.join(fixtures, "localhost-cert.pem"))
}

// ---------------------------------------------------------------------------------------------
// Frames and handshakes by hand

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2). */
export const acceptFor = (key: string): string => Crypto.createHash("sha1").update(key + GUID).digest("base64")

/** A fresh `Sec-WebSocket-Key`: 16 random bytes in base64 (RFC 6455 §4.1). */
export const freshKey = (): string => Crypto.randomBytes(16).toString("base64")

/** An opening handshake request (RFC 6455 §4.1); `extra` are more header lines. */
export const upgradeRequest = (
  key: string,
  target = "/",
  extra: ReadonlyArray<string> = [],
  host = "127.0.0.1"
): Uint8Array =>
  latin1(
    [
      `GET ${target} HTTP/1.1`,
      `Host: ${host}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...extra
    ].map((line) => `${line}\r\n`).join("") + "\r\n"
  )

/** A server's 101 for a key: the right accept, no subprotocol, no extensions (RFC 6455 §4.2.2). */
export const switchingProtocols = (key: string): Uint8Array =>
  latin1(
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`
  )

/** A client frame: masked with a random key (RFC 6455 §5.3). */
export const maskedFrame = (opcode: number, payload: Uint8Array, fin = true): Uint8Array =>
  rawFrame({ fin, opcode, payload, mask: Crypto.randomBytes(4) })

/** A server frame: without a mask (RFC 6455 §5.1). */
export const unmaskedFrame = (opcode: number, payload: Uint8Array, fin = true): Uint8Array =>
  rawFrame({ fin, opcode, payload })

/** A masked close frame with a code and reason. */
export const maskedClose = (code: number, reason = ""): Uint8Array => maskedFrame(0x8, closePayload(code, reason))

/** The code and reason of a close frame's payload (1005 when it has none, RFC 6455 §7.1.5). */
export const closeOf = (frame: WireFrame): { readonly code: number; readonly reason: string } =>
  frame.payload.length < 2
    ? { code: 1005, reason: "" }
    : {
      code: (frame.payload[0]! << 8) | frame.payload[1]!,
      reason: new TextDecoder().decode(frame.payload.subarray(2))
    }

/** The status code of an HTTP response head. */
export const statusOf = (head: string): number => Number(head.split(" ")[1])

/** The first value of a header field in an HTTP head (the name case-insensitive). */
export const headerOf = (head: string, name: string): string | undefined => {
  const lower = name.toLowerCase()
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === lower) return line.slice(colon + 1).trim()
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// A raw peer over node:net

const TERMINATOR = Buffer.from("\r\n\r\n")

/**
 * One end of a TCP connection driven by hand, with everything it received: the HTTP head (a
 * client's 101, a server's request) once it is complete, then the frames after it, parsed as they
 * arrive. 'end' (the peer's FIN) and 'close' are recorded, in order with its own `end`. `until`
 * waits, bounded, for a condition on all that.
 */
export class RawPeer {
  /** All bytes received, in order (kept unless `keepBytes` is off). */
  readonly chunks: Array<Buffer> = []
  /** The HTTP head (through the blank line) once read, and the frames after it. */
  head: string | undefined
  readonly frames: Array<WireFrame> = []
  /** Bytes after the head, exactly as received (for byte-level checks); only while `keepBytes`. */
  readonly afterHead: Array<Buffer> = []
  keepBytes = true
  /** What happened, in order: "end" (the peer's FIN), "close", "localEnd" (this end's FIN). */
  readonly log: Array<"end" | "close" | "localEnd"> = []
  /** When the peer's FIN arrived, when the socket closed (performance.now()), and how. */
  endedAt: number | undefined
  closedAt: number | undefined
  error: Error | undefined
  /** Bytes after the head that do not make a whole frame yet. */
  #pending: Buffer = Buffer.alloc(0)
  #headBuffer: Buffer = Buffer.alloc(0)
  readonly #waiters = new Set<() => void>()
  readonly #onHead: ((peer: RawPeer, head: string) => void) | undefined

  /** `onHead` sees the head as soon as it is complete, before the bytes after it are read. */
  constructor(readonly socket: Net.Socket, onHead?: (peer: RawPeer, head: string) => void) {
    this.#onHead = onHead
    socket.on("data", (chunk: Buffer) => this.#onData(chunk))
    socket.on("end", () => {
      this.endedAt = performance.now()
      this.log.push("end")
      this.#wake()
    })
    socket.on("close", () => {
      this.closedAt = performance.now()
      this.log.push("close")
      this.#wake()
    })
    // Writes after the other end is gone fail with EPIPE or ECONNRESET: recorded, not thrown.
    socket.on("error", (error) => {
      this.error = error
      this.#wake()
    })
  }

  /** The socket closed or the peer ended it (its FIN). */
  get gone(): boolean {
    return this.closedAt !== undefined || this.endedAt !== undefined
  }

  /** The peer's FIN arrived. */
  get peerEnded(): boolean {
    return this.endedAt !== undefined
  }

  #onData(chunk: Buffer): void {
    if (this.keepBytes) this.chunks.push(chunk)
    if (this.head === undefined) {
      this.#headBuffer = Buffer.concat([this.#headBuffer, chunk])
      const end = this.#headBuffer.indexOf(TERMINATOR)
      if (end < 0) return this.#wake()
      this.head = latin1Text(this.#headBuffer.subarray(0, end + 4))
      chunk = this.#headBuffer.subarray(end + 4)
      this.#headBuffer = Buffer.alloc(0)
      this.#onHead?.(this, this.head)
    }
    if (this.keepBytes && chunk.length > 0) this.afterHead.push(chunk)
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    const { frames, rest } = parseWireFrames(this.#pending)
    for (const frame of frames) this.frames.push(frame)
    this.#pending = Buffer.from(rest.buffer, rest.byteOffset, rest.length)
    this.#wake()
  }

  /** The bytes received after the head, concatenated. */
  bytesAfterHead(): Buffer {
    return Buffer.concat(this.afterHead)
  }

  /** Everything received, concatenated. */
  received(): Buffer {
    return Buffer.concat(this.chunks)
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter()
  }

  /** Waits until `check` gives a value (checked now and on every event of the socket), at most `millis`. */
  until<A>(what: string, check: () => A | undefined, millis = 5_000): Effect.Effect<A, Error> {
    return Effect.async<A, Error>((resume) => {
      const attempt = () => {
        let value: A | undefined
        try {
          value = check()
        } catch (cause) {
          this.#waiters.delete(attempt)
          return resume(Effect.fail(cause as Error))
        }
        if (value === undefined) return
        this.#waiters.delete(attempt)
        resume(Effect.succeed(value))
      }
      this.#waiters.add(attempt)
      attempt()
      return Effect.sync(() => this.#waiters.delete(attempt))
    }).pipe(within(what, millis))
  }

  /** Waits until the connection is gone (FIN or close); gives when, at most `millis`. */
  awaitGone(millis = 5_000): Effect.Effect<number, Error> {
    return this.until(
      "the connection to end",
      () => this.gone ? Math.min(this.endedAt ?? Infinity, this.closedAt ?? Infinity) : undefined,
      millis
    )
  }

  /** Waits for the peer's FIN, at most `millis`. */
  awaitEnd(what: string, millis = 5_000): Effect.Effect<true, Error> {
    return this.until(what, () => this.peerEnded || undefined, millis)
  }

  /** Writes, resolved by Node's write callback (the bytes are handed to the kernel). */
  write(bytes: Uint8Array): Effect.Effect<void, Error> {
    return Effect.async<void, Error>((resume) => {
      if (this.socket.destroyed || this.socket.writableEnded) {
        return resume(Effect.fail(new Error("the raw socket is closed")))
      }
      this.socket.write(bytes, (error) => resume(error ? Effect.fail(error) : Effect.void))
    })
  }

  /** Writes without waiting (a write the peer may never take). */
  writeNow(bytes: Uint8Array): void {
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.write(bytes)
  }

  /** Sends FIN. */
  end(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.log.push("localEnd")
      this.socket.end()
    })
  }

  destroy(): Effect.Effect<void> {
    return Effect.sync(() => this.socket.destroy())
  }

  /** The head, once received, at most `millis`. */
  takeHead(millis = 5_000): Effect.Effect<string, Error> {
    return this.until("an HTTP head", () => this.head, millis)
  }

  /** The `n`-th frame (from 0) after the head, at most `millis`. */
  frame(n: number, millis = 5_000): Effect.Effect<WireFrame, Error> {
    return this.until(`frame ${n}`, () => this.frames[n], millis)
  }

  /** The first frame of an opcode, at most `millis`. */
  frameOf(opcode: number, millis = 5_000): Effect.Effect<WireFrame, Error> {
    return this.until(`a frame of opcode ${opcode}`, () => this.frames.find((frame) => frame.opcode === opcode), millis)
  }
}

/** Socket options of a raw peer. */
export interface RawSocketOptions {
  /** Never end this side of TCP on the peer's FIN unless told to (`end`): Node's `allowHalfOpen`. */
  readonly allowHalfOpen?: boolean
}

/** Opens a TCP connection to 127.0.0.1 as a raw client; destroyed when the scope closes. */
export const rawConnect = (port: number, options: RawSocketOptions = {}): Effect.Effect<RawPeer, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<RawPeer, Error>((resume) => {
      const socket = Net.connect({ host: "127.0.0.1", port, noDelay: true, allowHalfOpen: options.allowHalfOpen })
      const peer = new RawPeer(socket)
      const onError = (error: Error) => resume(Effect.fail(error))
      socket.once("error", onError)
      socket.once("connect", () => {
        socket.off("error", onError)
        resume(Effect.succeed(peer))
      })
    }).pipe(within(`a TCP connection to port ${port}`)),
    (peer) => Effect.sync(() => peer.socket.destroy())
  )

/** A raw client's request: its target, more header lines, and bytes written in the same write. */
export interface RawClientOptions extends RawSocketOptions {
  readonly target?: string
  readonly headers?: ReadonlyArray<string>
  /** Written right behind the request, in the same TCP write (frames pipelined before the 101). */
  readonly extra?: Uint8Array
}

/**
 * A raw client that completed the opening handshake: it sent the request, read a 101 whose
 * `Sec-WebSocket-Accept` matches its key (RFC 6455 §4.2.2).
 */
export const rawClient = (port: number, options: RawClientOptions = {}): Effect.Effect<RawPeer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const peer = yield* rawConnect(port, options)
    const key = freshKey()
    const request = upgradeRequest(key, options.target, options.headers)
    yield* peer.write(options.extra === undefined ? request : concatAll([request, options.extra]))
    const head = yield* peer.takeHead()
    if (statusOf(head) !== 101) return yield* Effect.fail(new Error(`expected 101, got ${head.split("\r\n")[0]}`))
    if (headerOf(head, "sec-websocket-accept") !== acceptFor(key)) {
      return yield* Effect.fail(new Error(`wrong Sec-WebSocket-Accept in ${JSON.stringify(head)}`))
    }
    return peer
  })

/** How a raw server answers. */
export interface RawServerOptions extends RawSocketOptions {
  /**
   * Answers each opening handshake on its own, as soon as the request head is complete, with
   * `switchingProtocols` (and `extra` in the same TCP write); otherwise the test answers, if at all
   * (`acceptHandshake`).
   */
  readonly accept?: boolean
  readonly extra?: Uint8Array
  /** With `accept`: called with each connection right after its 101 is written. */
  readonly onOpen?: (peer: RawPeer) => void
}

/** A raw TCP server on 127.0.0.1: each accepted connection as a `RawPeer` reading the request head. */
export interface RawServer {
  readonly port: number
  readonly server: Net.Server
  /** The next accepted connection, in order, at most 5 seconds. */
  readonly accepted: Effect.Effect<RawPeer, Error>
}

/** Listens on an ephemeral port; the server and every accepted socket end with the scope. */
export const rawServer = (options: RawServerOptions = {}): Effect.Effect<RawServer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<RawPeer>()
    const sockets = new Set<Net.Socket>()
    const answer = (peer: RawPeer, head: string) => {
      const response = switchingProtocols(headerOf(head, "sec-websocket-key") ?? "")
      peer.socket.write(options.extra === undefined ? response : concatAll([response, options.extra]))
      options.onOpen?.(peer)
    }
    const server = yield* Effect.acquireRelease(
      Effect.async<Net.Server, Error>((resume) => {
        const server = Net.createServer({ allowHalfOpen: options.allowHalfOpen }, (socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          Queue.unsafeOffer(queue, new RawPeer(socket, options.accept ? answer : undefined))
        })
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const socket of sockets) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return {
      port: (server.address() as Net.AddressInfo).port,
      server,
      accepted: Queue.take(queue).pipe(within("a connection to be accepted"))
    }
  })

/** A raw server's answer to a client's request head, by the test: the 101 with the right accept, nothing else. */
export const acceptHandshake = (peer: RawPeer): Effect.Effect<void, Error> =>
  Effect.gen(function*() {
    const head = yield* peer.takeHead()
    const key = headerOf(head, "sec-websocket-key")
    if (key === undefined) return yield* Effect.fail(new Error(`no key in ${JSON.stringify(head)}`))
    yield* peer.write(switchingProtocols(key))
  })

// ---------------------------------------------------------------------------------------------
// Our client, bounded

/** Our client with a short close timeout, bounded. */
export const connect = (url: string, options: WebSocketClient.ConnectOptions = {}) =>
  WebSocketClient.connect(url, { closeTimeout: "500 millis", ...options }).pipe(within(`connecting to ${url}`))

/** The next `n` messages of a connection, bounded. */
export const take = (
  ws: WebSocket.WebSocket,
  n: number,
  what = `${n} message(s)`,
  duration: Duration.DurationInput = WAIT
) => Stream.runCollect(Stream.take(ws.messages, n)).pipe(Effect.map(Chunk.toReadonlyArray), within(what, duration))

/**
 * Sends the messages from another fiber while reading as many back: an echo that is not read
 * while it is written stalls both ends once the buffers are full (read backpressure).
 */
export const exchange = (
  ws: WebSocket.WebSocket,
  messages: ReadonlyArray<WebSocket.Message>,
  what = "the echoes",
  duration: Duration.DurationInput = WAIT
) =>
  Effect.gen(function*() {
    const sending = yield* Effect.fork(Effect.forEach(messages, (m) => ws.send(m), { discard: true }))
    const received = yield* take(ws, messages.length, what, duration)
    yield* Fiber.join(sending)
    return received
  }).pipe(within(what, duration))

// ---------------------------------------------------------------------------------------------
// Memory and handles

/**
 * A full garbage collection, when V8 allows one to be asked for: `--expose-gc` switched on at run
 * time and `gc` taken from a fresh context (vitest's workers do not start with the flag).
 */
export const collectGarbage: () => void = (() => {
  try {
    V8.setFlagsFromString("--expose-gc")
    const gc = Vm.runInNewContext("gc") as (() => void) | undefined
    if (typeof gc === "function") return gc
  } catch {
    // no gc: measurements are taken as they are
  }
  return () => {}
})()

/**
 * The process's memory that buffered socket data lands in, after a collection: the JS heap plus
 * `arrayBuffers` (every Node `Buffer` and `Uint8Array` store). Not `external`, which also counts
 * native memory unrelated to data (it moves by megabytes as vitest loads code).
 */
export const memoryInUse = (): number => {
  collectGarbage()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

/** Live TCP sockets of this process (not listening servers): Node's `TCPSocketWrap` handles. */
export const tcpSockets = (): number =>
  process.getActiveResourcesInfo().filter((resource) => resource === "TCPSocketWrap").length
