/**
 * The seed's server example, ported: a WebSocket echo server on 127.0.0.1 with the wsproto-style
 * `WSConnection` over `node:net`. Run it: `npx tsx examples/server.ts [port]`.
 */
import { ConnectionState, ConnectionType } from "../src/ConnectionState.js"
import { AcceptConnection, CloseConnection, Request, TextMessage } from "../src/Events.js"
import { WSConnection } from "../src/WSConnection.js"
import { listen, type RunningServer } from "./listen.js"

export const startServer = (port = 0, log: (line: string) => void = console.log): Promise<RunningServer> =>
  listen((socket) => {
    socket.on("error", () => socket.destroy())
    const ws = new WSConnection(ConnectionType.SERVER)
    let text = ""
    socket.on("data", (data) => {
      try {
        ws.receiveData(data)
      } catch (error) {
        // A bad handshake: answer with the rejection the error suggests, then hang up.
        const hint = (error as { eventHint?: AcceptConnection }).eventHint
        if (hint !== undefined) socket.write(ws.send(hint))
        socket.end()
        return
      }
      for (const event of ws.events()) {
        if (event instanceof Request) {
          log(`WebSocket request for ${event.target}`)
          socket.write(ws.send(new AcceptConnection()))
        } else if (event instanceof TextMessage) {
          text += event.data
          if (!event.messageFinished) continue
          log(`Received: ${text}`)
          socket.write(ws.send(new TextMessage({ data: `Echo: ${text}` })))
          text = ""
        } else if (event instanceof CloseConnection) {
          log("Connection closing")
          socket.end(ws.send(event.response()))
        }
      }
    })
    socket.on("end", () => {
      // The peer hung up: unless the closing handshake finished, that is an abnormal closure.
      if (ws.state !== ConnectionState.CLOSED) ws.receiveData(null)
      socket.end()
    })
  }, port)

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startServer(Number(process.argv[2] ?? 8765))
  console.log(`Listening on ws://127.0.0.1:${server.port}`)
}
