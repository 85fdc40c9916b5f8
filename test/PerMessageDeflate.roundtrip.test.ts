/**
 * permessage-deflate properties: random messages round-trip through a client and a server for
 * every parameter combination, and decompression bombs always end in 1009 in bounded memory.
 */
import * as zlib from "node:zlib"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CLIENT, SERVER } from "../src/ConnectionState.js"
import * as Events from "../src/Events.js"
import * as Frame from "../src/Frame.js"
import * as PerMessageDeflate from "../src/PerMessageDeflate.js"
import * as WSConnection from "../src/WSConnection.js"

const options = fc.record(
  {
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.integer({ min: 9, max: 15 }),
    clientMaxWindowBits: fc.oneof(fc.integer({ min: 9, max: 15 }), fc.boolean()),
    threshold: fc.integer({ min: 0, max: 64 })
  },
  { requiredKeys: [] }
)

const message = fc.oneof(
  fc.fullUnicodeString({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 600 }),
  fc.constantFrom("{\"a\":1}".repeat(50), "x".repeat(2000))
)

const join = (chunks: ReadonlyArray<Uint8Array>) => Buffer.concat(chunks)

/** Text as itself, bytes as hex: what was sent and what arrived compare alike. */
const comparable = (m: string | Uint8Array) => (typeof m === "string" ? `text:${m}` : `bytes:${Buffer.from(m).toString("hex")}`)

/** Sends each message, whole or in two pieces, from `from` to `to`; returns what `to` received, joined per message. */
const deliver = (
  from: WSConnection.State,
  to: WSConnection.State,
  messages: ReadonlyArray<readonly [string | Uint8Array, number]>
) => {
  const received: Array<string | Uint8Array> = []
  let text = ""
  let bytes: Array<Uint8Array> = []
  for (const [data, cut] of messages) {
    // Text is cut between code points: a lone surrogate is not text.
    const units = typeof data === "string" ? Array.from(data) : data
    const at = units.length > 1 ? cut % units.length : 0
    const pieces: Array<string | Uint8Array> = at === 0
      ? [data]
      : typeof data === "string"
      ? [(units as Array<string>).slice(0, at).join(""), (units as Array<string>).slice(at).join("")]
      : [data.slice(0, at), data.slice(at)]
    pieces.forEach((piece, i) => {
      const finished = i === pieces.length - 1
      const event = typeof piece === "string"
        ? new Events.TextMessage({ data: piece, messageFinished: finished })
        : new Events.BytesMessage({ data: piece, messageFinished: finished })
      const sent = Either.getOrThrow(WSConnection.send(from, event))
      from = sent.state
      const got = WSConnection.receive(to, join(sent.bytes))
      expect(got.error).toBeUndefined()
      to = got.state
      for (const e of got.events) {
        if (e instanceof Events.TextMessage) {
          text += e.data
          if (e.messageFinished) received.push(text), (text = "")
        } else if (e instanceof Events.BytesMessage) {
          bytes.push(e.data)
          if (e.messageFinished) received.push(join(bytes)), (bytes = [])
        }
      }
    })
  }
  return { from, to, received }
}

const open = (client: PerMessageDeflate.PerMessageDeflateOptions, server: PerMessageDeflate.PerMessageDeflateOptions) => {
  const request = Either.getOrThrow(WSConnection.send(
    WSConnection.make({ connectionType: CLIENT }),
    new Events.Request({ host: "localhost", target: "/", extensions: [PerMessageDeflate.make(client)] })
  ))
  const asked = WSConnection.receive(WSConnection.make({ connectionType: SERVER }), join(request.bytes))
  const accepted = Either.getOrThrow(WSConnection.send(
    asked.state,
    new Events.AcceptConnection({ extensions: [PerMessageDeflate.make(server)] })
  ))
  const answered = WSConnection.receive(request.state, join(accepted.bytes))
  expect(answered.error).toBeUndefined()
  return { client: answered.state, server: accepted.state, agreed: answered.events }
}

describe("permessage-deflate round trips", () => {
  it("random messages arrive intact both ways for any parameters of either side", () => {
    fc.assert(
      fc.property(
        options,
        options,
        fc.array(fc.tuple(message, fc.nat(700)), { maxLength: 8 }),
        fc.array(fc.tuple(message, fc.nat(700)), { maxLength: 8 }),
        (clientOptions, serverOptions, toServer, toClient) => {
          const { client, server } = open(clientOptions, serverOptions)
          const up = deliver(client, server, toServer)
          expect(up.received.map(comparable)).toEqual(toServer.map(([m]) => comparable(m)))
          const down = deliver(up.to, up.from, toClient)
          expect(down.received.map(comparable)).toEqual(toClient.map(([m]) => comparable(m)))
        }
      ),
      { numRuns: 150 }
    )
  })
})

describe("decompression bombs", () => {
  const LIMIT = 64 * 1024

  // Made before measuring: each inflates to 5–40 MiB of zeros or letters.
  const bombs = [5, 20, 40].flatMap((megabytes) =>
    [0x00, 0x61].map((fill) => zlib.deflateRawSync(Buffer.alloc(megabytes * 1024 * 1024, fill), { level: 9 }))
  )

  it("always end in 1009, whatever their shape and however they are cut, without holding the bomb in memory", () => {
    const before = process.memoryUsage().rss
    fc.assert(
      fc.property(
        fc.constantFrom(...bombs),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 6 }),
        (bomb, frames, cuts) => {
          // The compressed stream in `frames` frames of one message (RSV1 on the first only).
          const size = Math.ceil(bomb.length / frames)
          const wire: Array<Uint8Array> = []
          for (let i = 0; i < frames; i++) {
            const payload = bomb.subarray(i * size, (i + 1) * size)
            const fin = i === frames - 1
            const first = i === 0
            const header = payload.length < 126
              ? Buffer.from([(fin ? 0x80 : 0) | (first ? 0x40 : 0) | (first ? 0x2 : 0), payload.length])
              : Buffer.from([(fin ? 0x80 : 0) | (first ? 0x40 : 0) | (first ? 0x2 : 0), 126, payload.length >> 8, payload.length & 0xff])
            wire.push(header, payload)
          }
          const bytes = Buffer.concat(wire)
          let state = Frame.decoder({ role: "client", extensions: [PerMessageDeflate.make()], maxMessageSize: LIMIT })
          let delivered = 0
          let error: number | undefined
          for (let offset = 0, k = 0; offset < bytes.length && error === undefined; k++) {
            const step = cuts[k % cuts.length]!
            const result = Frame.decode(state, bytes.subarray(offset, offset + step))
            offset += step
            state = result.state
            for (const frame of result.frames) if (frame._tag === "Binary") delivered += frame.data.length
            error = result.error?.closeCode
          }
          expect(error).toBe(1009)
          expect(delivered).toBeLessThanOrEqual(LIMIT)
        }
      ),
      { numRuns: 25 }
    )
    // What the decoder held while inflating stays far below the 40 MiB a bomb inflates to.
    expect(process.memoryUsage().rss - before).toBeLessThan(16 * 1024 * 1024)
  })
})
