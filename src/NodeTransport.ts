/**
 * Node transports for the driver: TCP, TLS, and any `stream.Duplex` (such as the socket of an
 * `http` `'upgrade'` event), as `@effect/platform` `Socket.Socket`s that read with backpressure.
 *
 * `@effect/platform-node`'s `NodeSocket` reads in flowing mode and forks the Effect each chunk's
 * handler returns, so a slow consumer lets the peer fill memory. Here `run` waits for that Effect
 * before it reads on: the stream is paused meanwhile, and the peer's writes stall in the kernel.
 *
 * @since 0.2.0
 */
import * as Socket from "@effect/platform/Socket"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as Tls from "node:tls"
import { type DirectWrite, DirectWriteTypeId } from "./internal/directWrite.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface DuplexOptions {
  /** Bytes read before the duplex was handed over (an `'upgrade'` event's `head`): fed first. */
  readonly head?: Uint8Array
}

/**
 * A connected duplex as a `Socket.Socket` whose `run` reads with backpressure. Its `writer`
 * resolves each write when Node has handed it on; releasing it ends the duplex (FIN); writing a
 * `Socket.CloseEvent` destroys it. The duplex is destroyed when the scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromDuplex = (duplex: Duplex, options: DuplexOptions = {}): Effect.Effect<Socket.Socket, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => make(duplex, options)),
    () => Effect.sync(() => duplex.destroy())
  )

const ignore = () => {}

const make = (duplex: Duplex, options: DuplexOptions): Socket.Socket => {
  let head = options.head
  // Errors surface through `run` and `write`; outside them they must not crash the process.
  duplex.on("error", ignore)
  const run = <_, E, R>(handler: (chunk: Uint8Array) => Effect.Effect<_, E, R> | void) =>
    Effect.flatMap(Effect.runtime<R>(), (runtime) =>
      Effect.async<void, Socket.SocketError | E>((resume) => {
        const runFork = Runtime.runFork(runtime)
        let done = false
        const finish = (result: Effect.Effect<void, Socket.SocketError | E>) => {
          if (done) return
          done = true
          detach()
          resume(result)
        }
        const onData = (chunk: Uint8Array) => {
          if (done) return
          const result = handler(chunk)
          if (!Effect.isEffect(result)) return
          // Backpressure: read nothing more until the handler's Effect is done.
          duplex.pause()
          runFork(result).addObserver((exit) => {
            if (Exit.isFailure(exit)) finish(Exit.failCause(exit.cause))
            else if (!done) duplex.resume()
          })
        }
        const onEnd = () => finish(Effect.void)
        const onError = (cause: Error) => finish(Effect.fail(new Socket.SocketGenericError({ reason: "Read", cause })))
        const detach = () => {
          duplex.off("data", onData)
          duplex.off("end", onEnd)
          duplex.off("close", onEnd)
          duplex.off("error", onError)
        }
        duplex.on("end", onEnd)
        duplex.on("close", onEnd)
        duplex.on("error", onError)
        if (head !== undefined && head.length > 0) {
          const first = head
          head = undefined
          onData(first)
        }
        duplex.on("data", onData)
        if (duplex.destroyed || duplex.readableEnded) onEnd()
        return Effect.sync(detach)
      }))
  const write = (chunk: Uint8Array | string | Socket.CloseEvent) =>
    Effect.async<void, Socket.SocketError>((resume) => {
      if (Socket.isCloseEvent(chunk)) {
        duplex.destroy()
        return resume(Effect.void)
      }
      if (duplex.destroyed || duplex.writableEnded) {
        return resume(Effect.fail(new Socket.SocketGenericError({ reason: "Write", cause: new Error("The socket is closed.") })))
      }
      duplex.write(chunk, (cause) =>
        resume(cause ? Effect.fail(new Socket.SocketGenericError({ reason: "Write", cause })) : Effect.void))
    })
  const direct: DirectWrite = (chunks, done) => {
    if (duplex.destroyed || duplex.writableEnded) return done(new Error("The socket is closed."))
    if (chunks.length === 1) return void duplex.write(chunks[0]!, done)
    duplex.cork()
    for (let i = 0; i < chunks.length - 1; i++) duplex.write(chunks[i]!)
    duplex.write(chunks[chunks.length - 1]!, done)
    duplex.uncork()
  }
  return Object.assign(Socket.Socket.of({
    [Socket.TypeId]: Socket.TypeId,
    run,
    runRaw: run,
    writer: Effect.acquireRelease(
      Effect.succeed(write),
      () =>
        Effect.sync(() => {
          if (!duplex.destroyed && !duplex.writableEnded) duplex.end()
        })
    )
  }), { [DirectWriteTypeId]: direct })
}

/**
 * @since 0.2.0
 * @category models
 */
export interface TcpOptions {
  readonly host: string
  readonly port: number
}

/**
 * Opens a TCP connection (`TCP_NODELAY` set, as WebSocket traffic is message by message).
 *
 * @since 0.2.0
 * @category constructors
 */
export const connectTcp = (options: TcpOptions): Effect.Effect<Socket.Socket, Socket.SocketError, Scope.Scope> =>
  connectWith(() => Net.connect({ host: options.host, port: options.port, noDelay: true }), "connect")

/**
 * @since 0.2.0
 * @category models
 */
export type TlsOptions = TcpOptions & Omit<Tls.ConnectionOptions, "host" | "port" | "socket">

/**
 * Opens a TLS connection: ready once the TLS handshake is done and the certificate verified
 * (against `ca` if given, else Node's roots).
 *
 * @since 0.2.0
 * @category constructors
 */
export const connectTls = (options: TlsOptions): Effect.Effect<Socket.Socket, Socket.SocketError, Scope.Scope> =>
  connectWith(() => {
    const socket = Tls.connect({
      ...(Net.isIP(options.host) === 0 ? { servername: options.host } : {}),
      ...options
    })
    socket.setNoDelay(true)
    return socket
  }, "secureConnect")

const connectWith = (open: () => Net.Socket, ready: "connect" | "secureConnect") =>
  Effect.flatMap(
    Effect.acquireRelease(
      Effect.async<Net.Socket, Socket.SocketError>((resume) => {
        const socket = open()
        const onError = (cause: Error) => resume(Effect.fail(new Socket.SocketGenericError({ reason: "Open", cause })))
        socket.once("error", onError)
        socket.once(ready, () => {
          socket.off("error", onError)
          resume(Effect.succeed(socket))
        })
        return Effect.sync(() => socket.destroy())
      }),
      (socket) => Effect.sync(() => socket.destroy())
    ),
    (socket) => fromDuplex(socket)
  )
