/**
 * permessage-deflate against `ws` over real sockets on 127.0.0.1: our client (the `WSConnection`
 * class over `node:net`) talking to a `ws` server that echoes, and a `ws` client talking to our
 * server (also `node:net` and `WSConnection`) that echoes piece by piece, for each parameter of
 * RFC 7692 on either side. Each conversation checks the echoes, the parameters agreed (from the
 * 101's `Sec-WebSocket-Extensions`), and that the frames on the wire carried RSV1. Every wait is
 * bounded; servers and sockets are closed after each test.
 */
import * as crypto from "node:crypto"
import { once } from "node:events"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket, WebSocketServer } from "ws"
import type { PerMessageDeflateOptions as WsDeflateOptions } from "ws"
import { ConnectionState, ConnectionType } from "../src/ConnectionState.js"
import { RemoteProtocolError } from "../src/Errors.js"
import * as Events from "../src/Events.js"
import type * as Extensions from "../src/Extensions.js"
import * as Frame from "../src/Frame.js"
import * as PMD from "../src/PerMessageDeflate.js"
import * as WSConnection from "../src/WSConnection.js"
import { concatAll, latin1Text, parseWireFrames, utf8, type WireFrame } from "./helpers.js"

const WAIT = 10_000

type Options = PMD.PerMessageDeflateOptions

// ---------------------------------------------------------------------------------------------
// Bounded waits and cleanup

const cleanups: Array<() => Promise<void> | void> = []

afterEach(async () => {
  const pending = cleanups.splice(0).reverse()
  for (const cleanup of pending) await cleanup()
})

/** Fails after `ms` with a message naming what was awaited. */
const within = <A>(promise: Promise<A>, what: string, ms = WAIT): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Resolves once `check` gives a value, re-checked whenever `subscribe`'s callback fires. */
const until = <A>(subscribe: (wake: () => void) => () => void, check: () => A | undefined, what: string): Promise<A> =>
  within(
    new Promise<A>((resolve, reject) => {
      const attempt = () => {
        try {
          const value = check()
          if (value === undefined) return
          unsubscribe()
          resolve(value)
        } catch (error) {
          unsubscribe()
          reject(error)
        }
      }
      const unsubscribe = subscribe(attempt)
      attempt()
    }),
    what
  )

/** Something the tests wait on: `until` re-checks whenever it calls `wake`. */
class Watched {
  readonly #wakers = new Set<() => void>()

