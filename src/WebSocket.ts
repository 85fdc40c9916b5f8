/**
 * A WebSocket connection as an Effect program sees it, once the opening handshake is done: the
 * messages as a pull-based `Stream`, `send` that suspends while too much is queued, `close`, and
 * the close the peer sent. `WebSocketServer` and `WebSocketClient` hand these out; `makeClient`
 * runs a client's opening handshake over any `@effect/platform` `Socket.Socket`.
 *
 * The driver does what RFC 6455 leaves to every endpoint: it answers pings (§5.5.2), runs the
 * closing handshake with a timeout (§7.1.1: the server closes TCP first), fails the connection with
 * the right close code on a protocol violation (§7.1.7), and sends keepalive pings.
 *
 * @since 0.2.0
 */
import type * as Socket from "@effect/platform/Socket"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import type * as Events from "./Events.js"
import type * as Extensions from "./Extensions.js"
import * as internal from "./internal/driver.js"
import type { WebSocketError } from "./WebSocketError.js"

/**
 * A message as the `messages` stream gives it: text as a string, binary as bytes.
 *
 * @since 0.2.0
 * @category models
 */
export type Message = string | Uint8Array

/**
 * A piece of a message as the `fragments` stream gives it, surfaced as its bytes arrive:
 * `frameFinished` marks the end of a frame, `messageFinished` the end of the message.
 *
 * @since 0.2.0
 * @category models
 */
export type Fragment = Events.TextMessage | Events.BytesMessage

/**
 * A close status (RFC 6455 §7.1.5, §7.1.6): the code and reason of a close frame. A close frame
 * without a code reads as 1005.
 *
 * @since 0.2.0
 * @category models
 */
export interface CloseInfo {
  readonly code: number
  readonly reason: string
}

/**
 * The one error of the driver, told apart by `reason` (see `WebSocketError`).
 *
 * @since 0.2.0
 * @category errors
 */
export { WebSocketError } from "./WebSocketError.js"

/**
 * The options of a connection, shared by servers and clients. Durations are `Duration` inputs;
 * `Infinity` turns a timeout off.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /**
   * Largest message accepted, counted after decompression; larger fails the connection with 1009.
   * Default `DEFAULT_MAX_MESSAGE_SIZE` (1 MiB). `Infinity` for no limit.
   */
  readonly maxMessageSize?: number
  /** Largest frame payload accepted; larger fails with 1009. Default: `maxMessageSize`. */
  readonly maxFrameSize?: number
  /**
   * Bytes of received messages (characters for text) queued for the consumer before the socket is
   * no longer read. Default `DEFAULT_READ_HIGH_WATER_MARK` (64 KiB).
   */
  readonly readHighWaterMark?: number
  /** Bytes queued for writing above which `send` suspends. Default `DEFAULT_WRITE_HIGH_WATER_MARK` (64 KiB). */
  readonly writeHighWaterMark?: number
  /**
   * How long to wait for the peer's close frame after sending one, and then for the transport to
   * end. Default 10 seconds.
   */
  readonly closeTimeout?: Duration.DurationInput
  /** Send a keepalive ping this long after the last one was answered. Default 20 seconds. */
  readonly pingInterval?: Duration.DurationInput
  /** A keepalive ping not answered in this time fails the connection with 1011. Default 20 seconds. */
  readonly pongTimeout?: Duration.DurationInput
  /** Split outgoing messages into frames of at most this many bytes. Default: one frame each. */
  readonly fragmentSize?: number
}

/**
 * Default `maxMessageSize`: 1 MiB, as Python `websockets` (a server on the internet should not
 * hold more for a stranger).
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_MAX_MESSAGE_SIZE: number = internal.DEFAULT_MAX_MESSAGE_SIZE

/**
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_READ_HIGH_WATER_MARK: number = internal.DEFAULT_READ_HIGH_WATER_MARK

/**
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_WRITE_HIGH_WATER_MARK: number = internal.DEFAULT_WRITE_HIGH_WATER_MARK

/**
 * An open WebSocket connection.
 *
 * @since 0.2.0
 * @category models
 */
