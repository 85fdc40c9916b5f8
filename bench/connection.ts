/**
 * The cost of each face: the same decoding through the frame codec, the WSConnection reducer, the
 * wsproto-style class and the Effect service (one Effect per received chunk); and the rounds a
 * server answers (a ping with its pong, a close with its close) and a frame fed one byte per call,
 * through the `Connection` faces beside ws's Receiver and Sender.
 */
import * as Effect from "effect/Effect"
import * as Connection from "../src/Connection.js"
import { CLIENT, SERVER } from "../src/ConnectionState.js"
import * as Events from "../src/Events.js"
import * as Frame from "../src/Frame.js"
import * as EventClasses from "../src/internal/eventClasses.js"
import * as WSConnection from "../src/WSConnection.js"
import type { Row } from "./harness.js"
import * as Ws from "./ws.js"

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

/** The same sends through each face of a server's conversation, events built as a user builds them. */
const sendingFaces = (name: string, message: string, count: number): Row => {
  const { request } = conversation(message, 0)
  const accept = new Events.AcceptConnection()
  const open =
    WSConnection.send(WSConnection.receive(WSConnection.make({ connectionType: SERVER }), request).state, accept)
      .state
  const event = () => new Events.TextMessage({ data: message })
  return {
    name: `faces: server sending ${name}, one send per message`,
    bytes: count * Buffer.byteLength(message),
    messages: count,
    candidates: [
      {
        name: "Frame.encodeMessage (codec alone)",
        run: () => {
          let state = Frame.encoder({ role: "server" })
          for (let i = 0; i < count; i++) {
            const result = Frame.encodeMessage(state, message)
            state = result.state
            sink += result.bytes.length
          }
        }
      },
      {
        name: "WSConnection.send (reducer)",
        run: () => {
          let state = open
          for (let i = 0; i < count; i++) {
            const result = WSConnection.send(state, event())
            state = result.state
            sink += result.bytes.length
          }
        }
      },
      {
        name: "WSConnection class",
        run: () => {
          const ws = new WSConnection.WSConnection(SERVER)
          ws.receiveData(request)
          ws.send(accept)
          for (let i = 0; i < count; i++) sink += ws.send(event()).length
        }
      },
      {
        name: "WSConnection.Service (Effect)",
        run: () =>
          Effect.runSync(Effect.gen(function*() {
            const ws = yield* WSConnection.makeService({ connectionType: SERVER })
            yield* ws.receive(request)
            yield* ws.send(accept)
            for (let i = 0; i < count; i++) sink += (yield* ws.send(event())).bytes.length
          }))
      }
    ],
    references: ["Frame.encodeMessage (codec alone)"]
  }
}

/** A client's masked frame (RFC 6455 §5.3), as the server under test receives it. */
const clientFrame = (encode: (encoder: Frame.EncoderState) => Frame.Encoded): Uint8Array => {
  const result = encode(Frame.encoder({ role: "client", maskKey: () => new Uint8Array([1, 2, 3, 4]) }))
  if (result.error !== undefined) throw result.error
  return Buffer.concat(result.bytes)
}

/**
 * `count` reads of `frame`, fresh for each run of every candidate, as a socket gives them (ws
 * unmasks in place).
 */
const reads = (frame: Uint8Array, count: number): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let i = 0; i < count; i++) out.push(Buffer.from(frame))
  return out
}

const wsCandidate = (
  label: string,
  modules: Ws.WsModules,
  setup: (receiver: Ws.WsReceiver, sender: Ws.WsSender) => void,
  run: (receiver: Ws.WsReceiver) => void
) => {
  const receiver = new modules.Receiver({ isServer: true, maxPayload: 0 })
  const sender = new modules.Sender(Ws.nullSocket)
  receiver.on("error", (error: Error) => {
    throw error
  })
  setup(receiver, sender)
  return { name: label, run: () => run(receiver) }
}

/** A server answering pings, one ping frame per read (RFC 6455 §5.5.2, §5.5.3). */
const pingRound = (count: number): Row => {
  const ping = clientFrame((e) => Frame.encodePing(e, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])))
  const answer = (receiver: Ws.WsReceiver, sender: Ws.WsSender) =>
    receiver.on("ping", (data) => {
      sender.pong(data, false)
      sink++
    })
  return {
    name: `ping → pong round: ${count} pings of 8 bytes, one per read`,
    bytes: count * 8,
    messages: count,
    candidates: [
      {
        name: "Connection reducer",
        run: () => {
          let state = Connection.make({ connectionType: SERVER })
          for (const read of reads(ping, count)) {
            const received = Connection.receive(state, read)
            state = received.state
            for (const event of received.events) {
              if (event._tag !== "Ping") continue
              const sent = Connection.send(state, event.response())
              state = sent.state
              sink += sent.bytes.length
            }
          }
        }
      },
      {
        name: "Connection class",
        run: () => {
          const connection = new Connection.Connection(SERVER)
          for (const read of reads(ping, count)) {
            connection.receiveData(read)
            for (const event of connection.events()) {
              if (event._tag === "Ping") sink += connection.send(event.response()).length
            }
          }
        }
      },
      wsCandidate("ws", Ws.plain, answer, (receiver) => {
        for (const read of reads(ping, count)) receiver.write(read)
      }),
      wsCandidate("ws + bufferutil", Ws.withBufferutil, answer, (receiver) => {
        for (const read of reads(ping, count)) receiver.write(read)
      })
    ],
    references: ["ws", "ws + bufferutil"]
  }
}

