/**
 * Frame codec workloads: decoding and encoding against ws's Receiver and Sender, through the codec
 * and through the faces users call (the `Connection` reducer and class, with the events built as a
 * user builds them).
 */
import { isUtf8 } from "node:buffer"
import * as Connection from "../src/Connection.js"
import { CLIENT, SERVER } from "../src/ConnectionState.js"
import * as Events from "../src/Events.js"
import * as Frame from "../src/Frame.js"
import type { Row } from "./harness.js"
import * as Ws from "./ws.js"

const CHUNK = 64 * 1024
const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d])
const fixedKey = () => KEY
let sink = 0

/** One MiB (or so) of whole messages, each `size` bytes, as a client would send them. */
const messagesOf = (make: (index: number) => string | Uint8Array, count: number) =>
  Array.from({ length: count }, (_, i) => make(i))

const wire = (messages: ReadonlyArray<string | Uint8Array>): Uint8Array => {
  const client = Frame.encoder({ role: "client", maskKey: fixedKey })
  const parts: Array<Uint8Array> = []
  for (const message of messages) {
    const result = Frame.encodeMessage(client, message)
    if (result.error !== undefined) throw result.error
    parts.push(...result.bytes)
  }
  return Buffer.concat(parts)
}

const ascii = (size: number, seed: number) => {
  let s = ""
  for (let i = 0; i < size; i++) s += String.fromCharCode(0x61 + ((i + seed) % 26))
  return s
}

/** Mixed 1-, 2-, 3- and 4-byte characters, cut to exactly `size` bytes of UTF-8. */
const multiByte = (size: number, seed: number) => {
  const pieces = ["a", "é", "ж", "€", "語", "😀", "ß", "ü"]
  let s = ""
  let bytes = 0
  for (let i = seed;; i++) {
    const piece = pieces[i % pieces.length]!
    const length = Buffer.byteLength(piece)
    if (bytes + length > size) break
    s += piece
    bytes += length
  }
  return s + "a".repeat(size - bytes)
}

const binary = (size: number, seed: number) => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) & 0xff
  return bytes
}

const chunksOf = (bytes: Uint8Array, size: number): Array<Uint8Array> => {
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return chunks
}

/** The physical limit of a JavaScript unmask: one unrolled pass of 32-bit XORs, nothing else. */
const xorWords = (words: Int32Array, mask: number) => {
  const unrolled = words.length & ~7
  let i = 0
  for (; i < unrolled; i += 8) {
    words[i] = words[i]! ^ mask
    words[i + 1] = words[i + 1]! ^ mask
    words[i + 2] = words[i + 2]! ^ mask
    words[i + 3] = words[i + 3]! ^ mask
    words[i + 4] = words[i + 4]! ^ mask
    words[i + 5] = words[i + 5]! ^ mask
    words[i + 6] = words[i + 6]! ^ mask
    words[i + 7] = words[i + 7]! ^ mask
  }
  for (; i < words.length; i++) words[i] = words[i]! ^ mask
}

/** A decode row: every candidate gets a fresh copy of the wire bytes each run, as a socket would. */
const decodeRow = (
  name: string,
  messages: ReadonlyArray<string | Uint8Array>,
  options: { readonly text: boolean; readonly assembled?: boolean }
): Row => {
  const bytes = wire(messages)
  const scratch = Buffer.allocUnsafe(bytes.length)
  const chunks = chunksOf(scratch, CHUNK)
  const payloadBytes = messages.reduce((n, m) => n + Buffer.byteLength(m), 0)
  const ours = (label: string, decoderOptions: Partial<Frame.DecoderOptions>) => ({
    name: label,
    run: () => {
      scratch.set(bytes)
      let state = Frame.decoder({ role: "server", ...decoderOptions })
      for (const chunk of chunks) {
        const result = Frame.decode(state, chunk)
        if (result.error) throw result.error
        state = result.state
        sink += result.frames.length
      }
    }
  })
  const ws = (label: string, modules: Ws.WsModules, toString: boolean) => {
    const receiver = new modules.Receiver({ isServer: true, maxPayload: 0 })
    receiver.on("message", toString ? (data: Buffer) => (sink += data.toString().length) : () => sink++)
    receiver.on("error", (error: Error) => {
      throw error
    })
    return {
      name: label,
      run: () => {
        scratch.set(bytes)
        for (const chunk of chunks) receiver.write(chunk)
      }
    }
  }
  const candidates = [
    ours("effect-wsproto", {}),
    ours("effect-wsproto unmaskInPlace", { unmaskInPlace: true }),
    {
      name: "Connection.receive (reducer)",
      run: () => {
        scratch.set(bytes)
        let state = Connection.make({ connectionType: SERVER })
        for (const chunk of chunks) {
          const result = Connection.receive(state, chunk)
          state = result.state
          sink += result.events.length
        }
      }
    },
    {
      name: "Connection class",
      run: () => {
        scratch.set(bytes)
        const connection = new Connection.Connection(SERVER)
        for (const chunk of chunks) {
          connection.receiveData(chunk)
          for (const _ of connection.events()) sink++
        }
      }
    },
    ...(options.assembled
      ? [ours("effect-wsproto assembleMessages", { assembleMessages: true, unmaskInPlace: true })]
      : []),
    ws("ws", Ws.plain, false),
    ...(options.text ? [ws("ws + toString", Ws.plain, true)] : []),
    ws("ws + bufferutil", Ws.withBufferutil, false),
    ...(options.text ? [ws("ws + bufferutil + toString", Ws.withBufferutil, true)] : []),
    {
      name: "limit: 32-bit word XOR pass",
      run: () => {
        scratch.set(bytes)
        xorWords(new Int32Array(scratch.buffer, scratch.byteOffset, scratch.length >>> 2), 0x3d21fa37)
      }
    },
    {
      name: "limit: Buffer.isUtf8",
      run: () => {
        scratch.set(bytes)
        sink += isUtf8(scratch) ? 1 : 0
      }
    }
  ]
  return {
    name,
    bytes: payloadBytes,
    messages: messages.length,
    candidates,
    references: ["ws", "ws + toString", "ws + bufferutil", "ws + bufferutil + toString"]
  }
}

