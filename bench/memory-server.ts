/**
 * A child process of `bench/memory.ts`: an echo server with permessage-deflate and context
 * takeover, either effect-wsproto's (`WSConnection` over `node:net`) or `ws`'s. It reports its
 * resident memory, after a full garbage collection, whenever the parent asks.
 */
import * as Net from "node:net"
import { WebSocketServer } from "ws"
import { ConnectionType } from "../src/ConnectionState.js"
import { AcceptConnection, Request, TextMessage } from "../src/Events.js"
import * as PerMessageDeflate from "../src/PerMessageDeflate.js"
import { WSConnection } from "../src/WSConnection.js"

const which = process.argv[2]
const send = (message: unknown) => process.send!(message)

const listening = (port: number) => send({ port })

if (which === "ws") {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true })
  server.on("connection", (socket) => socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary })))
  server.on("listening", () => listening((server.address() as Net.AddressInfo).port))
} else {
  const deflate = PerMessageDeflate.make()
  const server = Net.createServer((socket) => {
    const ws = new WSConnection(ConnectionType.SERVER)
    socket.on("error", () => socket.destroy())
    socket.on("data", (data) => {
      ws.receiveData(data)
      for (const event of ws.events()) {
        if (event instanceof Request) socket.write(ws.send(new AcceptConnection({ extensions: [deflate] })))
        else if (event instanceof TextMessage) socket.write(ws.send(new TextMessage({ data: event.data })))
      }
    })
  })
  server.listen(0, "127.0.0.1", () => listening((server.address() as Net.AddressInfo).port))
}

process.on("message", () => {
  for (let i = 0; i < 3; i++) globalThis.gc?.()
  const usage = process.memoryUsage()
  send({ rss: usage.rss, heap: usage.heapUsed + usage.external })
})
