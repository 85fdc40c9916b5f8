/**
 * Helpers for the driver tests (`WebSocket.test.ts`, `WebSocket.interop.test.ts`): bounded waits,
 * raw peers over `node:net` that do the opening handshake by hand (RFC 6455 §4) and read frames
 * back with the reference parser of `helpers.ts`, masked frames built with its reference
 * serialiser, and the self-signed certificate of the fixtures.
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { closePayload, concatAll, latin1, latin1Text, parseWireFrames, rawFrame, type WireFrame } from "./helpers.js"

/** How long any one exchange of a test may take. */
export const WAIT: Duration.DurationInput = "5 seconds"

/** Fails with a message naming what was awaited when `self` takes longer than `WAIT`. */
export const within = (what: string, duration: Duration.DurationInput = WAIT) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Error, R> =>
  Effect.timeoutFail(self, {
    duration,
    onTimeout: () => new Error(`timed out after ${String(duration)} waiting for ${what}`)
  })

// ---------------------------------------------------------------------------------------------
// Fixtures

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures")

/** The self-signed certificate for `localhost` and 127.0.0.1 (also its own CA) and its key. */
export const tlsFixture = {
  key: fs.readFileSync(path.join(fixtures, "localhost-key.pem")),
  cert: fs.readFileSync(path.join(fixtures, "localhost-cert.pem"))
}

// ---------------------------------------------------------------------------------------------
// Frames and handshakes by hand

/** The `Sec-WebSocket-Accept` of a key (RFC 6455 §4.2.2), computed with `node:crypto`. */
export const acceptOf = (key: string): string =>
  crypto.createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64")

/** A frame masked with a random key, as a client sends (RFC 6455 §5.3). */
export const maskedFrame = (opcode: number, payload: Uint8Array, fin = true): Uint8Array =>
  rawFrame({ fin, opcode, payload, mask: crypto.randomBytes(4) })

/** A frame without a mask, as a server sends. */
export const unmaskedFrame = (opcode: number, payload: Uint8Array, fin = true): Uint8Array =>
  rawFrame({ fin, opcode, payload })

/** A masked close frame with a code and reason. */
export const maskedClose = (code: number, reason = ""): Uint8Array => maskedFrame(0x8, closePayload(code, reason))

/** The close code and reason of a close frame's payload (1005 for an empty one). */
export const closeOf = (frame: WireFrame): { readonly code: number; readonly reason: string } =>
  frame.payload.length < 2
    ? { code: 1005, reason: "" }
    : {
      code: (frame.payload[0]! << 8) | frame.payload[1]!,
      reason: new TextDecoder().decode(frame.payload.subarray(2))
    }