  protected wake(): void {
    for (const wake of [...this.#wakers]) wake()
  }

  until<A>(check: () => A | undefined, what: string): Promise<A> {
    return until(
      (wake) => {
        this.#wakers.add(wake)
        return () => this.#wakers.delete(wake)
      },
      check,
      what
    )
  }
}

// ---------------------------------------------------------------------------------------------
// Messages

type Message = string | Uint8Array

/** Deterministic pseudo-random bytes (a linear congruential generator). */
const randomBytes = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** JSON-like text of about `size` bytes: what permessage-deflate is for. */
const jsonLike = (size: number): string => {
  const parts: Array<string> = []
  let length = 0
  for (let i = 0; length < size; i++) {
    const part = JSON.stringify({
      id: i,
      user: `user-${i % 97}`,
      score: (i * 7919) % 1000,
      tags: ["alpha", "beta", "gamma"].slice(i % 3)
    })
    parts.push(part)
    length += part.length + 1
  }
  return `[${parts.join(",")}]`.slice(0, size)
}

const KIB = 1024

/** What each conversation sends, in order; pieces are sent as one fragmented message. */
const script: ReadonlyArray<Message | ReadonlyArray<string>> = [
  "Hello",
  "Hello",
  "",
  "𝄞 astral ☃ text 😀 ".repeat(40),
  randomBytes(KIB, 1),
  utf8(jsonLike(200 * KIB)),
  randomBytes(200 * KIB, 2),
  ["fragmented ", "message ", "in three pieces ".repeat(50)],
  jsonLike(200 * KIB),
  "Hello"
]

/** The messages the script amounts to, as the echo should bring them back. */
const expectedEchoes: ReadonlyArray<Message> = script.map((
  m
) => (typeof m === "string" || m instanceof Uint8Array ? m : m.join("")))

const sizeOf = (m: Message | ReadonlyArray<string>): number =>
  typeof m === "string"
    ? utf8(m).length
    : m instanceof Uint8Array
    ? m.length
    : m.reduce((n, p) => n + utf8(p).length, 0)

/**
 * A comparable form of a message: its kind, length and SHA-256 (deep equality over 200 KiB arrays
 * is slow, and a digest reads better in a failure).
 */
const comparable = (m: Message): string =>
  `${typeof m === "string" ? "text" : "binary"} ${typeof m === "string" ? utf8(m).length : m.length} ${
    crypto.createHash("sha256").update(m).digest("hex")
  }`

// ---------------------------------------------------------------------------------------------
// Reading the wire

/** The bytes after the HTTP head of a stream of bytes (the head included in `head`). */
const splitHead = (bytes: Uint8Array): { readonly head: string; readonly frames: Array<WireFrame> } => {
  const text = latin1Text(bytes)
  const end = text.indexOf("\r\n\r\n")
  expect(end).toBeGreaterThan(0)
  return { head: text.slice(0, end + 4), frames: parseWireFrames(bytes.subarray(end + 4)).frames }
}

const headerValue = (head: string, name: string): string | undefined => {
  const line = head.split("\r\n").find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
  return line?.slice(name.length + 1).trim()
}

/** The first frame of each data message, in order. */
const firstFrames = (frames: ReadonlyArray<WireFrame>): Array<WireFrame> =>
  frames.filter((f) => f.opcode === 0x1 || f.opcode === 0x2)

/** Asserts the frames' reserved bits: RSV1 only on first frames, and exactly where `compressed` says. */
const expectRsv1 = (frames: ReadonlyArray<WireFrame>, compressed: ReadonlyArray<boolean>): void => {
  expect(firstFrames(frames).map((f) => f.rsv)).toEqual(compressed.map((c) => (c ? Frame.RSV1 : 0)))
  for (const f of frames) if (f.opcode === 0x0 || f.opcode >= 0x8) expect(f.rsv).toBe(0)
}

const agreedOf = (extension: Extensions.Extension): PMD.Agreed => {
  if (!("agreed" in extension)) throw new Error(`${extension.name} has no agreed parameters`)
  return (extension as Extensions.Extension & { readonly agreed: PMD.Agreed }).agreed
}

// ---------------------------------------------------------------------------------------------
// Our client over node:net

class OurClient extends Watched {
  readonly received: Array<Uint8Array> = []
  readonly sent: Array<Uint8Array> = []
  readonly events: Array<Events.Event> = []
  /** Whole messages, assembled from the pieces. */
  readonly messages: Array<Message> = []
  handshakeError: unknown = undefined
  closed = false
  #text = ""
  #bytes: Array<Uint8Array> = []

  private constructor(readonly socket: net.Socket, readonly ws: WSConnection.WSConnection) {
    super()
    socket.on("data", (chunk: Buffer) => {
      this.received.push(new Uint8Array(chunk))
      try {
        this.ws.receiveData(new Uint8Array(chunk))
      } catch (error) {
        this.handshakeError = error
        socket.destroy()
      }
      for (const event of this.ws.events()) this.#onEvent(event)
      this.wake()
    })
    socket.on("close", () => {
      this.closed = true
      this.wake()
    })
    socket.on("error", () => {})
  }

  static async connect(
    port: number,
    offer: Options | undefined,
    options: Partial<WSConnection.WSConnectionOptions> = {}
  ): Promise<OurClient> {
    const socket = net.connect({ host: "127.0.0.1", port })
    cleanups.push(() => {
      socket.destroy()
    })
    await within(once(socket, "connect"), "the TCP connection")
    const client = new OurClient(socket, new WSConnection.WSConnection(ConnectionType.CLIENT, options))
    client.#write(
      client.ws.send(
        new Events.Request({
          host: `127.0.0.1:${port}`,
          target: "/",
          extensions: offer === undefined ? [] : [PMD.make(offer)]
        })
      )
    )
    await client.until(
      () => (client.ws.state !== ConnectionState.CONNECTING || client.handshakeError !== undefined || client.closed
        ? true
        : undefined),
      "the 101"
    )
    return client
  }

  #write(bytes: Uint8Array): void {
    this.sent.push(bytes)
    this.socket.write(bytes)
  }

