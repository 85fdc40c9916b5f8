/**
 * WebSocket servers: listen on a host and port (plain or TLS), or take the `'upgrade'` requests
 * of an existing Node `http`/`https` server, and run a handler for each connection in its own
 * supervised fiber.
 *
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as WebSocketServer from "effect-wsproto/WebSocketServer"
 *
 * const echo = Effect.gen(function*() {
 *   const server = yield* WebSocketServer.make({ host: "127.0.0.1", port: 8080 })
 *   yield* server.run((ws) => ws.run(ws.send))
 * }).pipe(Effect.scoped)   // closing the scope sends 1001 to every connection
 * ```
 *
 * Each request goes through, in order: the connection limit (503), the origin allow-list (403),
 * then `onRequest`, where authentication belongs, which accepts or rejects it.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { constVoid } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import type * as Http from "node:http"
import * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as Tls from "node:tls"
import type * as Events from "./Events.js"
import type * as Extensions from "./Extensions.js"
import { CloseReason } from "./internal/closeCode.js"
import { acceptServer, type Decision as InternalDecision, DEFAULT_HANDSHAKE_TIMEOUT } from "./internal/driver.js"
import * as NodeTransport from "./NodeTransport.js"
import * as PerMessageDeflate from "./PerMessageDeflate.js"
import type { Options, WebSocket } from "./WebSocket.js"
import { WebSocketError } from "./WebSocketError.js"

/**
 * How a server answers a request: accept it, or reject it with an HTTP response.
 *
 * @since 0.2.0
 * @category models
 */
export type Decision = InternalDecision

/**
 * Accepts the request: with a subprotocol (one the client offered), extensions (by default the
 * server's, permessage-deflate unless switched off), and extra response headers.
 *
 * @since 0.2.0
 * @category constructors
 */
export const accept = (options: {
  readonly subprotocol?: string | undefined
  readonly extensions?: ReadonlyArray<Extensions.Extension>
  readonly headers?: Events.Headers
} = {}): Decision => ({ _tag: "Accept", ...options })

/**
 * Rejects the request with an HTTP response: the status, headers and a body.
 *
 * @since 0.2.0
 * @category constructors
 */
export const reject = (
  status: number,
  options: { readonly headers?: Events.Headers; readonly body?: string | Uint8Array } = {}
): Decision => ({
  _tag: "Reject",
  status,
  headers: options.headers ?? [],
  body: typeof options.body === "string" ? new TextEncoder().encode(options.body) : options.body ?? new Uint8Array(0)
})

/**
 * What `onRequest` sees of a request besides the `Request` event: the peer's address.
 *
 * @since 0.2.0
 * @category models
 */
export interface RequestInfo {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
}

/**
 * The options of a server's connections, and how it decides on requests.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServeOptions extends Options {
  /**
   * The origins allowed to open a connection (`Origin` compared exactly, e.g.
   * `"https://example.com"`), or a predicate. A browser always sends `Origin`, so this is the
   * defence against cross-site WebSocket hijacking (RFC 6455 §10.2): a page on another site that
   * opens a WebSocket to this server with the user's cookies gets 403. Requests without `Origin`
   * (not from a browser) are allowed. Default: every origin.
   */
  readonly allowedOrigins?: ReadonlyArray<string> | ((origin: string | undefined) => boolean)
  /** Subprotocols this server speaks: the first the client offers is chosen. */
  readonly subprotocols?: ReadonlyArray<string>
  /**
   * permessage-deflate (RFC 7692): `true` (the default) accepts a client's offer, `false`
   * declines it, options tune it.
   */
  readonly deflate?: boolean | PerMessageDeflate.PerMessageDeflateOptions
  /** At most this many connections at once (handshakes included); more are answered 503. */
  readonly maxConnections?: number
  /** From the connection to the 101 at most, `onRequest` included. Default 10 seconds. */
  readonly handshakeTimeout?: Duration.DurationInput
  /** Largest request head accepted, in bytes (431 beyond). Default 16 KiB. */
  readonly maxHeadSize?: number
  /** Most request header fields accepted (431 beyond). Default 100. */
  readonly maxHeaders?: number
}

/**
 * A connection handler, and the hook that decides on each request before it (default: accept).
 *
 * @since 0.2.0
 * @category models
 */