export interface WebSocket {
  /**
   * The received messages, whole, in order. The socket is read only as fast as this is pulled
   * (beyond `readHighWaterMark`). Ends after the closing handshake; fails with a `WebSocketError`
   * otherwise. Pull either `messages` or `fragments`, not both.
   */
  readonly messages: Stream.Stream<Message, WebSocketError>
  /**
   * Calls `handler` for every received message, in order, until the connection ends (as
   * `@effect/platform`'s `Socket.run`): succeeds after the closing handshake, fails as `messages`
   * does or with the handler's error. The handler runs in the step that read the message, with
   * no fiber switch: an Effect it returns runs at once, and while one is suspended (a `send` over
   * the write high-water mark, any wait) the socket is not read. The fastest way to consume a
   * connection; use it or `messages` or `fragments`, one at a time.
   */
  readonly run: <_ = void, E = never, R = never>(
    handler: (message: Message) => Effect.Effect<_, E, R> | void
  ) => Effect.Effect<void, WebSocketError | E, R>
  /** The received messages piece by piece, as their bytes arrive. */
  readonly fragments: Stream.Stream<Fragment, WebSocketError>
  /** Sends a message: text for a string, binary for bytes. Suspends while the write queue is full. */
  readonly send: (data: Message) => Effect.Effect<void, WebSocketError>
  /**
   * Sends a piece of a message; the message ends with the piece whose `messageFinished` is true.
   * Pieces of one message have one type.
   */
  readonly sendFragment: (data: Message, messageFinished: boolean) => Effect.Effect<void, WebSocketError>
  /**
   * Bytes queued for writing and not yet handed to the transport (WHATWG `bufferedAmount`): what
   * a broadcaster reads to drop or disconnect a peer that does not keep up.
   */
  readonly bufferedAmount: Effect.Effect<number>
  /** `send` as a `Sink`. */
  readonly sink: Sink.Sink<void, Message, never, WebSocketError>
  /** Sends a ping and waits for its pong; gives the round-trip time. */
  readonly ping: (payload?: Uint8Array) => Effect.Effect<Duration.Duration, WebSocketError>
  /**
   * Starts the closing handshake (RFC 6455 §7.1.2) and waits for it to end: gives the peer's
   * close. Messages that arrive meanwhile are dropped. Default code 1000.
   */
  readonly close: (code?: number, reason?: string) => Effect.Effect<CloseInfo, WebSocketError>
  /**
   * Waits for the connection to end: the peer's close after a closing handshake, or the failure
   * that ended it (an end of the transport without one is `Closed` with 1006).
   */
  readonly closed: Effect.Effect<CloseInfo, WebSocketError>
  /** The subprotocol agreed in the handshake, if any. */
  readonly protocol: string | undefined
  /** The extensions agreed in the handshake, in order (`PerMessageDeflate.Negotiated` for deflate). */
  readonly extensions: ReadonlyArray<Extensions.Extension>
  /** Server: the handshake's request (target, host, headers, offers). */
  readonly request: Events.Request | undefined
  /** Client: the server's accepting response (its headers, subprotocol, extensions). */
  readonly response: Events.AcceptConnection | undefined
}

/**
 * Runs the opening handshake over a socket as a client: sends the request, reads the response,
 * and gives the open connection. The connection lives in the scope: closing it closes the
 * connection with 1000.
 *
 * Any `@effect/platform` `Socket.Socket` carries it; sockets whose `run` waits for the Effect its
 * handler returns (`NodeTransport`'s) read no further than `readHighWaterMark`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeClient: (
  socket: Socket.Socket,
  request: Events.Request,
  options?: Options & { readonly handshakeTimeout?: Duration.DurationInput; readonly maxHeadSize?: number }
) => Effect.Effect<WebSocket, WebSocketError, Scope.Scope> = internal.makeClient
