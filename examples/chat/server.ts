/**
 * `npm start`: a chat in the browser. A Node `http` server serves the page (`index.html`,
 * `style.css`, `chat.js`, read from this folder) and takes the WebSocket upgrades on `/ws` with
 * `WebSocketServer.attach`. Run it: `npm start` (127.0.0.1:8080; `HOST` and `PORT` override,
 * `PORT=0` picks a free port), then open the URL it prints in a few tabs. Ctrl-C (SIGINT) or
 * SIGTERM sends 1001 (going away) to every open connection and exits 0.
 *
 * The protocol, JSON in text messages:
 *
 * - client → server: `{ type: "join", name }` first, then `{ type: "say", text }`;
 * - server → client: `{ type: "welcome", names, online }` to the one who joined, then to everyone
 *   `{ type: "joined", name, online }`, `{ type: "left", name, online }`, `{ type: "said", name, text }`.
 *
 * Bad input ends the connection (RFC 6455 §7.4.1): a binary message is 1003 (unsupported data:
 * this chat speaks text), anything else that breaks the protocol (not JSON, not one of the two
 * messages, a name or text empty or too long, a second join, a taken name, a say before the join)
 * is 1008 (policy violation), with the reason in the close frame. A message over `maxMessageSize`
 * (16 KiB) is 1009, from the driver.
 *
 * Slow tabs. A message is sent to every member by the fiber of the connection that said it, one
 * member after the other, and `send` must never wait for one of them. The policy: before each
 * message to a member, its `ws.bufferedAmount` (bytes queued for its socket and not yet written)
 * is read; above `maxBacklog` (default 1 MiB) the member is disconnected with 1008 "too slow"
 * (everyone else sees it leave) and gets nothing more. A member under the bound gets the message
 * at once: `writeHighWaterMark` (above which `send` suspends) is `maxBacklog` plus more than the
 * largest message, so a `send` that passed the check never suspends, and the broadcast goes on to
 * the next member. Nothing is forked per message: the kick only completes a Deferred that the
 * member's own fiber is waiting on, which then closes that connection. So a connection holds at
 * most `maxBacklog` plus one message in this process (and what the kernel's socket buffers take),
 * however fast the others talk.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs/promises"
import * as Http from "node:http"
import type * as Net from "node:net"
import * as Os from "node:os"
import type * as WebSocket from "../../src/WebSocket.js"
import * as WebSocketServer from "../../src/WebSocketServer.js"

// ---- limits ----------------------------------------------------------------------------------

/** Longest name, in UTF-16 code units, after trimming. */
export const MAX_NAME = 32
/** Longest message text, in UTF-16 code units, after trimming. */
export const MAX_TEXT = 1000
/** Largest WebSocket message the server accepts (a join or a say is far smaller). */
export const MAX_MESSAGE_SIZE = 16 * 1024
/** Default bound on a member's backlog (`bufferedAmount`) beyond which it is disconnected. */
export const DEFAULT_MAX_BACKLOG = 1024 * 1024
/** At most this many WebSocket connections at once (503 beyond). */
const MAX_CONNECTIONS = 1000

// ---- the protocol ----------------------------------------------------------------------------

const Name = Schema.Trim.pipe(
  Schema.minLength(1),
  Schema.maxLength(MAX_NAME),
  Schema.pattern(/^[^\p{Cc}\p{Cf}]*$/u, { message: () => "a name has no control characters" })
)
const Text = Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(MAX_TEXT))

/** What a client may send. */
export const ClientMessage = Schema.Union(
  Schema.Struct({ type: Schema.Literal("join"), name: Name }),
  Schema.Struct({ type: Schema.Literal("say"), text: Text })
)
export type ClientMessage = typeof ClientMessage.Type

/** What the server sends. */
export type ServerMessage =
  | { readonly type: "welcome"; readonly names: ReadonlyArray<string>; readonly online: number }
  | { readonly type: "joined" | "left"; readonly name: string; readonly online: number }
  | { readonly type: "said"; readonly name: string; readonly text: string }

const decodeClientMessage = Schema.decodeUnknownEither(Schema.parseJson(ClientMessage))

/** RFC 6455 §7.4.1 close codes used here. */
const UNSUPPORTED_DATA = 1003
const POLICY_VIOLATION = 1008

/** Why a connection is being ended by the chat: the close code and reason to send. */
class Violation extends Data.TaggedError("Violation")<{ readonly code: number; readonly reason: string }> {}

const policy = (reason: string) => new Violation({ code: POLICY_VIOLATION, reason })