export interface Handlers<R> {
  readonly onRequest?: (request: Events.Request, info: RequestInfo) => Effect.Effect<Decision, never, R>
}

/**
 * The header fields of a request, looked up by name (case-insensitive): the first value.
 *
 * @since 0.2.0
 * @category utils
 */
export const header = (request: Events.Request, name: string): string | undefined => {
  const lower = name.toLowerCase()
  if (lower === "host") return request.host
  return request.extraHeaders.find(([key]) => key.toLowerCase() === lower)?.[1]
}

/**
 * @since 0.2.0
 * @category errors
 */
export class WebSocketServerError extends Data.TaggedError("WebSocketServerError")<{
  readonly reason: "Listen"
  readonly cause: unknown
}> {
  override get message() {
    return `The server could not listen: ${String((this.cause as Error | undefined)?.message ?? this.cause)}`
  }
}

/**
 * @since 0.2.0
 * @category models
 */
export interface Address {
  readonly hostname: string
  readonly port: number
}

/**
 * A listening server. `run` serves every connection with the handler until interrupted;
 * connections that arrive before it waits.
 *
 * @since 0.2.0
 * @category models
 */
export interface WebSocketServer {
  readonly address: Address
  /** Open connections, handshakes included. */
  readonly connections: Effect.Effect<number>
  readonly run: <E, R>(
    handler: (socket: WebSocket) => Effect.Effect<void, E, R>,
    handlers?: Handlers<R>
  ) => Effect.Effect<never, never, R>
}

/**
 * @since 0.2.0
 * @category tags
 */
export const WebSocketServer: Context.Tag<WebSocketServer, WebSocketServer> = Context.GenericTag<WebSocketServer>(
  "effect-wsproto/WebSocketServer"
)

/**
 * @since 0.2.0
 * @category models
 */
export interface ListenOptions extends ServeOptions {
  /** Default: every interface, as Node listens. */
  readonly host?: string
  /** Default 0: an ephemeral port, readable in `address`. */
  readonly port?: number
  /** Serve `wss://`: Node's TLS server options, `key` and `cert` at least. */
  readonly tls?: Tls.TlsOptions
}

const tlsHandshakeTimeout = (options: ServeOptions): number => {
  const timeout = Duration.decode(options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT)
  // Node takes milliseconds up to 2^31 - 1: the longest it can wait stands for "off".
  return Duration.isFinite(timeout) ? Duration.toMillis(timeout) : 2 ** 31 - 1
}

/** Everything a connection needs from its server. */
interface Serving<E, R> {
  readonly options: ServeOptions
  readonly handler: (socket: WebSocket) => Effect.Effect<void, E, R>
  readonly onRequest: ((request: Events.Request, info: RequestInfo) => Effect.Effect<Decision, never, R>) | undefined
  readonly count: { value: number }
}

const originAllowed = (allowed: ServeOptions["allowedOrigins"], origin: string | undefined): boolean => {
  if (allowed === undefined) return true
  if (typeof allowed === "function") return allowed(origin)
  return origin === undefined || allowed.includes(origin)
}

/** The decision before `onRequest`, then `onRequest`'s, completed with the server's defaults. */
const decide =
  <R>(serving: Serving<unknown, R>, info: RequestInfo) =>
  (request: Events.Request): Effect.Effect<Decision, never, R> => {
    const { options } = serving
    if (options.maxConnections !== undefined && serving.count.value > options.maxConnections) {
      return Effect.succeed(reject(503, { headers: [["Retry-After", "1"]], body: "Too many connections." }))
    }
    if (!originAllowed(options.allowedOrigins, header(request, "origin"))) {
      return Effect.succeed(reject(403, { body: "Origin not allowed." }))
    }
    const chosen = request.subprotocols.find((protocol) => options.subprotocols?.includes(protocol))
    const deflate = options.deflate ?? true
    const extensions = deflate === false ? [] : [PerMessageDeflate.make(deflate === true ? {} : deflate)]
    const defaults = accept({ subprotocol: chosen, extensions })
    if (serving.onRequest === undefined) return Effect.succeed(defaults)
    return Effect.map(serving.onRequest(request, info), (decision) =>
      decision._tag === "Accept"
        ? {
          ...defaults,
          ...decision,
          extensions: decision.extensions ?? extensions,
          subprotocol: "subprotocol" in decision ? decision.subprotocol : chosen
        }
        : decision)
  }