  send(event: Events.Event): void {
    this.#write(this.ws.send(event))
  }

  #onEvent(event: Events.Event): void {
    this.events.push(event)
    switch (event._tag) {
      case "TextMessage":
        this.#text += event.data
        if (event.messageFinished) {
          this.messages.push(this.#text)
          this.#text = ""
        }
        break
      case "BytesMessage":
        this.#bytes.push(event.data)
        if (event.messageFinished) {
          this.messages.push(concatAll(this.#bytes))
          this.#bytes = []
        }
        break
      case "Ping":
        this.#write(this.ws.send(event.response()))
        break
      case "CloseConnection":
        if (this.ws.state === ConnectionState.REMOTE_CLOSING) this.#write(this.ws.send(event.response()))
        this.socket.end()
        break
    }
  }

  /** The 101's head and the frames the server sent after it. */
  wire(): { readonly head: string; readonly frames: Array<WireFrame> } {
    return splitHead(concatAll(this.received))
  }

  /** The frames this client sent after its request. */
  sentFrames(): Array<WireFrame> {
    return splitHead(concatAll(this.sent)).frames
  }

  /** The extensions the client's AcceptConnection carried. */
  agreed(): ReadonlyArray<Extensions.Extension> {
    const accept = this.events.find((e) => e._tag === "AcceptConnection")
    if (accept === undefined) throw new Error("no AcceptConnection")
    return (accept as Events.AcceptConnection).extensions
  }

  /** Sends the script, and waits for every echo. */
  async converse(): Promise<void> {
    for (const item of script) {
      if (typeof item === "string") this.send(new Events.TextMessage({ data: item }))
      else if (item instanceof Uint8Array) this.send(new Events.BytesMessage({ data: item }))
      else {
        item.forEach((piece, i) => {
          this.send(new Events.TextMessage({ data: piece, messageFinished: i === item.length - 1 }))
          // A control frame between the fragments.
          if (i === 0) this.send(new Events.Ping({ payload: utf8("between") }))
        })
      }
    }
    await this.until(() => {
      if (this.messages.length >= script.length) return true
      // A peer that closes before echoing everything fails the test at once, saying why.
      const close = this.events.find((e) => e._tag === "CloseConnection") as Events.CloseConnection | undefined
      if (close !== undefined || this.closed) {
        throw new Error(
          `closed after ${this.messages.length} echoes: ${
            close === undefined ? "socket closed" : `${close.code} ${close.reason}`
          }`
        )
      }
      return undefined
    }, `${script.length} echoes`)
    expect(this.messages.map(comparable)).toEqual(expectedEchoes.map(comparable))
    expect(this.events.some((e) => e._tag === "Pong")).toBe(true)
  }

  /** Closes with 1000 and waits for the peer's close and the end of the socket. */
  async close(): Promise<void> {
    this.send(new Events.CloseConnection({ code: 1000 }))
    await this.until(() => (this.closed ? true : undefined), "the closing handshake")
    expect(this.events.filter((e) => e._tag === "CloseConnection").map((e) => (e as Events.CloseConnection).code))
      .toEqual([1000])
  }
}

// ---------------------------------------------------------------------------------------------
// A ws server that echoes

const startWsServer = async (perMessageDeflate: WsDeflateOptions | false) => {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resolve())
      })
  )
  await within(once(wss, "listening"), "the ws server")
  wss.on("connection", (socket) => {
    socket.on("message", (data, isBinary) => {
      socket.send(data as Buffer, { binary: isBinary })
    })
  })
  return (wss.address() as AddressInfo).port
}

