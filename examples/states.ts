/**
 * The seed's state walk-through, ported: a client and a server `WSConnection` wired to each other
 * in memory, printing the client's state at each step. Run it: `npx tsx examples/states.ts`.
 */
import type { ConnectionState } from "../src/ConnectionState.js"
import { ConnectionType, stateName } from "../src/ConnectionState.js"
import { AcceptConnection, CloseConnection, Request } from "../src/Events.js"
import { WSConnection } from "../src/WSConnection.js"

export const walkThrough = (): Array<string> => {
  const lines: Array<string> = []
  const client = new WSConnection(ConnectionType.CLIENT)
  const server = new WSConnection(ConnectionType.SERVER)
  const show = (label: string, state: ConnectionState) => lines.push(`${label}: ${stateName(state)}`)
  show("Initial state", client.state)
  server.receiveData(client.send(new Request({ host: "localhost", target: "/" })))
  for (const event of server.events()) {
    if (event instanceof Request) client.receiveData(server.send(new AcceptConnection()))
  }
  for (const _ of client.events()) show("After handshake", client.state)
  server.receiveData(client.send(new CloseConnection({ code: 1000, reason: "Done" })))
  show("After initiating close", client.state)
  for (const event of server.events()) {
    if (event instanceof CloseConnection) client.receiveData(server.send(event.response()))
  }
  for (const _ of client.events()) show("After the server's answer", client.state)
  return lines
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of walkThrough()) console.log(line)
}