/**
 * One connection, from its handshake to its end: rejected requests end here; an accepted one runs
 * the handler, then closes with 1000 when it returns, 1011 when it fails (logged), 1001 when it is
 * interrupted.
 */
const serveConnection = <E, R>(
  serving: Serving<E, R>,
  duplex: Duplex,
  info: RequestInfo,
  upgrade?: { readonly headers: Events.Headers; readonly target: string; readonly head: Uint8Array }
): Effect.Effect<void, never, R> =>
  // Written with few combinators: each one is a frame the fiber keeps for the connection's life.
  Effect.flatMap(Scope.make(), (scope) =>
    Effect.onExit(
      Effect.matchCauseEffect(
        Scope.extend(
          Effect.flatMap(
            NodeTransport.fromDuplex(duplex, upgrade === undefined ? {} : { head: upgrade.head }),
            (transport) =>
              acceptServer(transport, decide(serving as Serving<unknown, R>, info), serving.options, upgrade)
          ),
          scope
        ),
        {
          onFailure: (cause) => Effect.logDebug("WebSocket handshake failed", cause),
          onSuccess: Option.match({
            onNone: () => Effect.void,
            onSome: (ws) => Effect.flatMap(Effect.exit(serving.handler(ws)), (exit) => afterHandler(ws, exit))
          })
        }
      ),
      (exit) => {
        serving.count.value--
        return Scope.close(scope, exit)
      }
    ))

/** The close after the handler: 1000 when it returned, 1011 when it failed (logged), none when interrupted. */
const afterHandler = (ws: WebSocket, exit: Exit.Exit<void, unknown>): Effect.Effect<void> => {
  if (Exit.isSuccess(exit)) return Effect.ignore(ws.close(CloseReason.NORMAL_CLOSURE))
  if (Cause.isInterruptedOnly(exit.cause)) return Effect.void
  // The connection's own end (the peer left, broke the protocol) is not the handler's bug.
  const ended = Option.exists(Cause.failureOption(exit.cause), (failure) => failure instanceof WebSocketError)
  return Effect.zipRight(
    ended
      ? Effect.logDebug("WebSocket connection ended", exit.cause)
      : Effect.logError("WebSocket handler failed", exit.cause),
    Effect.ignore(ws.close(CloseReason.INTERNAL_ERROR, "internal error"))
  )
}

/** Runs connections in fibers of the scope; closing it interrupts them all at once. */
const connectionSet = <R>() =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<R>()
    const fibers = new Set<Fiber.RuntimeFiber<void>>()
    yield* Effect.addFinalizer(() => Fiber.interruptAll(fibers))
    const fork = (effect: Effect.Effect<void, never, R>) => {
      const fiber = Runtime.runFork(runtime)(effect)
      fibers.add(fiber)
      fiber.addObserver(() => fibers.delete(fiber))
    }
    return fork
  })

const remoteInfo = (socket: Net.Socket): RequestInfo => ({
  remoteAddress: socket.remoteAddress,
  remotePort: socket.remotePort
})