// ---------------------------------------------------------------------------------------------
// Our server that echoes, piece by piece

interface ServerSide {
  readonly received: Array<Uint8Array>
  readonly sent: Array<Uint8Array>
  readonly events: Array<Events.Event>
}

const startOurServer = async (
  supported: () => ReadonlyArray<Extensions.Extension>,
  options: Partial<WSConnection.WSConnectionOptions> = {}
): Promise<{ readonly port: number; readonly connections: Array<ServerSide> }> => {
  const connections: Array<ServerSide> = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    const ws = new WSConnection.WSConnection(ConnectionType.SERVER, options)
    const side: ServerSide = { received: [], sent: [], events: [] }
    connections.push(side)
    const write = (event: Events.Event) => {
      const bytes = ws.send(event)
      side.sent.push(bytes)
      socket.write(bytes)
    }
    socket.on("data", (chunk: Buffer) => {
      side.received.push(new Uint8Array(chunk))
      try {
        ws.receiveData(new Uint8Array(chunk))
      } catch {
        socket.destroy()
        return
      }
      for (const event of ws.events()) {
        side.events.push(event)
        switch (event._tag) {
          case "Request":
            write(new Events.AcceptConnection({ extensions: supported() }))
            break
          // Echo each piece as it arrives: a message arriving in pieces goes back fragmented.
          case "TextMessage":
            write(new Events.TextMessage({ data: event.data, messageFinished: event.messageFinished }))
            break
          case "BytesMessage":
            write(new Events.BytesMessage({ data: event.data.slice(), messageFinished: event.messageFinished }))
            break
          case "Ping":
            write(event.response())
            break
          case "CloseConnection":
            if (ws.state === ConnectionState.REMOTE_CLOSING) write(event.response())
            socket.end()
            break
        }
      }
    })
  })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  )
  server.listen(0, "127.0.0.1")
  await within(once(server, "listening"), "our server")
  return { port: (server.address() as AddressInfo).port, connections }
}

// ---------------------------------------------------------------------------------------------
// A ws client

class WsClient extends Watched {
  readonly messages: Array<Message> = []
  closeCode: number | undefined = undefined
  closeReason = ""

  private constructor(
    readonly ws: WebSocket,
    readonly responseHead: Record<string, string | Array<string> | undefined>
  ) {
    super()
    ws.on("message", (data, isBinary) => {
      const buffer = data as Buffer
      this.messages.push(isBinary ? new Uint8Array(buffer) : buffer.toString("utf8"))
      this.wake()
    })
    ws.on("close", (code, reason) => {
      this.closeCode = code
      this.closeReason = reason.toString()
      this.wake()
    })
  }

  static async connect(port: number, perMessageDeflate: WsDeflateOptions | false): Promise<WsClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate })
    cleanups.push(() => {
      ws.terminate()
    })
    ws.on("error", () => {})
    // Both listeners first: ws emits "open" right after "upgrade".
    const upgraded = once(ws, "upgrade")
    const opened = once(ws, "open")
    const [response] = (await within(upgraded, "the 101")) as [
      { headers: Record<string, string | Array<string> | undefined> }
    ]
    await within(opened, "the open event")
    return new WsClient(ws, response.headers)
  }

  async converse(): Promise<void> {
    for (const item of script) {
      if (typeof item === "string") this.ws.send(item)
      else if (item instanceof Uint8Array) this.ws.send(item, { binary: true })
      else item.forEach((piece, i) => this.ws.send(piece, { binary: false, fin: i === item.length - 1 }))
    }
    await this.until(() => {
      if (this.messages.length >= script.length) return true
      if (this.closeCode !== undefined) {
        throw new Error(`closed after ${this.messages.length} echoes: ${this.closeCode} ${this.closeReason}`)
      }
      return undefined
    }, `${script.length} echoes`)
    expect(this.messages.map(comparable)).toEqual(expectedEchoes.map(comparable))
  }

  async close(): Promise<void> {
    this.ws.close(1000)
    await this.until(() => this.closeCode, "the closing handshake")
    expect(this.closeCode).toBe(1000)
  }
}