// ---- the room --------------------------------------------------------------------------------

/** A connection as the room knows it. */
interface Peer {
  readonly id: number
  readonly ws: WebSocket.WebSocket
  /** Completed when the peer fell too far behind: its fiber then closes it with 1008. */
  readonly kicked: Deferred.Deferred<void>
}

interface Member {
  readonly peer: Peer
  readonly name: string
}

type Members = HashMap.HashMap<number, Member>

interface Room {
  /** The connection, in the room until the scope closes (then it leaves, if it had joined). */
  readonly enter: (ws: WebSocket.WebSocket) => Effect.Effect<Peer, never, Scope.Scope>
  readonly join: (peer: Peer, name: string) => Effect.Effect<void, Violation>
  readonly say: (peer: Peer, text: string) => Effect.Effect<void, Violation>
  /** Leaves the room (no-op unless joined): everyone else sees it. */
  readonly leave: (peer: Peer) => Effect.Effect<void>
  readonly online: Effect.Effect<number>
  readonly connections: Effect.Effect<number>
  readonly largestBacklog: Effect.Effect<number>
}

const makeRoom = (maxBacklog: number) =>
  Effect.gen(function*() {
    const peers = yield* Ref.make(HashMap.empty<number, Peer>())
    const members = yield* Ref.make(HashMap.empty<number, Member>())
    let nextId = 0

    /** One message to one peer, under the slow-tab policy (see the top of this file). */
    const deliver = (peer: Peer, data: string) =>
      Effect.gen(function*() {
        if (yield* Deferred.isDone(peer.kicked)) return
        const backlog = yield* peer.ws.bufferedAmount
        if (backlog > maxBacklog) {
          yield* Effect.logWarning(`Disconnecting a member ${backlog} bytes behind (more than ${maxBacklog})`)
          yield* Deferred.succeed(peer.kicked, undefined)
          return
        }
        // Never suspends: writeHighWaterMark > maxBacklog + the largest message. A peer that is
        // already closing fails with `Closed`: nothing to do.
        yield* Effect.ignore(peer.ws.send(data))
      })

    /** To every member; not interrupted halfway, so that every member or none gets a message. */
    const broadcast = (message: ServerMessage) =>
      Effect.gen(function*() {
        const data = JSON.stringify(message)
        for (const member of HashMap.values(yield* Ref.get(members))) yield* deliver(member.peer, data)
      }).pipe(Effect.uninterruptible)

    const leave = (peer: Peer) =>
      Effect.gen(function*() {
        const [left, online] = yield* Ref.modify(members, (all) => {
          const member = HashMap.get(all, peer.id)
          const rest = HashMap.remove(all, peer.id)
          return [[member, HashMap.size(rest)] as const, rest]
        })
        if (Option.isSome(left)) {
          yield* Effect.logDebug(`${left.value.name} left (${online} online)`)
          yield* broadcast({ type: "left", name: left.value.name, online })
        }
      }).pipe(Effect.uninterruptible)

    const room: Room = {
      enter: (ws) =>
        Effect.acquireRelease(
          Effect.gen(function*() {
            const peer: Peer = { id: nextId++, ws, kicked: yield* Deferred.make<void>() }
            yield* Ref.update(peers, HashMap.set(peer.id, peer))
            return peer
          }),
          (peer) => Effect.zipRight(leave(peer), Ref.update(peers, HashMap.remove(peer.id)))
        ),
      join: (peer, name) =>
        Effect.gen(function*() {
          const joined = yield* Ref.modify(members, (all): readonly [Either.Either<Members, Violation>, Members] => {
            if (HashMap.has(all, peer.id)) return [Either.left(policy("already joined")), all]
            for (const member of HashMap.values(all)) {
              if (member.name === name) return [Either.left(policy("name taken")), all]
            }
            const next = HashMap.set(all, peer.id, { peer, name })
            return [Either.right(next), next]
          })
          if (Either.isLeft(joined)) return yield* joined.left
          const all = joined.right
          const online = HashMap.size(all)
          yield* Effect.logDebug(`${name} joined (${online} online)`)
          const names = Array.from(HashMap.values(all), (member) => member.name).sort()
          yield* deliver(peer, JSON.stringify({ type: "welcome", names, online } satisfies ServerMessage))
          yield* broadcast({ type: "joined", name, online })
        }).pipe(Effect.uninterruptible),
      say: (peer, text) =>
        Effect.flatMap(Ref.get(members), (all) =>
          Option.match(HashMap.get(all, peer.id), {
            onNone: () => Effect.fail(policy("join first")),
            onSome: (member) => broadcast({ type: "said", name: member.name, text })
          })),
      leave,
      online: Effect.map(Ref.get(members), HashMap.size),
      connections: Effect.map(Ref.get(peers), HashMap.size),
      largestBacklog: Effect.gen(function*() {
        let largest = 0
        for (const peer of HashMap.values(yield* Ref.get(peers))) {
          largest = Math.max(largest, yield* peer.ws.bufferedAmount)
        }
        return largest
      })
    }
    return room
  })

