/**
 * A transport's synchronous face, beside the `Socket.Socket` interface: a socket that offers it
 * is read and written by the driver in Node's own callbacks, with no reader or writer fiber and
 * no scope of its own per connection (each costs memory on an idle connection: see the README).
 * `NodeTransport`'s sockets offer it; any other `Socket.Socket` is driven through `run` and
 * `writer`.
 */
import type * as Socket from "@effect/platform/Socket"
import type * as Effect from "effect/Effect"

/** @internal */
export const DirectTypeId: unique symbol = Symbol.for("effect-wsproto/DirectTransport")

/** @internal */
export interface Direct {
  /**
   * Writes the chunks in order (gathered into one write when there are several) and calls `done`
   * once the last is handed on, with the error if writing failed.
   */
  readonly write: (chunks: ReadonlyArray<Uint8Array>, done: (error?: Error | null) => void) => void
  /**
   * Starts reading: `onChunk` for each chunk (an Effect it returns is run, and nothing more is
   * read until it is done), then `onEnd` once, with the error if reading failed.
   */
  readonly read: (onChunk: (chunk: Uint8Array) => Effect.Effect<void> | void, onEnd: (error?: unknown) => void) => void
  /** Ends the transport once what was written is handed on (FIN). */
  readonly end: () => void
  /** Closes the transport at once. */
  readonly destroy: () => void
}

/** @internal */
export const directOf = (socket: Socket.Socket): Direct | undefined =>
  (socket as { readonly [DirectTypeId]?: Direct })[DirectTypeId]