// ---------------------------------------------------------------------------------------------

const bitsRange = [9, 10, 11, 12, 13, 14, 15] as const

/** What our client and a ws server agree on (ws answers with its own settings where it has them). */
const agreedWithWsServer = (ours: Options, theirs: WsDeflateOptions): PMD.Agreed => ({
  serverNoContextTakeover: (ours.serverNoContextTakeover ?? false) || theirs.serverNoContextTakeover === true,
  clientNoContextTakeover: (ours.clientNoContextTakeover ?? false) || theirs.clientNoContextTakeover === true,
  serverMaxWindowBits: typeof theirs.serverMaxWindowBits === "number"
    ? theirs.serverMaxWindowBits
    : (ours.serverMaxWindowBits ?? 15),
  clientMaxWindowBits: typeof theirs.clientMaxWindowBits === "number"
    ? theirs.clientMaxWindowBits
    : typeof ours.clientMaxWindowBits === "number"
    ? ours.clientMaxWindowBits
    : 15
})

interface Combination {
  readonly name: string
  readonly ours: Options
  readonly theirs: WsDeflateOptions
  readonly connection?: Partial<WSConnection.WSConnectionOptions>
}

const combo = (
  name: string,
  ours: Options,
  theirs: WsDeflateOptions,
  connection: Partial<WSConnection.WSConnectionOptions> = {}
): Combination => ({
  name,
  ours,
  theirs,
  connection
})

