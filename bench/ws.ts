/**
 * `ws`'s exported Receiver and Sender, loaded twice in this process: once with its native
 * `bufferutil` addon and once without (ws reads WS_NO_BUFFER_UTIL when its modules load).
 */
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

/** The parts of ws's Receiver and Sender the benchmarks use (@types/ws does not describe them). */
export interface WsReceiver {
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): this
  on(event: "ping" | "pong", listener: (data: Buffer) => void): this
  on(event: "conclude", listener: (code: number, reason: Buffer) => void): this
  on(event: "error", listener: (error: Error) => void): this
  write(chunk: Uint8Array): boolean
}

export interface WsSender {
  send(data: string | Uint8Array, options: { binary: boolean; fin: boolean; mask: boolean; compress: boolean }): void
  pong(data: Uint8Array, mask: boolean, cb?: () => void): void
  close(code: number, reason: string | Uint8Array, mask: boolean, cb?: () => void): void
}

export interface WsModules {
  readonly Receiver: new(options: { isServer: boolean; maxPayload: number }) => WsReceiver
  readonly Sender: new(socket: unknown) => WsSender
}

const load = (withAddon: boolean): WsModules => {
  for (const key of Object.keys(require.cache)) {
    if (key.includes(`${"/node_modules/ws/"}`)) delete require.cache[key]
  }
  if (withAddon) delete process.env.WS_NO_BUFFER_UTIL
  else process.env.WS_NO_BUFFER_UTIL = "1"
  const ws = require("ws") as WsModules
  delete process.env.WS_NO_BUFFER_UTIL
  return { Receiver: ws.Receiver, Sender: ws.Sender }
}

/** ws without native addons (its JavaScript unmask; UTF-8 is checked with Node's `buffer.isUtf8`). */
export const plain: WsModules = load(false)

/** ws with `bufferutil` (native mask and unmask). */
export const withBufferutil: WsModules = load(true)

/**
 * A stand-in socket for ws's Sender that drops every write. ws hands an unmasked text payload to
 * the socket as a string, to be encoded there: this socket encodes it, as any transport must.
 */
export const nullSocket = {
  write: (chunk: string | Uint8Array, callback?: () => void) => {
    if (typeof chunk === "string") Buffer.from(chunk, "utf8")
    callback?.()
    return true
  },
  cork: () => {},
  uncork: () => {}
}
