/**
 * permessage-deflate workloads: 1 KiB JSON-like text messages compressed and decompressed with
 * context takeover, against ws's Sender and Receiver with its PerMessageDeflate (asynchronous
 * zlib: each run waits for the last message).
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import * as Frame from "../src/Frame.js"
import * as PerMessageDeflate from "../src/PerMessageDeflate.js"
import type { Row } from "./harness.js"
import * as Ws from "./ws.js"

const require = createRequire(import.meta.url)

/** ws's permessage-deflate, agreed with default parameters for one role. */
interface WsPerMessageDeflate {
  accept(offers: ReadonlyArray<Record<string, unknown>>): unknown
}
// Not in ws's export map: loaded by path.
const WsPerMessageDeflate = require(join(dirname(require.resolve("ws")), "lib", "permessage-deflate.js")) as new(
  options: { threshold: number },
  isServer: boolean,
  maxPayload: number
) => WsPerMessageDeflate

const wsDeflate = (isServer: boolean) => {
  const extension = new WsPerMessageDeflate({ threshold: 0 }, isServer, 0)
  extension.accept([{}])
  return extension
}

let sink = 0
const COUNT = 256

const messages = Array.from({ length: COUNT }, (_, n) =>
  JSON.stringify({
    type: "quote",
    sequence: n,
    items: Array.from({ length: 9 }, (_, i) => ({
      symbol: `SYM${(n * 7 + i) % 50}`,
      bid: ((n * 31 + i * 17) % 1000) / 10,
      ask: ((n * 31 + i * 17) % 1000) / 10 + 0.05,
      size: (n + i) * 100
    }))
  }).slice(0, 1024))

const bytes = messages.reduce((n, m) => n + m.length, 0)

/** What a client sends: masked, compressed frames. */
const clientWire = (): Uint8Array => {
  let encoder = Frame.encoder({ role: "client", extensions: [PerMessageDeflate.make()] })
  const parts: Array<Uint8Array> = []
  for (const message of messages) {
    const result = Frame.encodeMessage(encoder, message)
    if (result.error !== undefined) throw result.error
    encoder = result.state
    parts.push(...result.bytes)
  }
  return Buffer.concat(parts)
}

export const rows = (): ReadonlyArray<Row> => {
  const wire = clientWire()
  return [
    {
      name: `deflate: server compresses ${COUNT} JSON-like text messages of 1 KiB (context takeover)`,
      bytes,
      messages: COUNT,
      candidates: [
        {
          name: "effect-wsproto (pako, in the step)",
          run: () => {
            let encoder = Frame.encoder({ role: "server", extensions: [PerMessageDeflate.make()] })
            for (const message of messages) {
              const result = Frame.encodeMessage(encoder, message)
              if (result.error !== undefined) throw result.error
              encoder = result.state
              sink += result.bytes.length
            }
          }
        },
        {
          name: "ws perMessageDeflate (async zlib)",
          run: () =>
            new Promise<void>((resolve) => {
              const sender = new (Ws.plain.Sender as unknown as new(
                socket: unknown,
                extensions: Record<string, unknown>
              ) => {
                send(data: string, options: Record<string, unknown>, callback?: () => void): void
              })(Ws.nullSocket, { "permessage-deflate": wsDeflate(true) })
              messages.forEach((message, i) =>
                sender.send(
                  message,
                  { binary: false, fin: true, mask: false, compress: true, rsv1: true },
                  i === COUNT - 1 ? resolve : undefined
                )
              )
            })
        }
      ],
      references: ["ws perMessageDeflate (async zlib)"]
    },
    {
      name: `deflate: server decompresses ${COUNT} JSON-like text messages of 1 KiB (context takeover)`,
      bytes,
      messages: COUNT,
      candidates: [
        {
          name: "effect-wsproto (pako, in the step)",
          run: () => {
            const result = Frame.decode(
              Frame.decoder({ role: "server", extensions: [PerMessageDeflate.make()] }),
              Buffer.from(wire)
            )
            if (result.error) throw result.error
            sink += result.frames.length
          }
        },
        {
          name: "ws perMessageDeflate (async zlib)",
          run: () =>
            new Promise<void>((resolve, reject) => {
              const receiver =
                new (Ws.plain.Receiver as unknown as new(options: Record<string, unknown>) => Ws.WsReceiver)({
                  isServer: true,
                  maxPayload: 0,
                  extensions: { "permessage-deflate": wsDeflate(true) }
                })
              let received = 0
              receiver.on("message", () => {
                if (++received === COUNT) resolve()
              })
              receiver.on("error", reject)
              receiver.write(Buffer.from(wire))
            })
        }
      ],
      references: ["ws perMessageDeflate (async zlib)"]
    }
  ]
}

export const drain = () => sink
