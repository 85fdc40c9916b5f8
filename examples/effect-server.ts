/**
 * The echo server of `server.ts`, written with the Effect service `WSConnection.Service`: one
 * Effect program per connection, the conversation's state in the service's `Ref`.
 * Run it: `npx tsx examples/effect-server.ts [port]`.
 */
import * as Effect from "effect/Effect"
import { ConnectionState } from "../src/ConnectionState.js"
import type { RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import * as WSConnection from "../src/WSConnection.js"
import { listen, type RunningServer } from "./listen.js"
import { fromSocket, type SocketIO } from "./netSocket.js"

const conversation = (io: SocketIO, log: (line: string) => void) =>
  Effect.gen(function*() {
    const ws = yield* WSConnection.Service
    let text = ""
    const reply = (event: Events.Event): Effect.Effect<void, unknown> =>
      Effect.flatMap(ws.send(event), (sent) =>
        Effect.zipRight(
          io.write(sent.bytes),
          // Accepting surfaces the frames the client sent early, and any violation in them.
          Effect.zipRight(
            Effect.forEach(sent.events, handle),
            sent.error === undefined ? Effect.void : fail(sent.error)
          )
        ))
    // A bad handshake is answered with the rejection it suggests; a bad frame with its close.
    const fail = (error: RemoteProtocolError) =>
      Effect.zipRight(error.eventHint === undefined ? Effect.void : reply(error.eventHint), io.end)
    const handle = (event: Events.Event): Effect.Effect<void, unknown> => {
      if (event instanceof Events.Request) {
        log(`WebSocket request for ${event.target}`)
        return reply(new Events.AcceptConnection())
      }
      if (event instanceof Events.TextMessage) {
        text += event.data
        if (!event.messageFinished) return Effect.void
        log(`Received: ${text}`)
        const echo = new Events.TextMessage({ data: `Echo: ${text}` })
        text = ""
        return reply(echo)
      }
      if (event instanceof Events.CloseConnection) {
        log("Connection closing")
        return Effect.zipRight(reply(event.response()), io.end)
      }
      return Effect.void
    }
    while (true) {
      const data = yield* io.read
      if (data === null) {
        if ((yield* ws.state) !== ConnectionState.CLOSED) yield* ws.receive(null)
        return
      }
      const events = yield* ws.receive(data).pipe(
        Effect.catchTag("RemoteProtocolError", (error) => Effect.as(fail(error), []))
      )
      yield* Effect.forEach(events, handle)
    }
  }).pipe(Effect.provide(WSConnection.layerServer()))

export const startEffectServer = (port = 0, log: (line: string) => void = console.log): Promise<RunningServer> =>
  listen((socket) => {
    Effect.runFork(
      Effect.flatMap(fromSocket(socket), (io) => conversation(io, log)).pipe(
        Effect.catchAll(() => Effect.sync(() => socket.destroy()))
      )
    )
  }, port)

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startEffectServer(Number(process.argv[2] ?? 8765))
  console.log(`Listening on ws://127.0.0.1:${server.port}`)
}
