/**
 * A TCP server on 127.0.0.1 for the example servers: it tracks its sockets, so that `close`
 * ends them all.
 */
import * as Net from "node:net"

export interface RunningServer {
  readonly port: number
  readonly close: () => Promise<void>
}

export const listen = (onConnection: (socket: Net.Socket) => void, port = 0): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
      onConnection(socket)
    })
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () =>
      resolve({
        port: (server.address() as Net.AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          })
      }))
  })