/** What one received message does. */
const handle = (room: Room, peer: Peer, message: WebSocket.Message): Effect.Effect<void, Violation> => {
  if (typeof message !== "string") return Effect.fail(new Violation({ code: UNSUPPORTED_DATA, reason: "text only" }))
  const decoded = decodeClientMessage(message)
  if (Either.isLeft(decoded)) return Effect.fail(policy("bad message"))
  const command = decoded.right
  return command.type === "join" ? room.join(peer, command.name) : room.say(peer, command.text)
}

/** One connection: its messages until it ends, is kicked, or breaks the protocol. */
const connection = (room: Room) => (ws: WebSocket.WebSocket): Effect.Effect<void> =>
  Effect.gen(function*() {
    const peer = yield* room.enter(ws)
    const kicked = Effect.zipRight(Deferred.await(peer.kicked), Effect.fail(policy("too slow")))
    const outcome = yield* Stream.runForEach(ws.messages, (message) => handle(room, peer, message)).pipe(
      Effect.raceFirst(kicked),
      Effect.either
    )
    // Everyone sees the leave at once, not after this connection's closing handshake.
    yield* room.leave(peer)
    if (Either.isLeft(outcome)) {
      const failure = outcome.left
      if (failure._tag === "Violation") {
        yield* Effect.logDebug(`Closing a connection with ${failure.code} ${failure.reason}`)
        yield* Effect.ignore(ws.close(failure.code, failure.reason))
      } else {
        // The peer went away without a closing handshake (1006), or broke RFC 6455 (the driver
        // has closed the connection with the right code): nothing more to do.
        yield* Effect.logDebug("A connection ended", failure)
      }
    }
  }).pipe(Effect.scoped)

// ---- HTTP --------------------------------------------------------------------------------------

const PAGES: ReadonlyArray<readonly [path: string, file: string, contentType: string]> = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/style.css", "style.css", "text/css; charset=utf-8"],
  ["/chat.js", "chat.js", "text/javascript; charset=utf-8"]
]

interface Page {
  readonly body: Buffer
  readonly contentType: string
}

/** A static file server for the page: GET and HEAD of the three files, 404 for anything else. */
const pages = (files: ReadonlyMap<string, Page>) => (request: Http.IncomingMessage, response: Http.ServerResponse) => {
  const path = (request.url ?? "/").split("?")[0]!
  const page = files.get(path)
  if (page === undefined) {
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Not found.\n")
    return
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { "Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" })
    response.end("Method not allowed.\n")
    return
  }
  response.writeHead(200, {
    "Content-Type": page.contentType,
    "Content-Length": page.body.length,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    // The page's own script and style only; `connect-src 'self'` covers ws: to the same host.
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
  })
  response.end(request.method === "HEAD" ? undefined : page.body)
}

const readPages = Effect.forEach(PAGES, ([path, file, contentType]) =>
  Effect.map(
    Effect.tryPromise({
      try: () => Fs.readFile(new URL(file, import.meta.url)),
      catch: (cause) => new ChatError({ message: `Cannot read ${file}`, cause })
    }),
    (body) => [path, { body, contentType }] as const
  )).pipe(Effect.map((entries) => new Map(entries)))

const isWildcard = (host: string) => host === "" || host === "0.0.0.0" || host === "::" || host === "[::]"
const isLoopback = (host: string) => host === "localhost" || host === "::1" || host.startsWith("127.")

/** A host as it appears in a URL: IPv6 addresses in brackets. */
const urlHost = (host: string) => host.includes(":") && !host.startsWith("[") ? `[${host}]` : host

/**
 * The origins of this server's own page (RFC 6454 serializations, as a browser sends them in
 * `Origin`): the addresses it can be reached at, with its port. Other origins get 403, the
 * defence against cross-site WebSocket hijacking (RFC 6455 §10.2).
 */
