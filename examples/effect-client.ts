/**
 * The client of `client.ts`, written with the Effect service `WSConnection.Service`.
 * Run it: `npx tsx examples/effect-client.ts [port]`.
 */
import * as Effect from "effect/Effect"
import * as Net from "node:net"
import * as Events from "../src/Events.js"
import * as WSConnection from "../src/WSConnection.js"
import { fromSocket } from "./netSocket.js"

const connect = (port: number) =>
  Effect.async<Net.Socket, Error>((resume) => {
    const socket = Net.connect(port, "127.0.0.1", () => resume(Effect.succeed(socket)))
    socket.once("error", (error) => resume(Effect.fail(error)))
  })

export const effectClient = (port: number, message = "Hello WebSocket!") =>
  Effect.gen(function*() {
    const io = yield* Effect.flatMap(connect(port), fromSocket)
    const ws = yield* WSConnection.Service
    const lines: Array<string> = []
    const send = (event: Events.Event) => Effect.flatMap(ws.send(event), (sent) => io.write(sent.bytes))
    yield* send(new Events.Request({ host: `127.0.0.1:${port}`, target: "/" }))
    let text = ""
    while (true) {
      const data = yield* io.read
      if (data === null) return lines
      for (const event of yield* ws.receive(data)) {
        if (event instanceof Events.AcceptConnection) {
          lines.push("Connected!")
          yield* send(new Events.TextMessage({ data: message }))
        } else if (event instanceof Events.TextMessage) {
          text += event.data
          if (!event.messageFinished) continue
          lines.push(`Received: ${text}`)
          yield* send(new Events.CloseConnection({ code: 1000, reason: "Done" }))
        } else if (event instanceof Events.CloseConnection) {
          lines.push(`Closed: ${event.code} ${event.reason}`)
          yield* io.end
        }
      }
    }
  }).pipe(Effect.provide(WSConnection.layerClient()))

export const runEffectClient = (port: number, message?: string): Promise<Array<string>> =>
  Effect.runPromise(effectClient(port, message).pipe(Effect.timeout("5 seconds")))

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await runEffectClient(Number(process.argv[2] ?? 8765))) console.log(line)
}
