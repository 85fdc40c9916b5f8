/**
 * WebSocket clients: `connect` opens a `ws://` or `wss://` URL and gives the open connection,
 * with permessage-deflate offered by default.
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import * as WebSocketClient from "effect-wsproto/WebSocketClient"
 *
 * const program = Effect.gen(function*() {
 *   const ws = yield* WebSocketClient.connect("ws://127.0.0.1:8080/ws")
 *   yield* ws.send("hello")
 *   const reply = yield* Stream.runHead(ws.messages)
 * }).pipe(Effect.scoped)   // closing the scope closes the connection with 1000
 * ```
 *
 * @since 0.2.0
 */
import type * as Socket from "@effect/platform/Socket"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Tls from "node:tls"
import * as Events from "./Events.js"
import { DEFAULT_HANDSHAKE_TIMEOUT, makeClient } from "./internal/driver.js"
import * as NodeTransport from "./NodeTransport.js"
import * as PerMessageDeflate from "./PerMessageDeflate.js"
import type { Options, WebSocket } from "./WebSocket.js"
import { WebSocketError } from "./WebSocketError.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface ConnectOptions extends Options {
  /** Subprotocols to offer, in order of preference (`Sec-WebSocket-Protocol`). */
  readonly protocols?: ReadonlyArray<string>
  /** Extra request headers, such as `Authorization` or `Origin`. */
  readonly headers?: Events.Headers
  /**
   * permessage-deflate (RFC 7692): `true` (the default) offers it as browsers do
   * (`permessage-deflate; client_max_window_bits`), `false` does not, options tune it.
   */
  readonly deflate?: boolean | PerMessageDeflate.PerMessageDeflateOptions
  /** Opening the connection and the handshake together, at most. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.DurationInput
  /** Largest response head accepted, in bytes. Default 16 KiB. */
  readonly maxHeadSize?: number
  /** For `wss://`: Node's TLS options (`ca` for a private CA, `servername`, `rejectUnauthorized`). */
  readonly tls?: Omit<Tls.ConnectionOptions, "host" | "port" | "socket">
}

/**
 * The parts of a WebSocket URL (RFC 6455 §3): whether it is secure, where to connect, and what
 * goes into the request line and `Host`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Target {
  readonly secure: boolean
  readonly hostname: string
  readonly port: number
  /** `Host` (RFC 6455 §4.1): the host, with the port when it is not the scheme's default. */
  readonly host: string
  /** The path and query: the request target. */
  readonly resource: string
}

/**
 * Reads a `ws://` or `wss://` URL; `None` for anything else, or a URL with a fragment (RFC 6455
 * §3 forbids one).
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseUrl = (url: string): Option.Option<Target> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Option.none()
  }
  const secure = parsed.protocol === "wss:"
  if ((!secure && parsed.protocol !== "ws:") || parsed.hash !== "" || url.includes("#")) return Option.none()
  const port = parsed.port === "" ? (secure ? 443 : 80) : Number(parsed.port)
  // URL keeps IPv6 hosts bracketed; sockets want them bare.
  const hostname = parsed.hostname.replace(/^\[(.*)\]$/, "$1")
  return Option.some({ secure, hostname, port, host: parsed.host, resource: `${parsed.pathname}${parsed.search}` })
}

const invalidUrl = (url: string) =>
  new WebSocketError({ reason: "HandshakeFailed", message: `Not a ws:// or wss:// URL without a fragment: ${url}` })

/**
 * The request `connect` sends: the URL's target and host, the subprotocols, extensions and headers
 * of the options.
 *
 * @since 0.2.0
 * @category constructors
 */
export const request = (target: Target, options: ConnectOptions = {}): Events.Request => {
  const deflate = options.deflate ?? true
  return new Events.Request({
    host: target.host,
    target: target.resource,
    subprotocols: options.protocols ?? [],
    extensions: deflate === false ? [] : [PerMessageDeflate.make(deflate === true ? {} : deflate)],
    extraHeaders: options.headers ?? []
  })
}

/**
 * Connects to a `ws://` or `wss://` URL and runs the opening handshake: the open connection, or a
 * `WebSocketError` (`HandshakeRejected` with the response's status, headers and body for a
 * non-101 answer; `HandshakeTimeout`; `Transport` when the connection cannot be opened).
 * Closing the scope closes the connection with 1000.
 *
 * @since 0.2.0
 * @category constructors
 */
export const connect = (
  url: string,
  options: ConnectOptions = {}
): Effect.Effect<WebSocket, WebSocketError, Scope.Scope> =>
  Option.match(parseUrl(url), {
    onNone: () => Effect.fail(invalidUrl(url)),
    onSome: (target) => {
      const timeout = Duration.decode(options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT)
      // One deadline for both: the connection (cut off when it runs out), then the handshake
      // (whose own timeout aborts the socket) in what is left of it.
      return Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        const socket = yield* (Duration.isFinite(timeout)
          ? Effect.timeoutFail(open(target, options), { duration: timeout, onTimeout: () => handshakeTimeout(timeout) })
          : open(target, options))
        const left = Duration.subtract(timeout, Duration.millis((yield* Clock.currentTimeMillis) - started))
        return yield* makeClient(socket, request(target, options), {
          ...options,
          handshakeTimeout: Duration.max(left, Duration.millis(1))
        })
      })
    }
  })

const handshakeTimeout = (timeout: Duration.Duration) =>
  new WebSocketError({
    reason: "HandshakeTimeout",
    message: `HandshakeTimeout: no answer in ${Duration.format(timeout)}.`
  })

const open = (target: Target, options: ConnectOptions): Effect.Effect<Socket.Socket, WebSocketError, Scope.Scope> =>
  (target.secure
    ? NodeTransport.connectTls({ ...options.tls, host: target.hostname, port: target.port })
    : NodeTransport.connectTcp({ host: target.hostname, port: target.port })).pipe(
      Effect.mapError((cause) =>
        new WebSocketError({
          reason: "Transport",
          message: `Cannot connect to ${target.host}: ${
            cause.cause instanceof Error ? cause.cause.message : cause.message
          }`,
          cause
        })
      )
    )
