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
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { constVoid } from "effect/Function"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import type { Duplex } from "node:stream"
import * as Tls from "node:tls"
import { type Direct, DirectTypeId } from "./internal/direct.js"
import { lazyRuntime } from "./internal/lazyRuntime.js"

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
export const fromDuplex = (
  duplex: Duplex,
  options: DuplexOptions = {}
): Effect.Effect<Socket.Socket, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => make(duplex, options)),
    () => Effect.sync(() => duplex.destroy())
  )

const make = (duplex: Duplex, options: DuplexOptions): Socket.Socket => {
  let head = options.head
  // Errors surface through reading and writing; outside them they must not crash the process.
  duplex.on("error", constVoid)

  /**
   * Reads until the end: each chunk to `onChunk`; an Effect it returns pauses the stream until
   * it is done (its failure ends the reading). Gives the function that stops listening.
   */
  const read = (
    onChunk: (chunk: Uint8Array) => Effect.Effect<unknown, unknown> | void,
    run: (effect: Effect.Effect<unknown, unknown>) => Fiber.RuntimeFiber<unknown, unknown>,
    onEnd: (failure?: Cause.Cause<unknown>) => void
  ): () => void => {
    let done = false
    const finish = (failure?: Cause.Cause<unknown>) => {
      if (done) return
      done = true
      detach()
      onEnd(failure)
    }
    const onData = (chunk: Uint8Array) => {
      if (done) return
      const result = onChunk(chunk)
      if (!Effect.isEffect(result)) return
      // Backpressure: read nothing more until the handler's Effect is done.
      duplex.pause()
      run(result).addObserver((exit) => {
        if (Exit.isFailure(exit)) finish(exit.cause)
        else if (!done) duplex.resume()
      })
    }
    const onClose = () => finish()
    const onError = (cause: Error) => finish(Cause.fail(new Socket.SocketGenericError({ reason: "Read", cause })))
    const detach = () => {
      duplex.off("data", onData)
      duplex.off("end", onClose)
      duplex.off("close", onClose)
      duplex.off("error", onError)
    }
    duplex.on("end", onClose)
    duplex.on("close", onClose)
    duplex.on("error", onError)
    if (head !== undefined && head.length > 0) {
      const first = head
      head = undefined
      onData(first)
    }
    duplex.on("data", onData)
    if (duplex.destroyed || duplex.readableEnded) onClose()
    return detach
  }

  const run = <_, E, R>(handler: (chunk: Uint8Array) => Effect.Effect<_, E, R> | void) =>
    Effect.flatMap(
      lazyRuntime<R>(),
      (runtime) =>
        Effect.async<void, Socket.SocketError | E>((resume) =>
          Effect.sync(read(
            handler as (chunk: Uint8Array) => Effect.Effect<unknown, unknown> | void,
            (effect) => Runtime.runFork(runtime())(effect as Effect.Effect<unknown, unknown, R>),
            (failure) => resume(failure === undefined ? Effect.void : Effect.failCause(failure as Cause.Cause<E>))
          ))
        )
    )
  const end = () => {
    if (!duplex.destroyed && !duplex.writableEnded) duplex.end()
  }
  const write = (chunk: Uint8Array | string | Socket.CloseEvent) =>
    Effect.async<void, Socket.SocketError>((resume) => {
      if (Socket.isCloseEvent(chunk)) {
        duplex.destroy()
        return resume(Effect.void)
      }
      if (duplex.destroyed || duplex.writableEnded) {
        return resume(
          Effect.fail(new Socket.SocketGenericError({ reason: "Write", cause: new Error("The socket is closed.") }))
        )
      }
      duplex.write(chunk, (cause) =>
        resume(cause ? Effect.fail(new Socket.SocketGenericError({ reason: "Write", cause })) : Effect.void))
    })
  const direct: Direct = {
    write: (chunks, done) => {
      if (duplex.destroyed || duplex.writableEnded) return done(new Error("The socket is closed."))
      if (chunks.length === 1) return void duplex.write(chunks[0]!, done)
      duplex.cork()
      for (let i = 0; i < chunks.length - 1; i++) duplex.write(chunks[i]!)
      duplex.write(chunks[chunks.length - 1]!, done)
      duplex.uncork()
    },
    read: (onChunk, onEnd) => {
      read(onChunk, Effect.runFork, (failure) => onEnd(failure === undefined ? undefined : Cause.squash(failure)))
    },
    end,
    destroy: () => duplex.destroy()
  }
  return Object.assign(
    Socket.Socket.of({
      [Socket.TypeId]: Socket.TypeId,
      run,
      runRaw: run,
      writer: Effect.acquireRelease(Effect.succeed(write), () => Effect.sync(end))
    }),
    { [DirectTypeId]: direct }
  )
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
          // Until `fromDuplex` listens, an error must not crash the process.
          socket.on("error", constVoid)
          socket.off("error", onError)
          resume(Effect.succeed(socket))
        })
        return Effect.sync(() => socket.destroy())
      }),
      (socket) => Effect.sync(() => socket.destroy())
    ),
    (socket) => fromDuplex(socket)
  )