describe("our client against a ws server", () => {
  const combinations: ReadonlyArray<Combination> = [
    combo("defaults", {}, {}),
    combo("ws serverNoContextTakeover", {}, { serverNoContextTakeover: true }),
    combo("ws clientNoContextTakeover", {}, { clientNoContextTakeover: true }),
    ...bitsRange.map((bits) => combo(`ws serverMaxWindowBits ${bits}`, {}, { serverMaxWindowBits: bits })),
    ...bitsRange.map((bits) => combo(`ws clientMaxWindowBits ${bits}`, {}, { clientMaxWindowBits: bits })),
    combo("our serverNoContextTakeover", { serverNoContextTakeover: true }, {}),
    combo("our clientNoContextTakeover", { clientNoContextTakeover: true }, {}),
    ...bitsRange.map((bits) => combo(`our serverMaxWindowBits ${bits}`, { serverMaxWindowBits: bits }, {})),
    ...bitsRange.map((bits) => combo(`our clientMaxWindowBits ${bits}`, { clientMaxWindowBits: bits }, {})),
    combo("our bare offer (no client_max_window_bits)", { clientMaxWindowBits: false }, {}),
    combo(
      "everything on both sides",
      {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 12,
        clientMaxWindowBits: 11
      },
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 }
    ),
    combo("windows agreed by both", { serverMaxWindowBits: 11, clientMaxWindowBits: 13 }, {
      serverMaxWindowBits: 11,
      clientMaxWindowBits: 13
    }),
    combo("our level 9, memLevel 9", { level: 9, memLevel: 9 }, {}),
    combo("our level 1, memLevel 1", { level: 1, memLevel: 1 }, {}),
    combo("our level 0 (stored blocks)", { level: 0 }, {}),
    combo("our messages fragmented by fragmentSize", {}, { clientNoContextTakeover: true }, { fragmentSize: 4000 }),
    combo("our client assembling messages", { serverNoContextTakeover: true }, {}, { assembleMessages: true })
  ]

  it.each(combinations)("$name: echoes compressed both ways", async ({ connection = {}, ours, theirs }) => {
    const port = await startWsServer({ ...theirs, threshold: 0 })
    const client = await OurClient.connect(port, ours, connection)
    expect(client.handshakeError).toBeUndefined()
    expect(client.ws.state).toBe(ConnectionState.OPEN)
    const extensions = client.agreed()
    expect(extensions.map((e) => e.name)).toEqual([PMD.NAME])
    expect(agreedOf(extensions[0]!)).toEqual(agreedWithWsServer(ours, theirs))
    await client.converse()
    const { frames, head } = client.wire()
    expect(headerValue(head, "Sec-WebSocket-Extensions")).toMatch(/^permessage-deflate(;|$)/)
    // ws compressed every echo (threshold 0), and so did we.
    expectRsv1(frames, expectedEchoes.map(() => true))
    expectRsv1(client.sentFrames(), script.map(() => true))
    await client.close()
  })

  it("our threshold: small messages go out uncompressed, and ws reads both kinds", async () => {
    const threshold = 64
    const port = await startWsServer({ threshold: 0 })
    const client = await OurClient.connect(port, { threshold })
    await client.converse()
    expectRsv1(client.sentFrames(), script.map((m) => Array.isArray(m) || sizeOf(m) >= threshold))
    expectRsv1(client.wire().frames, expectedEchoes.map(() => true))
    await client.close()
  })

  // ws applies its threshold only without context takeover.
  it("ws's threshold: ws's small echoes come uncompressed, and we read both kinds", async () => {
    const port = await startWsServer({ threshold: 1024, serverNoContextTakeover: true })
    const client = await OurClient.connect(port, {})
    await client.converse()
    expectRsv1(client.wire().frames, expectedEchoes.map((m) => sizeOf(m) >= 1024))
    await client.close()
  })

  it("a ws server that cannot take our offer (its window is larger than we allow) refuses the handshake", async () => {
    const port = await startWsServer({ serverMaxWindowBits: 12, threshold: 0 })
    const client = await OurClient.connect(port, { serverMaxWindowBits: 10 })
    expect(client.handshakeError).toBeUndefined()
    const rejection = client.events.find((e) => e._tag === "RejectConnection")
    expect(rejection).toBeInstanceOf(Events.RejectConnection)
    expect((rejection as Events.RejectConnection).statusCode).toBe(400)
    expect(client.ws.state).not.toBe(ConnectionState.OPEN)
  })

  it("a ws server with a window of its own answers our default offer with it", async () => {
    const port = await startWsServer({ serverMaxWindowBits: 12, threshold: 0 })
    const client = await OurClient.connect(port, {})
    expect(agreedOf(client.agreed()[0]!)).toEqual({
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 12,
      clientMaxWindowBits: 15
    })
    await client.converse()
    await client.close()
  })

  it("a ws server without permessage-deflate: plain frames both ways", async () => {
    const port = await startWsServer(false)
    const client = await OurClient.connect(port, {})
    expect(client.agreed()).toEqual([])
    await client.converse()
    expectRsv1(client.sentFrames(), script.map(() => false))
    await client.close()
  })

  it("a ws server that tells us client_max_window_bits=8 fails our handshake", async () => {
    const port = await startWsServer({ clientMaxWindowBits: 8, threshold: 0 })
    const client = await OurClient.connect(port, {})
    expect(client.handshakeError).toBeInstanceOf(RemoteProtocolError)
    expect((client.handshakeError as RemoteProtocolError).message).toBe(
      "extension permessage-deflate: cannot compress with an 8-bit window (zlib uses 9)"
    )
    expect(client.ws.state).toBe(ConnectionState.CONNECTING)
  })

  it("a ws server that compresses with 8 bits is read by our client (inflating with 9)", async () => {
    const port = await startWsServer({ serverMaxWindowBits: 8, threshold: 0 })
    const client = await OurClient.connect(port, {})
    expect(agreedOf(client.agreed()[0]!).serverMaxWindowBits).toBe(8)
    await client.converse()
    expectRsv1(client.wire().frames, expectedEchoes.map(() => true))
    await client.close()
  })
})

