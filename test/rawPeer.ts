/**
 * Raw WebSocket peers over `node:net` for the driver's limit tests: they do the opening handshake
 * by hand (RFC 6455 §4.1, §4.2.2, `Sec-WebSocket-Accept` with `node:crypto`), build their frames with
 * the reference serialiser of `helpers.ts` (masked with a random key, §5.3) and read frames back
 * with its reference parser, so that each misbehaviour is exactly what the test says.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Net from "node:net"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import { closePayload, latin1, latin1Text, parseWireFrames, rawFrame, type WireFrame } from "./helpers.js"

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/** `Sec-WebSocket-Accept` for a key (RFC 6455 §4.2.2). */
export const acceptFor = (key: string): string => Crypto.createHash("sha1").update(key + GUID).digest("base64")

/** A fresh `Sec-WebSocket-Key`: 16 random bytes in base64 (RFC 6455 §4.1). */
export const freshKey = (): string => Crypto.randomBytes(16).toString("base64")

/** An opening handshake request; `extra` are more header lines. */
export const upgradeRequest = (key: string, target = "/", extra: ReadonlyArray<string> = []): Uint8Array =>
  latin1(
    [
      `GET ${target} HTTP/1.1`,
      "Host: 127.0.0.1",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${key}`,
      "Sec-WebSocket-Version: 13",
      ...extra
    ].map((line) => `${line}\r\n`).join("") + "\r\n"
  )

/** A client frame: masked with a random key (RFC 6455 §5.3). */
export const maskedFrame = (opcode: number, payload: Uint8Array, fin = true): Uint8Array =>
  rawFrame({ fin, opcode, payload, mask: Crypto.randomBytes(4) })

/** A masked close frame. */
export const maskedClose = (code: number, reason = ""): Uint8Array => maskedFrame(0x8, closePayload(code, reason))

/** The code and reason of a close frame's payload (1005 when it has none). */
export const closeOf = (frame: WireFrame): { readonly code: number; readonly reason: string } =>
  frame.payload.length < 2
    ? { code: 1005, reason: "" }
    : {
      code: (frame.payload[0]! << 8) | frame.payload[1]!,
      reason: new TextDecoder().decode(frame.payload.subarray(2))
    }

/** The status code of an HTTP response head. */
export const statusOf = (head: string): number => Number(head.split(" ")[1])

/** The first value of a header field in an HTTP head. */
export const headerOf = (head: string, name: string): string | undefined => {
  const lower = name.toLowerCase()
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === lower) return line.slice(colon + 1).trim()
  }
  return undefined
}

const TERMINATOR = Buffer.from("\r\n\r\n")

/**
 * One end of a TCP connection, with everything it received: the HTTP head once `takeHead` found
 * it, then the frames after it, parsed as they arrive. `until` waits for a condition on that
 * state, at most a given time.
 */
export class RawPeer {
  /** All bytes received, in order (kept unless `keepBytes` is off). */
  readonly chunks: Array<Buffer> = []
  bytesReceived = 0
  /** The HTTP head (through the blank line) once read, and the frames after it. */
  head: string | undefined
  readonly frames: Array<WireFrame> = []
  /** Bytes after the head that do not make a whole frame yet. */
  private pending: Buffer = Buffer.alloc(0)
  private headBuffer: Buffer = Buffer.alloc(0)
  /** Bytes after the head, exactly as received (for byte-level checks); only while `keepBytes`. */
  readonly afterHead: Array<Buffer> = []
  keepBytes = true
  /** When the peer's FIN arrived, when the socket closed (performance.now()), and how. */
  endedAt: number | undefined
  closedAt: number | undefined
  error: Error | undefined
  private readonly waiters = new Set<() => void>()

  constructor(readonly socket: Net.Socket, readonly readsHead: boolean) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("end", () => {
      this.endedAt = performance.now()
      this.wake()
    })
    socket.on("close", () => {
      this.closedAt = performance.now()
      this.wake()
    })
    // Writes after the other end is gone fail with EPIPE or ECONNRESET: recorded, not thrown.
    socket.on("error", (error) => {
      this.error = error
      this.wake()
    })
  }

  /** The socket closed or the peer ended it (its FIN). */
  get gone(): boolean {
    return this.closedAt !== undefined || this.endedAt !== undefined
  }

  private onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length
    if (this.keepBytes) this.chunks.push(chunk)
    if (this.readsHead && this.head === undefined) {
      this.headBuffer = Buffer.concat([this.headBuffer, chunk])
      const end = this.headBuffer.indexOf(TERMINATOR)
      if (end < 0) return this.wake()
      this.head = latin1Text(this.headBuffer.subarray(0, end + 4))
      chunk = this.headBuffer.subarray(end + 4)
      this.headBuffer = Buffer.alloc(0)
    }
    if (this.head !== undefined || !this.readsHead) {
      if (this.keepBytes && chunk.length > 0) this.afterHead.push(chunk)
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
      const { frames, rest } = parseWireFrames(this.pending)
      for (const frame of frames) this.frames.push(frame)
      this.pending = Buffer.from(rest.buffer, rest.byteOffset, rest.length)
    }
    this.wake()
  }

  /** The bytes received after the head, concatenated. */
  bytesAfterHead(): Buffer {
    return Buffer.concat(this.afterHead)
  }

  /** Everything received, concatenated. */
  received(): Buffer {
    return Buffer.concat(this.chunks)
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter()
  }

  /** Waits until `check` gives a value (checked now and on every event), at most `millis`. */
  until<A>(what: string, check: () => A | undefined, millis = 5_000): Effect.Effect<A, Error> {
    return Effect.async<A, Error>((resume) => {
      const now = check()
      if (now !== undefined) return resume(Effect.succeed(now))
      const waiter = () => {
        const value = check()
        if (value === undefined) return
        cleanup()
        resume(Effect.succeed(value))
      }
      const timer = setTimeout(() => {
        cleanup()
        resume(Effect.fail(new Error(`timed out after ${millis} ms waiting for ${what}`)))
      }, millis)
      const cleanup = () => {
        clearTimeout(timer)
        this.waiters.delete(waiter)
      }
      this.waiters.add(waiter)
      return Effect.sync(cleanup)
    })
  }

  /** Waits until the connection is gone (FIN or close); gives when, at most `millis`. */
  awaitGone(millis = 5_000): Effect.Effect<number, Error> {
    return this.until("the connection to end", () =>
      this.gone ? Math.min(this.endedAt ?? Infinity, this.closedAt ?? Infinity) : undefined, millis)
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

/** Opens a TCP connection to 127.0.0.1 as a raw client; destroyed when the scope closes. */
export const rawConnect = (port: number): Effect.Effect<RawPeer, Error, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<RawPeer, Error>((resume) => {
      const socket = Net.connect({ host: "127.0.0.1", port, noDelay: true })
      const peer = new RawPeer(socket, true)
      const onError = (error: Error) => resume(Effect.fail(error))
      socket.once("error", onError)
      socket.once("connect", () => {
        socket.off("error", onError)
        resume(Effect.succeed(peer))
      })
    }),
    (peer) => Effect.sync(() => peer.socket.destroy())
  )

/**
 * A raw client that completed the opening handshake: it sent the request, read a 101 whose
 * `Sec-WebSocket-Accept` matches its key (RFC 6455 §4.2.2).
 */
export const rawClient = (
  port: number,
  target = "/",
  extra: ReadonlyArray<string> = []
): Effect.Effect<RawPeer, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const peer = yield* rawConnect(port)
    const key = freshKey()
    yield* peer.write(upgradeRequest(key, target, extra))
    const head = yield* peer.takeHead()
    if (statusOf(head) !== 101) return yield* Effect.fail(new Error(`expected 101, got ${head.split("\r\n")[0]}`))
    if (headerOf(head, "sec-websocket-accept") !== acceptFor(key)) {
      return yield* Effect.fail(new Error(`wrong Sec-WebSocket-Accept in ${JSON.stringify(head)}`))
    }
    return peer
  })

/** A raw TCP server on 127.0.0.1: each accepted connection as a `RawPeer` reading an HTTP head. */
export interface RawServer {
  readonly port: number
  readonly server: Net.Server
  /** The next accepted connection, at most 5 seconds. */
  readonly accepted: Effect.Effect<RawPeer, Error>
}

/** Listens on an ephemeral port; the server and every accepted socket end with the scope. */
export const rawServer: Effect.Effect<RawServer, Error, Scope.Scope> = Effect.gen(function*() {
  const queue = yield* Queue.unbounded<RawPeer>()
  const sockets = new Set<Net.Socket>()
  const server = yield* Effect.acquireRelease(
    Effect.async<Net.Server, Error>((resume) => {
      const server = Net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        Queue.unsafeOffer(queue, new RawPeer(socket, true))
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
    accepted: Effect.timeoutFail(Queue.take(queue), {
      duration: "5 seconds",
      onTimeout: () => new Error("no connection accepted in 5 seconds")
    })
  }
})

/** A raw server's answer to a client's request head: the 101 with the right accept, nothing else. */
export const acceptHandshake = (peer: RawPeer): Effect.Effect<void, Error> =>
  Effect.gen(function*() {
    const head = yield* peer.takeHead()
    const key = headerOf(head, "sec-websocket-key")
    if (key === undefined) return yield* Effect.fail(new Error(`no key in ${JSON.stringify(head)}`))
    yield* peer.write(
      latin1(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`
      )
    )
  })

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

/** Records a value once, for a test to wait on with a bound. */
export const awaitWithin = <A, E>(deferred: Deferred.Deferred<A, E>, what: string, millis = 5_000) =>
  Effect.timeoutFail(Deferred.await(deferred), {
    duration: millis,
    onTimeout: () => new Error(`timed out after ${millis} ms waiting for ${what}`)
  })

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
