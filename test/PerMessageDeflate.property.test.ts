/**
 * Properties of permessage-deflate, checked with fast-check through a client and a server
 * `WSConnection` reducer pair that negotiated it in a real handshake:
 * (a) both ends agree on the same parameters, whatever each was configured with;
 * (b) random conversations (text with astral characters, binary, messages sent in pieces with
 *     control frames between them, messages split by `fragmentSize`) arrive intact both ways,
 *     however the bytes are cut into reads, with RSV1 exactly on the first frame of each
 *     compressed message, and the compressed stream of each direction is one that zlib reads with
 *     the agreed window (per message without context takeover, as one stream with it);
 * (c) decompression bombs of random shape (highly compressible data of 5 to 50 MiB compressed by
 *     zlib, in random frames and reads, either direction) always end in 1009 under a 64 KiB
 *     message limit, surface at most that much, and leave the resident memory far below the bomb.
 */
import fc from "fast-check"
import * as zlib from "node:zlib"
import { describe, expect, it } from "vitest"
import { ConnectionState, ConnectionType } from "../src/ConnectionState.js"
import { RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import type * as Extensions from "../src/Extensions.js"
import * as Frame from "../src/Frame.js"
import * as Handshake from "../src/Handshake.js"
import * as PMD from "../src/PerMessageDeflate.js"
import * as WSConnection from "../src/WSConnection.js"
import { concatAll, expectOk, parseWireFrames, rawFrame, splitAt, utf8, type WireFrame } from "./helpers.js"

const { CLIENT, SERVER } = ConnectionType
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff])
const KIB = 1024
const MIB = 1024 * KIB

type Options = PMD.PerMessageDeflateOptions

const agreedOf = (extension: Extensions.Extension): PMD.Agreed => {
  if (!("agreed" in extension)) throw new Error(`${extension.name} has no agreed parameters`)
  return (extension as Extensions.Extension & { readonly agreed: PMD.Agreed }).agreed
}

/** Sorted, distinct cut offsets inside `length`, from arbitrary numbers. */
const cutsWithin = (length: number, raw: ReadonlyArray<number>): Array<number> =>
  length <= 1 ? [] : [...new Set(raw.map((n) => 1 + (n % (length - 1))))].sort((a, b) => a - b)

// ---------------------------------------------------------------------------------------------
// Arbitraries

const deflateOptions: fc.Arbitrary<Options> = fc.record(
  {
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.integer({ min: 9, max: 15 }),
    clientMaxWindowBits: fc.oneof(fc.boolean(), fc.integer({ min: 9, max: 15 })),
    threshold: fc.integer({ min: 0, max: 80 }),
    level: fc.integer({ min: 0, max: 9 }),
    memLevel: fc.integer({ min: 1, max: 9 })
  },
  { requiredKeys: [] }
)

const connectionOptions: fc.Arbitrary<Partial<WSConnection.WSConnectionOptions>> = fc.record(
  {
    fragmentSize: fc.integer({ min: 1, max: 700 }),
    assembleMessages: fc.boolean()
  },
  { requiredKeys: [] }
)

/** Text: any code points (astral ones too), or text that compresses well. */
const text = fc.oneof(
  fc.fullUnicodeString({ maxLength: 200 }),
  fc.tuple(fc.fullUnicodeString({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 300 })).map(([s, n]) =>
    s.repeat(n)
  )
)

/** Bytes: random, or runs that compress well. */
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 1500 }),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 800 })).map(([unit, n]) =>
    concatAll(Array.from({ length: n }, () => unit))
  )
)

/** Splits a string between code points at the given positions. */
const textPieces = (data: string, raw: ReadonlyArray<number>): Array<string> => {
  const points = Array.from(data)
  const cuts = cutsWithin(points.length, raw)
  return [0, ...cuts].map((start, i) => points.slice(start, cuts[i] ?? points.length).join(""))
}

/** One step of a conversation: a message (whole or in pieces, a ping after some pieces) or a ping. */
type Step =
  | {
    readonly _tag: "Message"
    readonly up: boolean
    readonly pieces: ReadonlyArray<string> | ReadonlyArray<Uint8Array>
    readonly pingAfter: ReadonlyArray<boolean>
  }
  | { readonly _tag: "Ping"; readonly up: boolean; readonly payload: Uint8Array }

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        up: fc.boolean(),
        data: fc.oneof(text, bytes),
        cuts: fc.array(fc.nat(), { maxLength: 4 }),
        pings: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 })
      })
      .map(({ cuts, data, pings, up }): Step => {
        const pieces = typeof data === "string" ? textPieces(data, cuts) : splitAt(data, cutsWithin(data.length, cuts))
        return {
          _tag: "Message",
          up,
          pieces,
          pingAfter: pieces.map((_, i) => i < pieces.length - 1 && pings[i] === true)
        }
      })
  },
  {
    weight: 1,
    arbitrary: fc.record({ up: fc.boolean(), payload: fc.uint8Array({ maxLength: 20 }) }).map((r): Step => ({
      _tag: "Ping",
      ...r
    }))
  }
)