/** An HTTP/1.1 opening handshake request with a fresh key. */
export const upgradeRequest = (
  host: string,
  target = "/",
  extraLines: ReadonlyArray<string> = []
): { readonly bytes: Uint8Array; readonly key: string } => {
  const key = crypto.randomBytes(16).toString("base64")
  const lines = [
    `GET ${target} HTTP/1.1`,
    `Host: ${host}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    ...extraLines
  ]
  return { bytes: latin1(`${lines.join("\r\n")}\r\n\r\n`), key }
}

// ---------------------------------------------------------------------------------------------
// A raw peer over node:net

/**
 * One end of a TCP connection driven by hand: everything it receives is kept, 'end' (the peer's
 * FIN) and 'close' are recorded in order with its own `end`, and `until` waits (bounded) for a
 * condition on them. Half-open is allowed, so that it never ends its side unless told to.
 */
export class RawPeer {
  readonly chunks: Array<Uint8Array> = []
  /** What happened, in order: "end" (the peer's FIN), "close", "localEnd" (this end's FIN). */
  readonly log: Array<"end" | "close" | "localEnd"> = []
  #wakers = new Set<() => void>()

  constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.chunks.push(new Uint8Array(chunk))
      this.#wake()
    })
    socket.on("end", () => {
      this.log.push("end")
      this.#wake()
    })
    socket.on("close", () => {
      this.log.push("close")
      this.#wake()
    })
    socket.on("error", () => {})
  }

  #wake(): void {
    for (const wake of [...this.#wakers]) wake()
  }

  /** A TCP connection to 127.0.0.1:`port`, destroyed when the scope closes. */
  static connect(port: number): Effect.Effect<RawPeer, Error, import("effect/Scope").Scope> {
    return Effect.acquireRelease(
      Effect.async<RawPeer, Error>((resume) => {
        const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true })
        socket.once("error", (cause) => resume(Effect.fail(cause)))
        socket.once("connect", () => resume(Effect.succeed(new RawPeer(socket))))
      }).pipe(within(`a TCP connection to port ${port}`)),
      (peer) => Effect.sync(() => peer.socket.destroy())
    )
  }

  /** Every byte received so far. */
  get bytes(): Uint8Array {
    return concatAll(this.chunks)
  }

  get peerEnded(): boolean {
    return this.log.includes("end")
  }

  get isClosed(): boolean {
    return this.log.includes("close")
  }

  write(bytes: Uint8Array | string): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      this.socket.write(bytes, () => resume(Effect.void))
    })
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

  /** Waits (at most `WAIT`) until `check` gives a value, re-checked on every event of the socket. */
  until<A>(check: () => A | undefined, what: string): Effect.Effect<A, Error> {
    return Effect.async<A, Error>((resume) => {
      const attempt = () => {
        let value: A | undefined
        try {
          value = check()
        } catch (cause) {
          this.#wakers.delete(attempt)
          resume(Effect.fail(cause as Error))
          return
        }
        if (value === undefined) return
        this.#wakers.delete(attempt)
        resume(Effect.succeed(value))
      }
      this.#wakers.add(attempt)
      attempt()
      return Effect.sync(() => this.#wakers.delete(attempt))
    }).pipe(within(what))
  }

  /** The HTTP head received (up to the blank line) and the bytes after it, once it is complete. */
  head(): { readonly head: string; readonly rest: Uint8Array } | undefined {
    const bytes = this.bytes
    const end = latin1Text(bytes).indexOf("\r\n\r\n")
    return end < 0 ? undefined : { head: latin1Text(bytes.subarray(0, end + 4)), rest: bytes.subarray(end + 4) }
  }

  /** The complete frames received after the HTTP head (all bytes when `headless`). */
  frames(headless = false): Array<WireFrame> {
    if (headless) return parseWireFrames(this.bytes).frames
    const head = this.head()
    return head === undefined ? [] : parseWireFrames(head.rest).frames
  }

  /** Waits for at least `n` frames after the head. */
  untilFrames(n: number, what = `${n} frame(s)`, headless = false): Effect.Effect<Array<WireFrame>, Error> {
    return this.until(() => {
      const frames = this.frames(headless)
      return frames.length >= n ? frames : undefined
    }, what)
  }
}

/** The status code of an HTTP response head. */
export const statusOf = (head: string): number => Number(head.split(" ")[1])

/** The value of a header field in an HTTP head (case-insensitive name), the first one. */
export const headerOf = (head: string, name: string): string | undefined => {
  const line = head.split("\r\n").find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
  return line?.slice(name.length + 1).trim()
}

/**
 * A raw client that has done the opening handshake by hand with our server (the 101 and its
 * `Sec-WebSocket-Accept` checked); `extra` is written in the same write as the request.
 */
export const rawClient = (
  port: number,
  options: { readonly target?: string; readonly extra?: Uint8Array } = {}
): Effect.Effect<RawPeer, Error, import("effect/Scope").Scope> =>
  Effect.gen(function*() {
    const peer = yield* RawPeer.connect(port)
    const request = upgradeRequest(`127.0.0.1:${port}`, options.target ?? "/")
    yield* peer.write(options.extra === undefined ? request.bytes : concatAll([request.bytes, options.extra]))
    const { head } = yield* peer.until(() => peer.head(), "the 101")
    if (statusOf(head) !== 101) return yield* Effect.fail(new Error(`expected 101, got ${head}`))
    if (headerOf(head, "sec-websocket-accept") !== acceptOf(request.key)) {
      return yield* Effect.fail(new Error(`wrong Sec-WebSocket-Accept in ${head}`))
    }
    return peer
  })

/**
 * A raw server on 127.0.0.1 (ephemeral port) that answers each opening handshake by hand with a
 * 101 (right `Sec-WebSocket-Accept`, no extensions; `extra` in the same write) and then hands the
 * peer to `onOpen`; its `chunks` then hold only what came after the request. Closed, with its
 * connections, when the scope closes.
 */
export const rawServer = (
  onOpen: (peer: RawPeer) => void,
  options: { readonly extra?: Uint8Array } = {}
): Effect.Effect<{ readonly port: number; readonly peers: Array<RawPeer> }, Error, import("effect/Scope").Scope> =>
  Effect.gen(function*() {
    const peers: Array<RawPeer> = []
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const peer = new RawPeer(socket)
      peers.push(peer)
      let answered = false
      socket.on("data", () => {
        if (answered) return
        const head = peer.head()
        if (head === undefined) return
        answered = true
        const key = headerOf(head.head, "sec-websocket-key") ?? ""
        peer.chunks.splice(0)
        const response = latin1(
          `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Accept: ${acceptOf(key)}\r\n\r\n`
        )
        socket.write(options.extra === undefined ? response : concatAll([response, options.extra]))
        onOpen(peer)
      })
    })
    yield* Effect.acquireRelease(
      Effect.async<void, Error>((resume) => {
        server.once("error", (cause) => resume(Effect.fail(cause)))
        server.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const peer of peers) peer.socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return { port: (server.address() as net.AddressInfo).port, peers }
  })