/** The closing handshake a server answers (RFC 6455 §5.5.1, §7.1.2): a fresh connection each round. */
const closeRound = (count: number): Row => {
  const close = clientFrame((e) => Frame.encodeClose(e, 1000, "bye"))
  const ws = (label: string, modules: Ws.WsModules) => ({
    name: label,
    run: () => {
      for (const read of reads(close, count)) {
        const receiver = new modules.Receiver({ isServer: true, maxPayload: 0 })
        const sender = new modules.Sender(Ws.nullSocket)
        receiver.on("conclude", (code, reason) => {
          sender.close(code, reason, false)
          sink++
        })
        receiver.write(read)
      }
    }
  })
  return {
    name: `close round: ${count} connections, each receives a close and answers it`,
    bytes: count * 5,
    messages: count,
    candidates: [
      {
        name: "Connection reducer",
        run: () => {
          for (const read of reads(close, count)) {
            const received = Connection.receive(Connection.make({ connectionType: SERVER }), read)
            const close = received.events[0] as Events.CloseConnection
            sink += Connection.send(received.state, close.response()).bytes.length
          }
        }
      },
      {
        name: "Connection class",
        run: () => {
          for (const read of reads(close, count)) {
            const connection = new Connection.Connection(SERVER)
            connection.receiveData(read)
            for (const event of connection.events()) {
              if (event._tag === "CloseConnection") sink += connection.send(event.response()).length
            }
          }
        }
      },
      ws("ws", Ws.plain),
      ws("ws + bufferutil", Ws.withBufferutil)
    ],
    references: ["ws", "ws + bufferutil"]
  }
}

/** A 128-byte text frame fed one byte per call: the fixed cost of a step. */
const byteAtATime = (): Row => {
  const frame = clientFrame((e) => Frame.encodeMessage(e, "x".repeat(128)))
  const ws = (label: string, modules: Ws.WsModules) =>
    wsCandidate(label, modules, (receiver) => receiver.on("message", () => sink++), (receiver) => {
      for (const byte of reads(frame, 1)[0]!) receiver.write(Buffer.of(byte))
    })
  return {
    name: "a 128-byte text frame fed one byte per call",
    bytes: 128,
    messages: 1,
    candidates: [
      {
        name: "Connection reducer",
        run: () => {
          let state = Connection.make({ connectionType: SERVER, assembleMessages: true })
          for (const byte of reads(frame, 1)[0]!) {
            const received = Connection.receive(state, Buffer.of(byte))
            state = received.state
            sink += received.events.length
          }
        }
      },
      {
        name: "Connection class",
        run: () => {
          const connection = new Connection.Connection(SERVER, [], undefined, { assembleMessages: true })
          for (const byte of reads(frame, 1)[0]!) {
            connection.receiveData(Buffer.of(byte))
            for (const _ of connection.events()) sink++
          }
        }
      },
      ws("ws", Ws.plain),
      ws("ws + bufferutil", Ws.withBufferutil)
    ],
    references: ["ws", "ws + bufferutil"]
  }
}

/** What building an event costs: the constructor users call, the Schema constructor, a plain object. */
const constructing = (count: number): Row => {
  const data = "abcdefghijklmnop"
  return {
    name: `events: construct ${count} TextMessage({ data })`,
    bytes: count * data.length,
    messages: count,
    candidates: [
      {
        name: "new Events.TextMessage",
        run: () => {
          for (let i = 0; i < count; i++) sink += new Events.TextMessage({ data }).data.length
        }
      },
      {
        name: "the Schema class's constructor",
        run: () => {
          for (let i = 0; i < count; i++) sink += new EventClasses.TextMessage({ data }).data.length
        }
      },
      {
        name: "a plain object",
        run: () => {
          for (let i = 0; i < count; i++) {
            const event = { _tag: "TextMessage", data, frameFinished: true, messageFinished: true }
            sink += event.data.length
          }
        }
      }
    ],
    references: ["a plain object"]
  }
}

export const rows = (): ReadonlyArray<Row> => [
  constructing(10_000),
  faces("masked 16 B text", "abcdefghijklmnop", 40_000),
  faces("masked 64 KiB binary", new Uint8Array(64 * 1024).fill(7), 16),
  sendingFaces("16 B text", "abcdefghijklmnop", 10_000),
  pingRound(10_000),
  closeRound(10_000),
  byteAtATime()
]

export const drain = () => sink
