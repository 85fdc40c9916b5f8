/**
 * A `node:net` socket as two Effects, for the Effect examples: read the next chunk (`null` at the
 * end) and write bytes. Deliberately small, to show the service by itself: servers and clients with
 * backpressure, timeouts and the closing handshake are `WebSocketServer` and `WebSocketClient`.
 */
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Net from "node:net"

export interface SocketIO {
  readonly read: Effect.Effect<Uint8Array | null>
  readonly write: (bytes: ReadonlyArray<Uint8Array>) => Effect.Effect<void>
  readonly end: Effect.Effect<void>
}

export const fromSocket = (socket: Net.Socket): Effect.Effect<SocketIO> =>
  Effect.map(Queue.unbounded<Uint8Array | null>(), (queue) => {
    socket.on("data", (data) => Queue.unsafeOffer(queue, data))
    socket.on("close", () => Queue.unsafeOffer(queue, null))
    socket.on("error", () => socket.destroy())
    return {
      read: Queue.take(queue),
      write: (bytes) =>
        Effect.async<void>((resume) => {
          for (const chunk of bytes.slice(0, -1)) socket.write(chunk)
          const last = bytes[bytes.length - 1]
          if (last === undefined) return resume(Effect.void)
          socket.write(last, () => resume(Effect.void))
        }),
      end: Effect.sync(() => socket.end())
    }
  })