/** The answer our server gives a ws client's offer, as RFC 7692 §7.1 lets it. */
const answerToWsClient = (theirs: WsDeflateOptions, ours: Options): string => {
  const serverNoContextTakeover = theirs.serverNoContextTakeover === true || ours.serverNoContextTakeover === true
  const clientNoContextTakeover = theirs.clientNoContextTakeover === true || ours.clientNoContextTakeover === true
  const offeredServerBits = typeof theirs.serverMaxWindowBits === "number" ? theirs.serverMaxWindowBits : undefined
  const serverBits = Math.min(offeredServerBits ?? 15, ours.serverMaxWindowBits ?? 15)
  // ws always offers client_max_window_bits (value-less unless it has a number).
  const offeredClientBits = typeof theirs.clientMaxWindowBits === "number" ? theirs.clientMaxWindowBits : undefined
  const askedClientBits = typeof ours.clientMaxWindowBits === "number" ? ours.clientMaxWindowBits : undefined
  const parameters = [
    ...(serverNoContextTakeover ? ["server_no_context_takeover"] : []),
    ...(clientNoContextTakeover ? ["client_no_context_takeover"] : []),
    ...(serverBits < 15 || offeredServerBits !== undefined ? [`server_max_window_bits=${serverBits}`] : []),
    ...(offeredClientBits !== undefined || askedClientBits !== undefined
      ? [`client_max_window_bits=${Math.min(offeredClientBits ?? 15, askedClientBits ?? 15)}`]
      : [])
  ]
  return [PMD.NAME, ...parameters].join("; ")
}

/** A combination listed as [ws client's options, our server's options]. */
const wsCombo = (
  name: string,
  theirs: WsDeflateOptions,
  ours: Options,
  connection: Partial<WSConnection.WSConnectionOptions> = {}
): Combination => combo(name, ours, theirs, connection)

