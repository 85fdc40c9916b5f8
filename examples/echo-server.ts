/**
 * `npm run echo-server -- [--host H] [--port N]`: echoes every text and binary message as it came,
 * on any path, with permessage-deflate accepted. A conformance peer: no keepalive pings, message
 * and frame limits of 64 MiB, every protocol error failing the connection with its close code, and
 * TCP closed by the server first after the closing handshake (RFC 6455 §7.1.1). Like everything
 * on the driver it stops reading a peer that does not read its echoes: `send` suspends while the
 * write queue is full, and while the handler of `ws.run` is suspended the socket is read no further
 * than the read high-water mark.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type * as WebSocket from "../src/WebSocket.js"
import * as WebSocketServer from "../src/WebSocketServer.js"
import { flag } from "./args.js"

/** The options of a conformance peer. */
export const conformance: WebSocket.Options = {
  maxMessageSize: 64 * 1024 * 1024,
  maxFrameSize: 64 * 1024 * 1024,
  pingInterval: Infinity
}

/** Each message sent back as it came: text as text, binary as binary. */
export const echo = (ws: WebSocket.WebSocket) => ws.run(ws.send)

export const echoServer = (options: { readonly host?: string; readonly port?: number } = {}) =>
  Effect.gen(function*() {
    const server = yield* WebSocketServer.make({
      ...conformance,
      host: options.host ?? "127.0.0.1",
      port: options.port ?? 0
    })
    yield* Effect.forkScoped(server.run(echo))
    const { hostname, port } = server.address
    return `ws://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`
  })

if (import.meta.url === `file://${process.argv[1]}`) {
  const host = flag(process.argv, "--host") ?? "127.0.0.1"
  const port = Number(flag(process.argv, "--port") ?? 9001)
  NodeRuntime.runMain(
    Effect.gen(function*() {
      yield* Console.log(`Echo server on ${yield* echoServer({ host, port })}`)
      return yield* Effect.never
    }).pipe(Effect.scoped)
  )
}
