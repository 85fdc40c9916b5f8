/**
 * `npm run bench:memory`: the memory a server holds per connection, with 1,000 connections from
 * `ws` clients (loopback only), idle and after one message each (a 1.4 KB JSON text, echoed).
 * Each server runs alone in a child process under `--expose-gc` and is measured after three full
 * garbage collections: resident memory, and JS heap plus external memory (ArrayBuffers, zlib).
 *
 * Servers: effect-wsproto's driver (`WebSocketServer`, `bench/echo-server.ts`) with each of its
 * two ways to consume a connection, `ws.run(ws.send)` and `Stream.runForEach(ws.messages,
 * ws.send)`, with deflate on and off; ws's `WebSocketServer` with perMessageDeflate on and off; and
 * effect-wsproto's sans-IO core alone (`WSConnection` over `node:net`, deflate on;
 * `bench/memory-server.ts`). Deflate on
 * means permessage-deflate with context takeover, each side's defaults; the clients offer it only
 * then. Before the baseline, 20 connections come and go, so that code loaded and compiled once is
 * not counted per connection. CONNECTIONS sets the number (default 1000).
 */
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import WebSocket from "ws"
import type { Usage } from "./echo-server.js"
import { reply as replyWithin } from "./echo.js"

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 1000)
const MESSAGE = JSON.stringify({
  type: "update",
  items: Array.from({ length: 24 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ["a", "b"] }))
})

interface Server {
  readonly label: string
  readonly script: string
  readonly args: ReadonlyArray<string>
  readonly deflate: boolean
}

const echoServer = (
  label: string,
  which: "effect-wsproto-run" | "effect-wsproto-stream" | "ws",
  deflate: boolean
): Server => ({
  label,
  script: "./echo-server.ts",
  args: [which, deflate ? "on" : "off"],
  deflate
})

const servers: ReadonlyArray<Server> = [
  echoServer("effect-wsproto driver, ws.run, deflate on", "effect-wsproto-run", true),
  echoServer("effect-wsproto driver, Stream, deflate on", "effect-wsproto-stream", true),
  echoServer("ws, perMessageDeflate on", "ws", true),
  echoServer("effect-wsproto driver, ws.run, deflate off", "effect-wsproto-run", false),
  echoServer("effect-wsproto driver, Stream, deflate off", "effect-wsproto-stream", false),
  echoServer("ws, perMessageDeflate off", "ws", false),
  { label: "effect-wsproto core (WSConnection), deflate on", script: "./memory-server.ts", args: [], deflate: true }
]

const reply = <A>(child: ChildProcess, key: string): Promise<A> => replyWithin<A>(child, key, 30_000)

interface Memory {
  readonly rss: number
  readonly heap: number
}

const usage = async (child: ChildProcess): Promise<Memory & { connections: number }> => {
  const pending = reply<Usage>(child, "usage")
  child.send("usage")
  const { connections, memory } = await pending
  return { rss: memory.rss, heap: memory.heapUsed + memory.external, connections }
}

const connect = async (port: number, count: number, deflate: boolean): Promise<Array<WebSocket>> => {
  const clients: Array<WebSocket> = []
  for (let i = 0; i < count; i += 100) {
    clients.push(
      ...await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, () =>
          new Promise<WebSocket>((resolve, reject) => {
            const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate })
            client.once("open", () => resolve(client))
            client.once("error", reject)
          }))
      )
    )
  }
  return clients
}

const echoOnce = (clients: ReadonlyArray<WebSocket>) =>
  Promise.all(clients.map((client) =>
    new Promise<void>((resolve) => {
      client.once("message", () => resolve())
      client.send(MESSAGE)
    })
  ))

// Cut at once: the bare core does not run closing handshakes (ws would wait 30 s for each).
const terminateAll = (clients: ReadonlyArray<WebSocket>) =>
  Promise.all(clients.map((client) =>
    new Promise<void>((resolve) => {
      client.once("close", () => resolve())
      client.terminate()
    })
  ))

const settled = async (child: ChildProcess) => {
  for (let i = 0; i < 100; i++) {
    if ((await usage(child)).connections === 0) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error("connections still open 5 s after the clients closed")
}

const measure = async (server: Server) => {
  const child = fork(fileURLToPath(new URL(server.script, import.meta.url)), [...server.args], {
    execArgv: ["--import", "tsx", "--expose-gc"]
  })
  try {
    const port = await reply<number>(child, "port")
    const warm = await connect(port, 20, server.deflate)
    await echoOnce(warm)
    await terminateAll(warm)
    await settled(child)
    const empty = await usage(child)
    const clients = await connect(port, CONNECTIONS, server.deflate)
    const idle = await usage(child)
    if (idle.connections !== CONNECTIONS) throw new Error(`${server.label}: ${idle.connections} connections open`)
    await echoOnce(clients)
    const afterMessage = await usage(child)
    await terminateAll(clients)
    return { empty, idle, afterMessage }
  } finally {
    child.kill()
  }
}

const perConnection = (at: Memory, empty: Memory, key: keyof Memory) =>
  `${((at[key] - empty[key]) / 1024 / CONNECTIONS).toFixed(1)}`.padStart(7)

console.log(
  `${CONNECTIONS} server connections from ws clients, KiB per connection over the empty server after a full GC;` +
    `\nthe message: ${MESSAGE.length} bytes of JSON text, echoed once on each connection`
)
console.log(`  ${"".padEnd(48)} ${"resident".padStart(17)} ${"heap + external".padStart(17)}`)
const columns = ["idle", "1 msg", "idle", "1 msg"].map((title, i) => title.padStart(i % 2 === 0 ? 7 : 9)).join(" ")
console.log(`  ${"".padEnd(48)} ${columns}`)
for (const server of servers) {
  const { afterMessage, empty, idle } = await measure(server)
  console.log(
    `  ${server.label.padEnd(48)} ${perConnection(idle, empty, "rss")} ${perConnection(afterMessage, empty, "rss")}` +
      `   ${perConnection(idle, empty, "heap")} ${perConnection(afterMessage, empty, "heap")}`
  )
}