describe("a ws client against our server", () => {
  const combinations: ReadonlyArray<Combination> = [
    wsCombo("defaults", {}, {}),
    wsCombo("ws serverNoContextTakeover", { serverNoContextTakeover: true }, {}),
    wsCombo("ws clientNoContextTakeover", { clientNoContextTakeover: true }, {}),
    ...bitsRange.map((bits) => wsCombo(`ws serverMaxWindowBits ${bits}`, { serverMaxWindowBits: bits }, {})),
    ...bitsRange.map((bits) => wsCombo(`ws clientMaxWindowBits ${bits}`, { clientMaxWindowBits: bits }, {})),
    wsCombo("ws clientMaxWindowBits 8 (zlib compresses with 9; we inflate with 9)", { clientMaxWindowBits: 8 }, {}),
    wsCombo("our serverNoContextTakeover", {}, { serverNoContextTakeover: true }),
    wsCombo("our clientNoContextTakeover", {}, { clientNoContextTakeover: true }),
    ...bitsRange.map((bits) => wsCombo(`our serverMaxWindowBits ${bits}`, {}, { serverMaxWindowBits: bits })),
    ...bitsRange.map((bits) => wsCombo(`our clientMaxWindowBits ${bits}`, {}, { clientMaxWindowBits: bits })),
    wsCombo(
      "everything on both sides",
      {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 12,
        clientMaxWindowBits: 11
      },
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 }
    ),
    wsCombo("windows lowered by us", { serverMaxWindowBits: 13, clientMaxWindowBits: 14 }, {
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11
    }),
    wsCombo("windows lowered by ws", { serverMaxWindowBits: 9, clientMaxWindowBits: 10 }, {
      serverMaxWindowBits: 12,
      clientMaxWindowBits: 13
    }),
    wsCombo("our level 9, memLevel 9", {}, { level: 9, memLevel: 9 }),
    wsCombo("our level 0 (stored blocks)", {}, { level: 0 }),
    wsCombo("our echoes fragmented by fragmentSize", {}, {}, { fragmentSize: 3000 }),
    wsCombo("our server assembling messages", { serverNoContextTakeover: true }, {}, { assembleMessages: true })
  ]

  it.each(combinations)("$name: echoes compressed both ways", async ({ connection = {}, ours, theirs }) => {
    const { connections, port } = await startOurServer(() => [PMD.make(ours)], connection)
    const client = await WsClient.connect(port, { ...theirs, threshold: 0 })
    const answer = answerToWsClient(theirs, ours)
    expect(client.responseHead["sec-websocket-extensions"]).toBe(answer)
    expect(client.ws.extensions).toBe(PMD.NAME)
    await client.converse()
    expect(connections.length).toBe(1)
    const side = connections[0]!
    const request = splitHead(concatAll(side.received))
    expect(headerValue(request.head, "Sec-WebSocket-Extensions")).toMatch(/^permessage-deflate/)
    const response = splitHead(concatAll(side.sent))
    expect(headerValue(response.head, "Sec-WebSocket-Extensions")).toBe(answer)
    // ws compressed every message (threshold 0), and we compressed every echo.
    expectRsv1(request.frames, script.map(() => true))
    const echoes = firstFrames(response.frames)
    expect(echoes.length).toBe(script.length)
    expectRsv1(response.frames, script.map(() => true))
    await client.close()
  })

  it("our threshold: small echoes go out uncompressed, and ws reads both kinds", async () => {
    const threshold = 64
    const { connections, port } = await startOurServer(() => [PMD.make({ threshold })], { assembleMessages: true })
    const client = await WsClient.connect(port, { threshold: 0 })
    await client.converse()
    const response = splitHead(concatAll(connections[0]!.sent))
    expectRsv1(response.frames, expectedEchoes.map((m) => sizeOf(m) >= threshold))
    await client.close()
  })

  it("a ws client offering server_max_window_bits=8 is declined: plain frames both ways", async () => {
    const { connections, port } = await startOurServer(() => [PMD.make()])
    const client = await WsClient.connect(port, { serverMaxWindowBits: 8, threshold: 0 })
    expect(client.responseHead["sec-websocket-extensions"]).toBeUndefined()
    expect(client.ws.extensions).toBe("")
    await client.converse()
    const request = splitHead(concatAll(connections[0]!.received))
    expect(headerValue(request.head, "Sec-WebSocket-Extensions")).toBe(
      "permessage-deflate; server_max_window_bits=8; client_max_window_bits"
    )
    expectRsv1(request.frames, script.map(() => false))
    await client.close()
  })

  it("a server that supports no extension answers a ws client's offer with none", async () => {
    const { port } = await startOurServer(() => [])
    const client = await WsClient.connect(port, { threshold: 0 })
    expect(client.responseHead["sec-websocket-extensions"]).toBeUndefined()
    await client.converse()
    await client.close()
  })

  it("many connections to one server, each with its own agreement and context", async () => {
    const { connections, port } = await startOurServer(() => [PMD.make({ serverMaxWindowBits: 12 })])
    const clients = await Promise.all([
      WsClient.connect(port, { threshold: 0 }),
      WsClient.connect(port, { threshold: 0, serverNoContextTakeover: true }),
      WsClient.connect(port, { threshold: 0, clientMaxWindowBits: 10 }),
      WsClient.connect(port, { threshold: 0, serverMaxWindowBits: 9 })
    ])
    expect(clients.map((c) => c.responseHead["sec-websocket-extensions"])).toEqual([
      "permessage-deflate; server_max_window_bits=12",
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
      "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10",
      "permessage-deflate; server_max_window_bits=9"
    ])
    await Promise.all(clients.map((c) => c.converse()))
    expect(connections.length).toBe(4)
    await Promise.all(clients.map((c) => c.close()))
  })
})