/** The event a user builds to send a message. */
const eventOf = (message: string | Uint8Array): Events.Event =>
  typeof message === "string" ? new Events.TextMessage({ data: message }) : new Events.BytesMessage({ data: message })

/** An encode row: each run frames every message once. */
const encodeRow = (name: string, role: Frame.Role, messages: ReadonlyArray<string | Uint8Array>): Row => {
  const payloadBytes = messages.reduce((n, m) => n + Buffer.byteLength(m), 0)
  const mask = role === "client"
  const connectionType = role === "client" ? CLIENT : SERVER
  const ws = (label: string, modules: Ws.WsModules) => {
    const sender = new modules.Sender(Ws.nullSocket)
    return {
      name: label,
      run: () => {
        for (const message of messages) {
          sender.send(message, { binary: typeof message !== "string", fin: true, mask, compress: false })
        }
      }
    }
  }
  return {
    name,
    bytes: payloadBytes,
    messages: messages.length,
    candidates: [
      {
        name: "effect-wsproto",
        run: () => {
          let state = Frame.encoder({ role })
          for (const message of messages) {
            const result = Frame.encodeMessage(state, message)
            if (result.error !== undefined) throw result.error
            state = result.state
            sink += result.bytes.length
          }
        }
      },
      {
        name: "Connection.send (reducer)",
        run: () => {
          let state = Connection.make({ connectionType })
          for (const message of messages) {
            const result = Connection.send(state, eventOf(message))
            state = result.state
            sink += result.bytes.length
          }
        }
      },
      {
        name: "Connection class",
        run: () => {
          const connection = new Connection.Connection(connectionType)
          for (const message of messages) sink += connection.send(eventOf(message)).length
        }
      },
      {
        name: "Connection class, sendChunks",
        run: () => {
          const connection = new Connection.Connection(connectionType)
          for (const message of messages) sink += connection.sendChunks(eventOf(message)).length
        }
      },
      ws("ws", Ws.plain),
      ws("ws + bufferutil", Ws.withBufferutil)
    ],
    references: ["ws", "ws + bufferutil"]
  }
}

const workloads = [
  { label: "16 B text", make: () => messagesOf((i) => ascii(16, i), 40_000), text: true },
  { label: "1 KiB ASCII text", make: () => messagesOf((i) => ascii(1024, i), 1024), text: true },
  { label: "1 KiB UTF-8 text (1–4 byte chars)", make: () => messagesOf((i) => multiByte(1024, i), 1024), text: true },
  { label: "64 KiB binary", make: () => messagesOf((i) => binary(64 * 1024, i), 16), text: false },
  { label: "1 MiB binary", make: () => messagesOf((i) => binary(1024 * 1024, i), 1), text: false, assembled: true }
]

/** One MiB of payload fed one byte at a time: one frame against sixteen, to show the cost is linear. */
const byteAtATimeRow = (): Row => {
  const one = wire([binary(1024 * 1024, 0)])
  const sixteen = wire(messagesOf((i) => binary(64 * 1024, i), 16))
  const feed = (bytes: Uint8Array) => () => {
    let state = Frame.decoder({ role: "server" })
    for (let i = 0; i < bytes.length; i++) {
      const result = Frame.decode(state, bytes.subarray(i, i + 1))
      state = result.state
      sink += result.frames.length
    }
  }
  return {
    name: "decode: 1 MiB fed one byte per chunk",
    bytes: 1024 * 1024,
    messages: 1,
    candidates: [
      { name: "one 1 MiB frame", run: feed(one) },
      { name: "sixteen 64 KiB frames", run: feed(sixteen) }
    ],
    references: ["sixteen 64 KiB frames"]
  }
}

export const rows = (): ReadonlyArray<Row> => [
  ...workloads.map((w) =>
    decodeRow(`decode (server, masked, 64 KiB chunks): ${w.label}`, w.make(), {
      text: w.text,
      ...(w.assembled ? { assembled: true } : {})
    })
  ),
  byteAtATimeRow(),
  ...workloads.map((w) => encodeRow(`encode server (unmasked): ${w.label}`, "server", w.make())),
  ...workloads.map((w) => encodeRow(`encode client (masked): ${w.label}`, "client", w.make()))
]

export const drain = () => sink