/**
 * Listens on a host and port, plain or TLS (`tls`): the server, listening, once the scope is
 * open. Closing the scope stops accepting, sends 1001 to every open connection at once and waits
 * for their closing handshakes (each at most the close timeout).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (options: ListenOptions = {}): Effect.Effect<WebSocketServer, WebSocketServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const pending: Array<Net.Socket> = []
    let onSocket: ((socket: Net.Socket) => void) | undefined
    const accepted = (socket: Net.Socket) => {
      // Until its connection takes it, an error on a waiting socket must not crash the process.
      socket.on("error", constVoid)
      socket.setNoDelay(true)
      if (onSocket === undefined) pending.push(socket)
      else onSocket(socket)
    }
    const server = options.tls === undefined
      ? Net.createServer(accepted)
      : Tls.createServer(
        // A TLS handshake is part of the opening handshake: it gets the same time.
        { handshakeTimeout: tlsHandshakeTimeout(options), ...options.tls },
        accepted as (socket: Tls.TLSSocket) => void
      )
    // A TLS handshake that fails never becomes a connection.
    server.on("tlsClientError", (_error: Error, socket: Duplex) => socket.destroy())
    // Every TCP connection, also one whose TLS handshake is not done: closing the server ends them.
    const sockets = new Set<Net.Socket>()
    server.on("connection", (socket: Net.Socket) => {
      socket.on("error", constVoid)
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
    })
    yield* Effect.acquireRelease(
      Effect.async<void, WebSocketServerError>((resume) => {
        server.once("error", (cause) => resume(Effect.fail(new WebSocketServerError({ reason: "Listen", cause }))))
        server.listen({ host: options.host, port: options.port ?? 0 }, () => resume(Effect.void))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          for (const socket of pending.splice(0)) socket.destroy()
          for (const socket of sockets) socket.destroy()
        })
    )
    const address = server.address() as Net.AddressInfo
    const count = { value: 0 }
    const scope = yield* Effect.scope
    return WebSocketServer.of({
      address: { hostname: address.address, port: address.port },
      connections: Effect.sync(() => count.value),
      run: <E, R>(handler: (socket: WebSocket) => Effect.Effect<void, E, R>, handlers: Handlers<R> = {}) =>
        Effect.gen(function*() {
          const fork = yield* Scope.extend(connectionSet<R>(), scope)
          const serving: Serving<E, R> = { options, handler, onRequest: handlers.onRequest, count }
          onSocket = (socket) => {
            count.value++
            fork(serveConnection(serving, socket, remoteInfo(socket)))
          }
          for (const socket of pending.splice(0)) onSocket(socket)
          return yield* Effect.never
        }).pipe(Effect.ensuring(Effect.sync(() => (onSocket = undefined))))
    })
  })

/**
 * The server as a Layer: listening while the Layer lives.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: ListenOptions = {}): Layer.Layer<WebSocketServer, WebSocketServerError> =>
  Layer.scoped(WebSocketServer, make(options))

/**
 * Listens and serves every connection with `handler`, until interrupted: `make` and `run` in one.
 *
 * @since 0.2.0
 * @category constructors
 */
export const serve = <E, R>(
  options: ListenOptions,
  handler: (socket: WebSocket) => Effect.Effect<void, E, R>,
  handlers: Handlers<R> = {}
): Effect.Effect<never, WebSocketServerError, R> =>
  Effect.scoped(Effect.flatMap(make(options), (server) => server.run(handler, handlers)))

/**
 * Takes the WebSocket upgrades of an existing Node `http` or `https` server (its `'upgrade'`
 * event) while the scope is open, so that one server serves HTTP routes and WebSockets. With
 * `path`, only requests for that path (query ignored) are taken; others get 404. Closing the
 * scope sends 1001 to the connections it took.
 *
 * @since 0.2.0
 * @category constructors
 */
export const attach = <E, R>(
  server: Http.Server,
  handler: (socket: WebSocket) => Effect.Effect<void, E, R>,
  options: ServeOptions & Handlers<R> & { readonly path?: string } = {}
): Effect.Effect<void, never, R | Scope.Scope> =>
  Effect.gen(function*() {
    const fork = yield* connectionSet<R>()
    const count = { value: 0 }
    const serving: Serving<E, R> = { options, handler, onRequest: options.onRequest, count }
    const onUpgrade = (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const target = request.url ?? "/"
      // RFC 6455 §4.1: a GET of HTTP/1.1 or newer.
      if (request.method !== "GET" || request.httpVersion === "1.0") {
        socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
      }
      if (options.path !== undefined && target.split("?")[0] !== options.path) {
        socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
      }
      const net = socket as Net.Socket
      socket.on("error", constVoid)
      if (typeof net.setNoDelay === "function") net.setNoDelay(true)
      const headers: Array<readonly [string, string]> = []
      for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
        headers.push([request.rawHeaders[i]!, request.rawHeaders[i + 1]!])
      }
      count.value++
      fork(serveConnection(serving, socket, remoteInfo(net), { headers, target, head }))
    }
    yield* Effect.acquireRelease(
      Effect.sync(() => server.on("upgrade", onUpgrade)),
      () => Effect.sync(() => server.off("upgrade", onUpgrade))
    )
  })