// ---------------------------------------------------------------------------------------------
// A client and a server reducer, opened by a real handshake

interface End {
  state: WSConnection.State
  /** What it surfaced, whole messages joined from their pieces. */
  readonly messages: Array<string | Uint8Array>
  readonly pings: Array<string>
  text: string
  bytes: Array<Uint8Array>
  /** The frames it wrote after the handshake. */
  readonly wrote: Array<WireFrame>
}

const newEnd = (state: WSConnection.State): End => ({ state, messages: [], pings: [], text: "", bytes: [], wrote: [] })

const open = (
  clientOptions: Options,
  serverOptions: Options,
  clientConnection: Partial<WSConnection.WSConnectionOptions>,
  serverConnection: Partial<WSConnection.WSConnectionOptions>
) => {
  const request = expectOk(
    WSConnection.send(
      WSConnection.make({ ...clientConnection, connectionType: CLIENT }),
      new Events.Request({ host: "localhost", target: "/", extensions: [PMD.make(clientOptions)] })
    )
  )
  const asked = WSConnection.receive(
    WSConnection.make({ ...serverConnection, connectionType: SERVER }),
    concatAll(request.bytes)
  )
  expect(asked.error).toBeUndefined()
  const accepted = expectOk(
    WSConnection.send(asked.state, new Events.AcceptConnection({ extensions: [PMD.make(serverOptions)] }))
  )
  const answered = WSConnection.receive(request.state, concatAll(accepted.bytes))
  expect(answered.error).toBeUndefined()
  expect(WSConnection.connectionState(answered.state)).toBe(ConnectionState.OPEN)
  expect(WSConnection.connectionState(accepted.state)).toBe(ConnectionState.OPEN)
  const clientSide = (answered.events[0] as Events.AcceptConnection).extensions
  const serverSide = Handshake.extensions(accepted.state.handshake)
  return { client: newEnd(answered.state), server: newEnd(accepted.state), clientSide, serverSide }
}

/** Sends an event from one end and delivers the bytes to the other in reads cut at `cuts`. */
const deliver = (from: End, to: End, event: Events.Event, cuts: ReadonlyArray<number>): void => {
  const sent = expectOk(WSConnection.send(from.state, event))
  from.state = sent.state
  const wire = concatAll(sent.bytes)
  const parsed = parseWireFrames(wire)
  expect(parsed.rest.length).toBe(0)
  from.wrote.push(...parsed.frames)
  for (const chunk of splitAt(wire, cutsWithin(wire.length, cuts))) {
    const received = WSConnection.receive(to.state, chunk)
    if (received.error !== undefined) throw received.error
    to.state = received.state
    for (const e of received.events) {
      if (e._tag === "TextMessage") {
        to.text += e.data
        if (e.messageFinished) {
          to.messages.push(to.text)
          to.text = ""
        }
      } else if (e._tag === "BytesMessage") {
        to.bytes.push(e.data)
        if (e.messageFinished) {
          to.messages.push(concatAll(to.bytes))
          to.bytes = []
        }
      } else if (e._tag === "Ping") {
        to.pings.push(Buffer.from(e.payload).toString("hex"))
      }
    }
  }
}

const comparable = (
  m: string | Uint8Array
): string => (typeof m === "string" ? `text:${m}` : `bytes:${Buffer.from(m).toString("hex")}`)

/** The messages of a sender's frames: each one's frames, in order. */
const messagesOf = (frames: ReadonlyArray<WireFrame>): Array<Array<WireFrame>> => {
  const messages: Array<Array<WireFrame>> = []
  let current: Array<WireFrame> = []
  for (const frame of frames) {
    if (frame.opcode >= 0x8) continue
    current.push(frame)
    if (frame.fin) {
      messages.push(current)
      current = []
    }
  }
  return messages
}

/**
 * Inflates a direction's compressed messages with zlib, as a peer would: one stream with context
 * takeover, a stream per message without; in 64-byte output chunks, so that a match beyond the
 * agreed window fails.
 */
