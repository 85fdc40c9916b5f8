/**
 * A child process of `bench/echo.ts` and `bench/memory.ts`: one echo server, alone in its process
 * so that its CPU and memory can be read apart from the load.
 *
 *   tsx bench/echo-server.ts <effect-wsproto-run | effect-wsproto-stream | ws> <deflate: on | off>
 *
 * effect-wsproto's is the driver as a user writes it, `WebSocketServer.make` and either of its two
 * ways to consume a connection: `server.run((ws) => ws.run(ws.send))` (`effect-wsproto-run`: the
 * handler called in the socket's read step) or `server.run((ws) => Stream.runForEach(ws.messages,
 * ws.send))` (`effect-wsproto-stream`: the messages pulled as a Stream). ws's is its
 * `WebSocketServer` with `ws.send(data, { binary })` on each message. Both listen on an ephemeral port of 127.0.0.1,
 * accept messages up to 64 MiB and send no keepalive pings.
 *
 * Over IPC it sends `{ port }` once listening, and answers `"usage"` with `{ usage }`: its
 * `process.cpuUsage()`, `process.memoryUsage()` and open connections, read after three full garbage
 * collections when `--expose-gc` is on (`"usage-nogc"`: without them). `{ profile: "start" }`
 * starts the V8 CPU profiler (one sample each 200 µs) and `{ profile: <path> }` stops it and writes
 * the `.cpuprofile` there, then answers `{ profiled: <path> }`, so that a profile covers just a
 * measured span. `"exit"` ends the process normally (`--cpu-prof` writes its profile then).
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { writeFileSync } from "node:fs"
import * as Inspector from "node:inspector"
import type * as Net from "node:net"
import * as Ws from "ws"
import * as WebSocketServer from "../src/WebSocketServer.js"

const which = process.argv[2]
const deflate = process.argv[3] === "on"
const MAX_MESSAGE_SIZE = 64 * 1024 * 1024

export interface Usage {
  readonly cpu: NodeJS.CpuUsage
  readonly memory: NodeJS.MemoryUsage
  readonly connections: number
}

const send = (message: unknown) => process.send!(message)
let connections: () => number = () => 0

if (which === "ws") {
  const server = new Ws.WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    perMessageDeflate: deflate,
    maxPayload: MAX_MESSAGE_SIZE
  })
  server.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })))
  server.on("listening", () => send({ port: (server.address() as Net.AddressInfo).port }))
  connections = () => server.clients.size
} else if (which === "effect-wsproto-run" || which === "effect-wsproto-stream") {
  Effect.runFork(
    Effect.gen(function*() {
      const server = yield* WebSocketServer.make({
        host: "127.0.0.1",
        port: 0,
        pingInterval: Infinity,
        maxMessageSize: MAX_MESSAGE_SIZE,
        deflate
      })
      connections = () => Effect.runSync(server.connections)
      send({ port: server.address.port })
      yield* which === "effect-wsproto-run"
        ? server.run((ws) => ws.run(ws.send))
        : server.run((ws) => Stream.runForEach(ws.messages, ws.send))
    }).pipe(Effect.scoped)
  )
} else {
  throw new Error(`unknown server ${which}`)
}

let session: Inspector.Session | undefined
const profile = (request: string) => {
  if (request === "start") {
    session = new Inspector.Session()
    session.connect()
    session.post(
      "Profiler.enable",
      () => session!.post("Profiler.setSamplingInterval", { interval: 200 }, () => session!.post("Profiler.start"))
    )
    return
  }
  session?.post("Profiler.stop", (error, result) => {
    if (error === null) writeFileSync(request, JSON.stringify(result.profile))
    session?.disconnect()
    session = undefined
    send({ profiled: request })
  })
}

process.on("message", (message) => {
  if (message === "exit") process.exit(0)
  if (typeof message === "object" && message !== null && "profile" in message) {
    return profile(String(message.profile))
  }
  if (message === "usage") { for (let i = 0; i < 3; i++) globalThis.gc?.() }
  const usage: Usage = { cpu: process.cpuUsage(), memory: process.memoryUsage(), connections: connections() }
  send({ usage })
})
process.on("disconnect", () => process.exit(0))
