/**
 * Handshake workloads: a server parsing a browser-like upgrade request and accepting it.
 */
import { CLIENT, SERVER } from "../src/ConnectionState.js"
import * as Events from "../src/Events.js"
import { H11Handshake } from "../src/H11Handshake.js"
import * as Handshake from "../src/Handshake.js"
import type { Row } from "./harness.js"

let sink = 0

/** A request as a browser sends it, with the usual headers around the WebSocket ones. */
const browserRequest = (): Uint8Array => {
  const client = Handshake.make({ connectionType: CLIENT })
  const request = new Events.Request({
    host: "chat.example.com",
    target: "/socket?room=lobby",
    subprotocols: ["chat", "superchat"],
    extraHeaders: [
      ["Origin", "https://chat.example.com"],
      [
        "User-Agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
      ],
      ["Accept-Encoding", "gzip, deflate, br"],
      ["Accept-Language", "en-US,en;q=0.9"],
      ["Cache-Control", "no-cache"],
      ["Pragma", "no-cache"],
      ["Cookie", "session=0123456789abcdef; theme=dark"]
    ]
  })
  const sent = Handshake.send(client, request)
  if (sent.error !== undefined) throw sent.error
  return sent.bytes[0]!
}

export const rows = (): ReadonlyArray<Row> => {
  const bytes = browserRequest()
  const accept = new Events.AcceptConnection({ subprotocol: "chat" })
  return [{
    name: `handshake: server parses a ${bytes.length}-byte browser request and accepts it`,
    bytes: bytes.length,
    messages: 1,
    candidates: [
      {
        name: "reducer (Handshake.receive + send)",
        run: () => {
          const received = Handshake.receive(Handshake.make({ connectionType: SERVER }), bytes)
          const sent = Handshake.send(received.state, accept)
          if (sent.error !== undefined) throw sent.error
          for (const chunk of sent.bytes) sink += chunk.length
        }
      },
      {
        name: "H11Handshake class",
        run: () => {
          const server = new H11Handshake(SERVER)
          server.receiveData(bytes)
          for (const event of server.events()) sink += event._tag.length
          sink += server.send(accept).length
        }
      }
    ],
    references: []
  }]
}

export const drain = () => sink