export const ownOrigins = (host: string, port: number): ReadonlyArray<string> => {
  const hosts = new Set<string>()
  if (isWildcard(host) || isLoopback(host)) hosts.add("localhost").add("127.0.0.1").add("[::1]")
  if (isWildcard(host)) {
    for (const addresses of Object.values(Os.networkInterfaces())) {
      for (const address of addresses ?? []) hosts.add(urlHost(address.address))
    }
  } else {
    hosts.add(urlHost(host))
  }
  // A browser leaves out the default port.
  return Array.from(hosts, (name) => port === 80 ? [`http://${name}`, `http://${name}:80`] : [`http://${name}:${port}`])
    .flat()
}

// ---- the chat ----------------------------------------------------------------------------------

/**
 * @category errors
 */
export class ChatError extends Data.TaggedError("ChatError")<{ readonly message: string; readonly cause: unknown }> {}

export interface ChatOptions {
  /** Default 127.0.0.1. */
  readonly host?: string
  /** Default 8080; 0 for a free port. */
  readonly port?: number
  /** A member this many bytes behind is disconnected with 1008. Default `DEFAULT_MAX_BACKLOG`. */
  readonly maxBacklog?: number
  /** How long a closing handshake may take (1001 at shutdown, 1008 to a slow tab). Default 5 seconds. */
  readonly closeTimeout?: Duration.DurationInput
}

/** A running chat. */
export interface Chat {
  /** The page's URL, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string
  readonly port: number
  /** The origins allowed to open a WebSocket. */
  readonly origins: ReadonlyArray<string>
  /** Members who joined. */
  readonly online: Effect.Effect<number>
  /** Open WebSocket connections, joined or not. */
  readonly connections: Effect.Effect<number>
  /** The largest `bufferedAmount` of the open connections: bytes one of them has queued. */
  readonly largestBacklog: Effect.Effect<number>
}

const listen = (server: Http.Server, host: string, port: number) =>
  Effect.acquireRelease(
    Effect.async<Net.AddressInfo, ChatError>((resume) => {
      const onError = (cause: Error) =>
        resume(Effect.fail(new ChatError({ message: `Cannot listen on ${host}:${port}: ${cause.message}`, cause })))
      server.once("error", onError)
      server.listen({ host, port }, () => {
        server.off("error", onError)
        resume(Effect.succeed(server.address() as Net.AddressInfo))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        // Idle keep-alive connections of browsers would hold `close` up.
        server.closeAllConnections()
      })
  )

/**
 * Starts the chat: serving once this succeeds, until the scope closes. Closing the scope sends
 * 1001 to every open WebSocket connection, waits for their closing handshakes (at most
 * `closeTimeout`), then stops the HTTP server.
 */
export const start = (options: ChatOptions = {}): Effect.Effect<Chat, ChatError, Scope.Scope> =>
  Effect.gen(function*() {
    const host = options.host ?? "127.0.0.1"
    const maxBacklog = options.maxBacklog ?? DEFAULT_MAX_BACKLOG
    const files = yield* readPages
    const server = Http.createServer(pages(files))
    const address = yield* listen(server, host, options.port ?? 8080)
    const origins = ownOrigins(host, address.port)
    const room = yield* makeRoom(maxBacklog)
    // Registered after `listen`, so released before it: the WebSockets close before the server.
    yield* WebSocketServer.attach(server, connection(room), {
      path: "/ws",
      allowedOrigins: origins,
      maxConnections: MAX_CONNECTIONS,
      maxMessageSize: MAX_MESSAGE_SIZE,
      // Above maxBacklog plus any message the room sends (a said is under 7 KiB even with every
      // character JSON-escaped): `send` to a member that passed the backlog check never suspends.
      writeHighWaterMark: maxBacklog + 64 * 1024,
      closeTimeout: options.closeTimeout ?? "5 seconds"
    })
    return {
      url: `http://${urlHost(host)}:${address.port}/`,
      port: address.port,
      origins,
      online: room.online,
      connections: room.connections,
      largestBacklog: room.largestBacklog
    } satisfies Chat
  })

/** The program: the chat on `HOST`:`PORT` until SIGINT or SIGTERM. */
export const main = Effect.gen(function*() {
  // Unset or empty: the defaults.
  const portText = process.env["PORT"] || "8080"
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) {
    return yield* new ChatError({ message: `PORT is not a port: ${portText}`, cause: undefined })
  }
  const chat = yield* start({ host: process.env["HOST"] || "127.0.0.1", port })
  yield* Console.log(`Chat on ${chat.url}`)
  return yield* Effect.never
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  // runMain interrupts `main` on SIGINT and SIGTERM (the scope closes: 1001 to everyone) and
  // exits 0 then; 1 if the chat could not start.
  NodeRuntime.runMain(main)
}