const inflateDirection = (
  messages: ReadonlyArray<Array<WireFrame>>,
  windowBits: number,
  reset: boolean
): Array<Uint8Array> => {
  const compressed = messages.filter((m) => (m[0]!.rsv & Frame.RSV1) !== 0).map((m) =>
    concatAll([...m.map((f) => f.payload), TAIL])
  )
  const inflate = (data: Uint8Array) =>
    new Uint8Array(
      zlib.inflateRawSync(data, {
        windowBits: Math.max(9, windowBits),
        chunkSize: 64,
        finishFlush: zlib.constants.Z_SYNC_FLUSH
      })
    )
  return reset ? compressed.map(inflate) : compressed.length === 0 ? [] : [inflate(concatAll(compressed))]
}

describe("permessage-deflate properties", () => {
  it("both ends of a handshake agree on the same parameters, within what each allowed", () => {
    fc.assert(
      fc.property(deflateOptions, deflateOptions, (clientOptions, serverOptions) => {
        const { clientSide, serverSide } = open(clientOptions, serverOptions, {}, {})
        expect(clientSide.length).toBe(1)
        expect(serverSide.length).toBe(1)
        const agreed = agreedOf(clientSide[0]!)
        expect(agreedOf(serverSide[0]!)).toEqual(agreed)
        // Each side's requirements hold.
        if (clientOptions.serverNoContextTakeover || serverOptions.serverNoContextTakeover) {
          expect(agreed.serverNoContextTakeover).toBe(true)
        }
        if (clientOptions.clientNoContextTakeover || serverOptions.clientNoContextTakeover) {
          expect(agreed.clientNoContextTakeover).toBe(true)
        }
        expect(agreed.serverMaxWindowBits).toBeLessThanOrEqual(
          Math.min(clientOptions.serverMaxWindowBits ?? 15, serverOptions.serverMaxWindowBits ?? 15)
        )
        expect(agreed.serverMaxWindowBits).toBeGreaterThanOrEqual(9)
        if (typeof clientOptions.clientMaxWindowBits === "number") {
          expect(agreed.clientMaxWindowBits).toBeLessThanOrEqual(clientOptions.clientMaxWindowBits)
        }
        if (typeof serverOptions.clientMaxWindowBits === "number" && clientOptions.clientMaxWindowBits !== false) {
          expect(agreed.clientMaxWindowBits).toBeLessThanOrEqual(serverOptions.clientMaxWindowBits)
        }
        expect(agreed.clientMaxWindowBits).toBeGreaterThanOrEqual(9)
      }),
      { numRuns: 300 }
    )
  })

  it("random conversations arrive intact both ways, however cut, with RSV1 where it belongs and zlib-readable streams", () => {
    fc.assert(
      fc.property(
        deflateOptions,
        deflateOptions,
        connectionOptions,
        connectionOptions,
        fc.array(step, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (clientOptions, serverOptions, clientConnection, serverConnection, steps, cuts) => {
          const { client, clientSide, server } = open(clientOptions, serverOptions, clientConnection, serverConnection)
          const agreed = agreedOf(clientSide[0]!)
          const sentUp: Array<string | Uint8Array> = []
          const sentDown: Array<string | Uint8Array> = []
          const pingsUp: Array<string> = []
          const pingsDown: Array<string> = []
          /** For each direction, per message: whether it should be compressed. */
          const compressedUp: Array<boolean> = []
          const compressedDown: Array<boolean> = []
          for (const s of steps) {
            const [from, to] = s.up ? [client, server] : [server, client]
            const pings = s.up ? pingsUp : pingsDown
            if (s._tag === "Ping") {
              deliver(from, to, new Events.Ping({ payload: s.payload }), cuts)
              pings.push(Buffer.from(s.payload).toString("hex"))
              continue
            }
            const isText = typeof s.pieces[0] === "string"
            s.pieces.forEach((piece, i) => {
              const messageFinished = i === s.pieces.length - 1
              deliver(
                from,
                to,
                isText
                  ? new Events.TextMessage({ data: piece as string, messageFinished })
                  : new Events.BytesMessage({ data: piece as Uint8Array, messageFinished }),
                cuts
              )
              if (s.pingAfter[i] === true) {
                deliver(from, to, new Events.Ping({ payload: utf8(`p${i}`) }), cuts)
                pings.push(Buffer.from(`p${i}`).toString("hex"))
              }
            })
            const whole = isText
              ? (s.pieces as ReadonlyArray<string>).join("")
              : concatAll(s.pieces as ReadonlyArray<Uint8Array>)
            ;(s.up ? sentUp : sentDown).push(whole)
            // The threshold applies to whole messages; a message sent in pieces is compressed.
            const threshold = (s.up ? clientOptions : serverOptions).threshold ?? 0
            const size = typeof whole === "string" ? utf8(whole).length : whole.length
            ;(s.up ? compressedUp : compressedDown).push(s.pieces.length > 1 || size >= threshold)
          }
          expect(server.messages.map(comparable)).toEqual(sentUp.map(comparable))
          expect(client.messages.map(comparable)).toEqual(sentDown.map(comparable))
          expect(server.pings).toEqual(pingsUp)
          expect(client.pings).toEqual(pingsDown)
          // RSV1 on the first frame of each compressed message only; never on control frames.
          for (const [end, expected] of [[client, compressedUp], [server, compressedDown]] as const) {
            const messages = messagesOf(end.wrote)
            expect(messages.map((m) => (m[0]!.rsv & Frame.RSV1) !== 0)).toEqual(expected)
            for (const m of messages) for (const f of m.slice(1)) expect(f.rsv).toBe(0)
            for (const f of end.wrote) if (f.opcode >= 0x8) expect(f.rsv).toBe(0)
          }
          // zlib reads each direction's compressed stream with the agreed window.
          const upMessages = messagesOf(client.wrote)
          const up = inflateDirection(upMessages, agreed.clientMaxWindowBits, agreed.clientNoContextTakeover)
          const upCompressed = sentUp.filter((_, i) => compressedUp[i]).map((
            m
          ) => (typeof m === "string" ? utf8(m) : m))
          expect(Buffer.from(concatAll(up)).equals(Buffer.from(concatAll(upCompressed)))).toBe(true)
          const down = inflateDirection(
            messagesOf(server.wrote),
            agreed.serverMaxWindowBits,
            agreed.serverNoContextTakeover
          )
          const downCompressed = sentDown.filter((_, i) => compressedDown[i]).map((
            m
          ) => (typeof m === "string" ? utf8(m) : m))
          expect(Buffer.from(concatAll(down)).equals(Buffer.from(concatAll(downCompressed)))).toBe(true)
        }
      ),
      { numRuns: 150 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Decompression bombs

/** A pattern that compresses extremely well. */
type Pattern =
  | { readonly _tag: "Fill"; readonly byte: number }
  | { readonly _tag: "Repeat"; readonly unit: Uint8Array }
  | { readonly _tag: "Sparse"; readonly byte: number; readonly every: number }

const pattern: fc.Arbitrary<Pattern> = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((byte): Pattern => ({ _tag: "Fill", byte })),
  fc.uint8Array({ minLength: 2, maxLength: 64 }).map((unit): Pattern => ({ _tag: "Repeat", unit })),
  fc.record({ byte: fc.integer({ min: 1, max: 255 }), every: fc.integer({ min: 512, max: 16 * KIB }) }).map((
    r
  ): Pattern => ({ _tag: "Sparse", ...r }))
)

/** `length` bytes of a pattern; valid UTF-8 when `text` (ASCII only). */
const fillWith = (p: Pattern, length: number, text: boolean): Buffer => {
  const ascii = (b: number) => (text ? 0x20 + (b % 0x5f) : b)
  switch (p._tag) {
    case "Fill":
      return Buffer.alloc(length, ascii(p.byte))
    case "Repeat":
      return Buffer.alloc(length, Buffer.from(p.unit.map(ascii)))
    case "Sparse": {
      const out = Buffer.alloc(length, ascii(0))
      for (let i = 0; i < length; i += p.every) out[i] = ascii(p.byte)
      return out
    }
  }
}

interface Bomb {
  /** How many bytes it inflates to. */
  readonly size: number
  /** The message's compressed payload (without the tail a sender removes). */
  readonly payload: Uint8Array
}

/**
 * Compresses `size` bytes of the patterns with zlib, in units of `unit` bytes: each unit is
 * deflated on its own and sync-flushed, so the units concatenate into one stream, and no more
 * than one unit is ever held uncompressed.
 */
const makeBomb = (
  size: number,
  unit: number,
  patterns: ReadonlyArray<Pattern>,
  windowBits: number,
  level: number,
  text: boolean
): Bomb => {
  const cache = new Map<string, Buffer>()
  const parts: Array<Buffer> = []
  let made = 0
  for (let i = 0; made < size; i++) {
    const length = Math.min(unit, size - made)
    const p = i % patterns.length
    const key = `${p}:${length}`
    let part = cache.get(key)
    if (part === undefined) {
      part = zlib.deflateRawSync(fillWith(patterns[p]!, length, text), {
        windowBits,
        level,
        finishFlush: zlib.constants.Z_SYNC_FLUSH
      })
      cache.set(key, part)
    }
    parts.push(part)
    made += length
  }
  const stream = Buffer.concat(parts)
  expect(stream.subarray(stream.length - 4).equals(Buffer.from(TAIL))).toBe(true)
  return { size, payload: new Uint8Array(stream.subarray(0, stream.length - 4)) }
}

const LIMIT = 64 * KIB

describe("decompression bombs", () => {
  it("of random shape always end in 1009, surface at most the limit, and leave memory far below the bomb", () => {
    fc.assert(
      fc.property(
        fc.record({
          size: fc.integer({ min: 5 * MIB, max: 50 * MIB }),
          unit: fc.integer({ min: 64 * KIB, max: 2 * MIB }),
          patterns: fc.array(pattern, { minLength: 1, maxLength: 3 }),
          windowBits: fc.integer({ min: 9, max: 15 }),
          level: fc.integer({ min: 1, max: 9 }),
          text: fc.boolean(),
          /** The receiver: a server gets masked frames from a client. */
          receiver: fc.constantFrom<Frame.Role>("client", "server"),
          assembleMessages: fc.boolean(),
          frameCuts: fc.array(fc.nat(), { maxLength: 30 }),
          readCuts: fc.array(fc.nat(), { maxLength: 60 }),
          mask: fc.uint8Array({ minLength: 4, maxLength: 4 }),
          /** A ping between two of the frames. */
          pingAt: fc.option(fc.nat(), { nil: undefined })
        }),
        (c) => {
          const bomb = makeBomb(c.size, c.unit, c.patterns, c.windowBits, c.level, c.text)
          expect(bomb.payload.length * 20).toBeLessThan(bomb.size)
          // The frames of one message, RSV1 on the first; the peer's window as agreed.
          const pieces = splitAt(bomb.payload, cutsWithin(bomb.payload.length, c.frameCuts))
          const frames = pieces.map((payload, i) =>
            rawFrame({
              fin: i === pieces.length - 1,
              rsv: i === 0 ? Frame.RSV1 : 0,
              opcode: i === 0 ? (c.text ? 0x1 : 0x2) : 0x0,
              payload,
              ...(c.receiver === "server" ? { mask: c.mask } : {})
            })
          )
          if (c.pingAt !== undefined && frames.length > 1) {
            const ping = rawFrame({
              fin: true,
              opcode: 0x9,
              payload: utf8("ping"),
              ...(c.receiver === "server" ? { mask: c.mask } : {})
            })
            frames.splice(1 + (c.pingAt % (frames.length - 1)), 0, ping)
          }
          const wire = concatAll(frames)
          const reads = splitAt(wire, cutsWithin(wire.length, c.readCuts))
          // A handshake that agrees on the window the bomb was made with, and the limit.
          const limits = { maxMessageSize: LIMIT, assembleMessages: c.assembleMessages }
          const opened = c.receiver === "client"
            ? open({ serverMaxWindowBits: c.windowBits }, {}, limits, {})
            : open({}, { clientMaxWindowBits: c.windowBits }, {}, limits)
          const agreed = agreedOf(opened.clientSide[0]!)
          expect(c.receiver === "client" ? agreed.serverMaxWindowBits : agreed.clientMaxWindowBits).toBe(c.windowBits)
          let state = (c.receiver === "client" ? opened.client : opened.server).state

          const before = process.memoryUsage()
          let surfaced = 0
          let error: RemoteProtocolError | undefined
          let after = 0
          for (const read of reads) {
            const received = WSConnection.receive(state, read)
            state = received.state
            for (const e of received.events) {
              if (error !== undefined) after++
              if (e._tag === "TextMessage") surfaced += utf8(e.data).length
              if (e._tag === "BytesMessage") surfaced += e.data.length
            }
            if (received.error !== undefined) {
              expect(received.error).toBeInstanceOf(RemoteProtocolError)
              error ??= received.error as RemoteProtocolError
            }
          }
          const used = process.memoryUsage()

          expect(error?.closeCode).toBe(1009)
          expect(after).toBe(0)
          expect(surfaced).toBeLessThanOrEqual(LIMIT)
          // The decoder never holds the inflated bomb: the resident set grows by far less than it.
          const growth = used.rss - before.rss
          expect(growth).toBeLessThan(Math.min(bomb.size / 4, 4 * MIB))
          expect(used.arrayBuffers - before.arrayBuffers).toBeLessThan(2 * MIB)
        }
      ),
      { numRuns: 40 }
    )
  })
})
