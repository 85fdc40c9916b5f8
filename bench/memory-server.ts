/**
 * A child process of `bench/memory.ts`: effect-wsproto's sans-IO core as a bare echo server
 * (`WSConnection` over `node:net`, permessage-deflate with context takeover), no driver. The
 * driver's server and ws's are `bench/echo-server.ts`. It answers `"usage"` as that one does: its
 * memory after three full garbage collections (`--expose-gc`).
 */
import * as Net from "node:net"
import { ConnectionType } from "../src/ConnectionState.js"
import { AcceptConnection, Request, TextMessage } from "../src/Events.js"
import * as PerMessageDeflate from "../src/PerMessageDeflate.js"
import { WSConnection } from "../src/WSConnection.js"
import type { Usage } from "./echo-server.js"

const send = (message: unknown) => process.send!(message)

const deflate = PerMessageDeflate.make()
let connections = 0
const server = Net.createServer((socket) => {
  connections++
  const ws = new WSConnection(ConnectionType.SERVER)
  socket.on("error", () => socket.destroy())
  socket.on("close", () => connections--)
  socket.on("data", (data) => {
    ws.receiveData(data)
    for (const event of ws.events()) {
      if (event instanceof Request) socket.write(ws.send(new AcceptConnection({ extensions: [deflate] })))
      else if (event instanceof TextMessage) socket.write(ws.send(new TextMessage({ data: event.data })))
    }
  })
})
server.listen(0, "127.0.0.1", () => send({ port: (server.address() as Net.AddressInfo).port }))

process.on("message", (message) => {
  if (message === "exit") process.exit(0)
  if (message === "usage") { for (let i = 0; i < 3; i++) globalThis.gc?.() }
  const usage: Usage = { cpu: process.cpuUsage(), memory: process.memoryUsage(), connections }
  send({ usage })
})
process.on("disconnect", () => process.exit(0))
