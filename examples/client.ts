/**
 * The seed's client example, ported: connect, send a message, print the echo, close, with the
 * wsproto-style `WSConnection` over `node:net`. Run it: `npx tsx examples/client.ts [port]`.
 */
import * as Net from "node:net"
import { ConnectionType } from "../src/ConnectionState.js"
import { AcceptConnection, CloseConnection, Request, TextMessage } from "../src/Events.js"
import { WSConnection } from "../src/WSConnection.js"

/** Runs the conversation; resolves with what the client printed, once the socket closed. */
export const runClient = (port: number, message = "Hello WebSocket!", timeoutMs = 5_000): Promise<Array<string>> =>
  new Promise((resolve, reject) => {
    const lines: Array<string> = []
    const ws = new WSConnection(ConnectionType.CLIENT)
    const socket = Net.connect(port, "127.0.0.1", () => {
      socket.write(ws.send(new Request({ host: `127.0.0.1:${port}`, target: "/" })))
    })
    const timer = setTimeout(() => socket.destroy(new Error("timed out")), timeoutMs)
    let text = ""
    socket.on("data", (data) => {
      ws.receiveData(data)
      for (const event of ws.events()) {
        if (event instanceof AcceptConnection) {
          lines.push("Connected!")
          socket.write(ws.send(new TextMessage({ data: message })))
        } else if (event instanceof TextMessage) {
          text += event.data
          if (!event.messageFinished) continue
          lines.push(`Received: ${text}`)
          socket.write(ws.send(new CloseConnection({ code: 1000, reason: "Done" })))
        } else if (event instanceof CloseConnection) {
          lines.push(`Closed: ${event.code} ${event.reason}`)
          socket.end()
        }
      }
    })
    socket.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on("close", () => {
      clearTimeout(timer)
      resolve(lines)
    })
  })

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await runClient(Number(process.argv[2] ?? 8765))) console.log(line)
}
