/**
 * A transport's synchronous write, beside the `Socket.Socket` interface: a socket that offers it
 * lets the driver hand bytes to the transport in the step that made them, with no writer fiber
 * in between. `NodeTransport`'s sockets offer it; any other `Socket.Socket` is written through its
 * `writer`.
 */
import type * as Socket from "@effect/platform/Socket"

/** @internal */
export const DirectWriteTypeId: unique symbol = Symbol.for("effect-wsproto/DirectWrite")

/**
 * Writes the chunks in order (as one gathered write when there are several) and calls `done`
 * once the last is handed on, with the error if writing failed.
 *
 * @internal
 */
export type DirectWrite = (chunks: ReadonlyArray<Uint8Array>, done: (error?: Error | null) => void) => void

/** @internal */
export const directWrite = (socket: Socket.Socket): DirectWrite | undefined =>
  (socket as { readonly [DirectWriteTypeId]?: DirectWrite })[DirectWriteTypeId]
