/**
 * The cost of each face: the same decoding through the frame codec, the WSConnection reducer, the
 * wsproto-style class and the Effect service (one Effect per received chunk).
 */
import * as Effect from "effect/Effect"
import { CLIENT, SERVER } from "../src/ConnectionState.js"
import * as Events from "../src/Events.js"
import * as Frame from "../src/Frame.js"
import * as WSConnection from "../src/WSConnection.js"
import type { Row } from "./harness.js"

let sink = 0
const CHUNK = 64 * 1024

/** The bytes of a client's handshake request and of `count` masked messages, in 64 KiB chunks. */
const conversation = (message: string | Uint8Array, count: number) => {
  const client = WSConnection.make({ connectionType: CLIENT, maskKey: () => new Uint8Array([1, 2, 3, 4]) })
  const request = WSConnection.send(client, new Events.Request({ host: "localhost", target: "/" }))
  const encoder = Frame.encoder({ role: "client", maskKey: () => new Uint8Array([1, 2, 3, 4]) })
  const frames: Array<Uint8Array> = []
  for (let i = 0; i < count; i++) frames.push(...Frame.encodeMessage(encoder, message).bytes)
  const wire = Buffer.concat(frames)
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < wire.length; i += CHUNK) chunks.push(wire.subarray(i, i + CHUNK))
  return { request: Buffer.concat(request.bytes), chunks }
}

const faces = (name: string, message: string | Uint8Array, count: number): Row => {
  const { chunks, request } = conversation(message, count)
  const accept = new Events.AcceptConnection()
  // The reducer's state is a value: one OPEN state serves every run.
  const received = WSConnection.receive(WSConnection.make({ connectionType: SERVER }), request)
  const open = WSConnection.send(received.state, accept).state
  return {
    name: `faces: server decoding ${name}, 64 KiB chunks`,
    bytes: count * (typeof message === "string" ? Buffer.byteLength(message) : message.length),
    messages: count,
    candidates: [
      {
        name: "Frame.decode (codec alone)",
        run: () => {
          let state = Frame.decoder({ role: "server" })
          for (const chunk of chunks) {
            const result = Frame.decode(state, chunk)
            state = result.state
            sink += result.frames.length
          }
        }
      },
      {
        name: "WSConnection.receive (reducer)",
        run: () => {
          let state = open
          for (const chunk of chunks) {
            const result = WSConnection.receive(state, chunk)
            state = result.state
            sink += result.events.length
          }
        }
      },
      {
        name: "WSConnection class",
        run: () => {
          const ws = new WSConnection.WSConnection(SERVER)
          ws.receiveData(request)
          ws.send(accept)
          for (const chunk of chunks) {
            ws.receiveData(chunk)
            for (const _ of ws.events()) sink++
          }
        }
      },
      {
        name: "WSConnection.Service (Effect)",
        run: () =>
          Effect.runSync(Effect.gen(function*() {
            const ws = yield* WSConnection.makeService({ connectionType: SERVER })
            yield* ws.receive(request)
            yield* ws.send(accept)
            for (const chunk of chunks) sink += (yield* ws.receive(chunk)).length
          }))
      }
    ],
    references: ["Frame.decode (codec alone)"]
  }
}

export const rows = (): ReadonlyArray<Row> => [
  faces("masked 16 B text", "abcdefghijklmnop", 40_000),
  faces("masked 64 KiB binary", new Uint8Array(64 * 1024).fill(7), 16)
]

export const drain = () => sink
