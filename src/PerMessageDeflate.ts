/**
 * permessage-deflate (RFC 7692): negotiation with every parameter, compression with context
 * takeover and window bits on both sides, and decompression that never produces more than the
 * message may still hold.
 *
 * Compression runs synchronously inside the reducer step, on pako (zlib's deflate in JavaScript,
 * byte-compatible with zlib): Node's zlib has no synchronous API that keeps a stream's context
 * between calls. With context takeover the extension's state holds the compressor and the
 * decompressor, so the connection's state is linear: a state that has been stepped must not be
 * stepped again.
 *
 * zlib (and pako) cannot compress with an 8-bit window: asked for 8 they silently use 9, which a
 * peer limited to 8 may not be able to inflate. So this extension never agrees to compress with
 * 8: a server declines an offer that demands `server_max_window_bits=8`, a client fails the
 * handshake when told `client_max_window_bits=8`. It inflates with at least 9 bits, which reads
 * what any window of 8 or 9 produced.
 *
 * @since 0.1.0
 */
import * as pako from "pako"
import type { RemoteProtocolError } from "./Errors.js"
import type {
  Accepted,
  Extension,
  Finalized,
  HookResult,
  InboundHeader,
  OutboundFrame,
  Parameter
} from "./Extensions.js"
import type { Role } from "./Frame.js"
import { concat, EMPTY } from "./internal/bytes.js"
import { local, violation } from "./internal/errors.js"
import { isControl, Opcode, RSV1 } from "./internal/frameHeader.js"

/**
 * The extension token.
 *
 * @since 0.1.0
 * @category constants
 */
export const NAME = "permessage-deflate"

/**
 * @since 0.1.0
 * @category models
 */
export interface PerMessageDeflateOptions {
  /**
   * Client: ask the server not to keep its compression context between messages. Server: always
   * answer so (it saves the compressor's memory between messages).
   */
  readonly serverNoContextTakeover?: boolean
  /** Client: announce it resets its context per message. Server: ask the client to. */
  readonly clientNoContextTakeover?: boolean
  /** Client: the largest window the server may compress with. Server: its own largest. 9–15. */
  readonly serverMaxWindowBits?: number
  /**
   * Client: offer `client_max_window_bits`, with a value (9–15) to announce its own window, or
   * `true` for the value-less form that lets the server choose (default `true`). Server: the
   * largest window to ask the client for, when the client offered the parameter.
   */
  readonly clientMaxWindowBits?: number | boolean
  /** Messages shorter than this many bytes are sent uncompressed. Default 0 (all compressed). */
  readonly threshold?: number
  /** zlib compression level, 0–9. Default 6. */
  readonly level?: number
  /**
   * zlib memory level, 1–9: the size of the compressor's hash tables. Default 4: 128 KiB less per
   * compressor than zlib's 8, with no measurable loss on JSON-like messages (see the README).
   */
  readonly memLevel?: number
}

/**
 * The parameters both ends agreed on (RFC 7692 §7.1).
 *
 * @since 0.1.0
 * @category models
 */
export interface Agreed {
  readonly serverNoContextTakeover: boolean
  readonly clientNoContextTakeover: boolean
  readonly serverMaxWindowBits: number
  readonly clientMaxWindowBits: number
}

const Z_NO_FLUSH = 0
const Z_SYNC_FLUSH = 2
/** RFC 7692 §7.2.1: the empty stored block a sync flush ends with, removed from each message. */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff])
/** Output buffer of the compressor and decompressor: each keeps one between messages. */
const OUTPUT_CHUNK = 4 * 1024

const isBits = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 8 && n <= 15

/** RFC 7692 §7.1.2: a window size is 8 to 15, written without leading zeros. */
const BITS = /^(?:[89]|1[0-5])$/

/** The per-connection state: compressor and decompressor, created when first needed. */
class State {
  deflater: pako.Deflate | undefined = undefined
  inflater: pako.Inflate | undefined = undefined
  /** The data message being received is compressed (RSV1 on its first frame). */
  inboundCompressed = false
  /** Compressed bytes of that message so far. */
  inboundBytes = 0
  /** That message's deflate stream ended with a BFINAL block: the rest of it is ignored. */
  inboundEnded = false
  /** The frame being received is a control frame: compression state is not touched. */
  inboundControl = false
  outboundCompressed = false
  constructor(readonly role: Role, readonly agreed: Agreed, readonly options: PerMessageDeflateOptions) {}
}

type Inbound<A> = HookResult<State, A, RemoteProtocolError>

/**
 * pako's zlib stream, which its types leave out. Emptying its input from `onData` ends
 * `Inflate#push` after at most one more call of zlib's inflate, which without input only writes
 * out what its bit buffer still holds.
 */
interface Stream {
  avail_in: number
}

const streamOf = (inflater: pako.Inflate): Stream => (inflater as unknown as { readonly strm: Stream }).strm

/** Inflates `data`, stopping and failing once the output passes `budget` bytes. */
const inflate = (state: State, data: Uint8Array, budget: number): Inbound<Uint8Array> => {
  const peer = state.role === "client" ? state.agreed.serverMaxWindowBits : state.agreed.clientMaxWindowBits
  const inflater = state.inflater ??= new pako.Inflate({
    raw: true,
    windowBits: Math.max(9, peer),
    chunkSize: OUTPUT_CHUNK
  })
  const out: Array<Uint8Array> = []
  let size = 0
  let ended = false
  let over = false
  inflater.onEnd = (status) => {
    // pako's own handler records errors in `err`; a stream that ended either way is done.
    pako.Inflate.prototype.onEnd.call(inflater, status)
    ended = true
  }
  inflater.onData = (chunk) => {
    const bytes = chunk as Uint8Array
    size += bytes.length
    if (over || size <= budget) {
      if (!over) out.push(bytes)
      return
    }
    over = true
    streamOf(inflater).avail_in = 0
  }
  inflater.push(data, Z_SYNC_FLUSH)
  if (over) {
    state.inflater = undefined
    return { error: violation("MessageTooBig", `Decompressed message exceeds the limit of ${budget} more bytes`) }
  }
  if (inflater.err !== 0) {
    state.inflater = undefined
    return { error: violation("InvalidPayload", `Invalid compressed data: ${inflater.msg}`) }
  }
  // A block with BFINAL ended the stream: the next message starts a new one.
  if (ended) {
    state.inflater = undefined
    state.inboundEnded = true
  }
  return { state, value: concat(out, size) }
}

const deflate = (state: State, data: Uint8Array, fin: boolean): Uint8Array => {
  const own = state.role === "client" ? state.agreed.clientMaxWindowBits : state.agreed.serverMaxWindowBits
  const deflater = state.deflater ??= new pako.Deflate({
    raw: true,
    windowBits: own,
    level: (state.options.level ?? 6) as pako.DeflateFunctionOptions["level"],
    memLevel: (state.options.memLevel ?? 4) as pako.DeflateFunctionOptions["memLevel"],
    chunkSize: OUTPUT_CHUNK
  })
  const out: Array<Uint8Array> = []
  let size = 0
  deflater.onData = (chunk) => {
    const bytes = (chunk as Uint8Array).slice()
    out.push(bytes)
    size += bytes.length
  }
  deflater.push(data, fin ? Z_SYNC_FLUSH : Z_NO_FLUSH)
  const bytes = concat(out, size)
  if (!fin) return bytes
  // RFC 7692 §7.2.1: a message's compressed data ends without the flush's empty block. A flush
  // with nothing new may write nothing at all: the message is then the single byte 00 (§7.2.3.6).
  return bytes.length > 4 ? bytes.subarray(0, bytes.length - 4) : new Uint8Array(1)
}

// The framing hooks (RFC 7692 §6, §7.2): shared by every connection, all they need is in the state.

const misplacedRsv1 = (frame: string): Inbound<number> => ({
  error: violation("ProtocolViolation", `RSV1 set on a ${frame} frame`)
})

const inboundHeader = (state: State, header: InboundHeader): Inbound<number> => {
  const rsv1 = (header.rsv & RSV1) !== 0
  state.inboundControl = isControl(header.opcode)
  // RFC 7692 §6: RSV1 marks the first frame of a compressed message, never a control frame
  // or a continuation; control frames between fragments leave the message's state alone.
  if (state.inboundControl) return rsv1 ? misplacedRsv1("control") : { state, value: 0 }
  if (header.opcode === Opcode.CONTINUATION) return rsv1 ? misplacedRsv1("continuation") : { state, value: RSV1 }
  state.inboundCompressed = rsv1
  state.inboundBytes = 0
  state.inboundEnded = false
  return { state, value: RSV1 }
}

const inboundPayload = (state: State, data: Uint8Array, budget: number): Inbound<Uint8Array> => {
  if (state.inboundControl || !state.inboundCompressed || data.length === 0) return { state, value: data }
  if (state.inboundEnded) return { state, value: EMPTY }
  state.inboundBytes += data.length
  return inflate(state, data, budget)
}

const inboundComplete = (state: State, fin: boolean, budget: number): Inbound<Uint8Array | undefined> => {
  if (state.inboundControl || !fin || !state.inboundCompressed) return { state, value: undefined }
  state.inboundCompressed = false
  // A message compressed to nothing at all (not even §7.2.3.6's single 00 byte) is empty, and a
  // stream that ended with BFINAL takes no tail: either would leave a decompressor inside a block.
  if (state.inboundBytes === 0 || state.inboundEnded) return { state, value: undefined }
  // RFC 7692 §7.2.2: append the empty block the sender removed, then flush.
  const inflated = inflate(state, TAIL, budget)
  if (inflated.error !== undefined) return inflated
  const agreed = state.agreed
  if (state.role === "client" ? agreed.serverNoContextTakeover : agreed.clientNoContextTakeover) {
    state.inflater = undefined
  }
  return inflated
}

const outbound = (state: State, frame: OutboundFrame): HookResult<State, OutboundFrame, never> => {
  if (isControl(frame.opcode)) return { state, value: frame }
  if (frame.opcode !== Opcode.CONTINUATION) {
    // The threshold applies to whole messages; a message sent in parts is compressed.
    const length = frame.messageLength ?? (frame.fin ? frame.payload.length : Infinity)
    state.outboundCompressed = length >= (state.options.threshold ?? 0)
  }
  if (!state.outboundCompressed) return { state, value: frame }
  const payload = deflate(state, frame.payload, frame.fin)
  const agreed = state.agreed
  if (frame.fin && (state.role === "client" ? agreed.clientNoContextTakeover : agreed.serverNoContextTakeover)) {
    state.deflater = undefined
  }
  const rsv = frame.opcode === Opcode.CONTINUATION ? frame.rsv : frame.rsv | RSV1
  return { state, value: { ...frame, rsv, payload } }
}

/**
 * permessage-deflate with its parameters agreed: what a negotiation gives the connection.
 *
 * @since 0.1.0
 * @category models
 */
export interface Negotiated extends Extension<State> {
  readonly agreed: Agreed
}

const negotiated = (agreed: Agreed, options: PerMessageDeflateOptions): Negotiated => ({
  name: NAME,
  agreed,
  init: (role) => new State(role, agreed, options),
  inboundHeader,
  inboundPayload,
  inboundComplete,
  outbound
})

/** A negotiation's parameters by name, or what is wrong with them. */
type Read =
  | { readonly parameters: ReadonlyMap<string, string | undefined>; readonly error?: undefined }
  | { readonly error: string }

const readParameters = (parameters: ReadonlyArray<Parameter>): Read => {
  const known = new Set([
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits"
  ])
  const seen = new Map<string, string | undefined>()
  for (const { name, value } of parameters) {
    if (!known.has(name)) return { error: `unknown parameter ${name}` }
    if (seen.has(name)) return { error: `duplicate parameter ${name}` }
    if (name.endsWith("context_takeover") && value !== undefined) return { error: `${name} takes no value` }
    if (name.endsWith("window_bits") && value !== undefined && !BITS.test(value)) {
      return { error: `${name} must be 8 to 15, got ${value}` }
    }
    seen.set(name, value)
  }
  return { parameters: seen }
}

const bits = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value))

/** Throws a `LocalProtocolError` (`InvalidOption`) for an option out of its range. */
const checkOptions = (options: PerMessageDeflateOptions): void => {
  const { clientMaxWindowBits, level, memLevel, serverMaxWindowBits, threshold } = options
  const invalid = (message: string) => local("InvalidOption", message)
  if (serverMaxWindowBits !== undefined && !(isBits(serverMaxWindowBits) && serverMaxWindowBits >= 9)) {
    throw invalid(`serverMaxWindowBits must be 9 to 15, got ${serverMaxWindowBits}`)
  }
  if (typeof clientMaxWindowBits === "number" && !(isBits(clientMaxWindowBits) && clientMaxWindowBits >= 9)) {
    throw invalid(`clientMaxWindowBits must be 9 to 15 (or true), got ${clientMaxWindowBits}`)
  }
  if (threshold !== undefined && !(threshold >= 0)) throw invalid(`threshold must be at least 0, got ${threshold}`)
  if (level !== undefined && !(Number.isInteger(level) && level >= 0 && level <= 9)) {
    throw invalid(`level must be 0 to 9, got ${level}`)
  }
  if (memLevel !== undefined && !(Number.isInteger(memLevel) && memLevel >= 1 && memLevel <= 9)) {
    throw invalid(`memLevel must be 1 to 9, got ${memLevel}`)
  }
}

/**
 * permessage-deflate with the given settings: pass it in `Request.extensions` (client) or
 * `AcceptConnection.extensions` (server). Used without negotiation (as a `Connection`'s
 * extension) it frames with the defaults: context takeover both ways, 15-bit windows.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: PerMessageDeflateOptions = {}): Negotiated => {
  checkOptions(options)
  const defaults = negotiated(
    {
      serverNoContextTakeover: options.serverNoContextTakeover ?? false,
      clientNoContextTakeover: options.clientNoContextTakeover ?? false,
      serverMaxWindowBits: options.serverMaxWindowBits ?? 15,
      clientMaxWindowBits: typeof options.clientMaxWindowBits === "number" ? options.clientMaxWindowBits : 15
    },
    options
  )
  return { ...defaults, ...negotiation(options) }
}

/** The negotiation hooks (RFC 7692 §5, §7.1). */
const negotiation = (options: PerMessageDeflateOptions): Pick<Extension, "offer" | "accept" | "finalize"> => ({
  // RFC 7692 §5.1: the client's offer.
  offer: () => {
    const parameters: Array<Parameter> = []
    if (options.clientNoContextTakeover) parameters.push({ name: "client_no_context_takeover", value: undefined })
    if (options.serverNoContextTakeover) parameters.push({ name: "server_no_context_takeover", value: undefined })
    if (options.serverMaxWindowBits !== undefined) {
      parameters.push({ name: "server_max_window_bits", value: String(options.serverMaxWindowBits) })
    }
    const client = options.clientMaxWindowBits ?? true
    if (client !== false) {
      parameters.push({ name: "client_max_window_bits", value: client === true ? undefined : String(client) })
    }
    return parameters
  },
  // RFC 7692 §7.1: the server takes an offer it can satisfy, or declines it.
  accept: (offered): Accepted | undefined => {
    const parsed = readParameters(offered)
    if (parsed.error !== undefined) return undefined
    const read = parsed.parameters
    const serverNoContextTakeover = read.has("server_no_context_takeover") || (options.serverNoContextTakeover ?? false)
    const clientNoContextTakeover = read.has("client_no_context_takeover") || (options.clientNoContextTakeover ?? false)
    // §7.1.2.1: the server compresses with at most the window the client allows (a value is required).
    if (read.has("server_max_window_bits") && read.get("server_max_window_bits") === undefined) return undefined
    const requested = bits(read.get("server_max_window_bits"), 15)
    const serverMaxWindowBits = Math.min(requested, options.serverMaxWindowBits ?? 15)
    if (serverMaxWindowBits < 9) return undefined
    // §7.1.2.2: client_max_window_bits may be answered only if offered.
    const clientOffered = read.has("client_max_window_bits")
    const clientLimit = bits(read.get("client_max_window_bits"), 15)
    const clientAsked = typeof options.clientMaxWindowBits === "number" ? options.clientMaxWindowBits : undefined
    const clientAnswered = clientOffered &&
      (clientAsked !== undefined || read.get("client_max_window_bits") !== undefined)
    // Unanswered, the client may use any window: inflate with 15.
    const clientMaxWindowBits = clientAnswered ? Math.min(clientAsked ?? 15, clientLimit) : 15
    const answer: Array<Parameter> = []
    if (serverNoContextTakeover) answer.push({ name: "server_no_context_takeover", value: undefined })
    if (clientNoContextTakeover) answer.push({ name: "client_no_context_takeover", value: undefined })
    if (serverMaxWindowBits < 15 || read.has("server_max_window_bits")) {
      answer.push({ name: "server_max_window_bits", value: String(serverMaxWindowBits) })
    }
    if (clientAnswered) {
      answer.push({ name: "client_max_window_bits", value: String(clientMaxWindowBits) })
    }
    return {
      extension: negotiated(
        { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits },
        options
      ),
      parameters: answer
    }
  },
  // RFC 7692 §7.1: the client checks the server's answer against its offer.
  finalize: (answered): Finalized => {
    const parsed = readParameters(answered)
    if (parsed.error !== undefined) return parsed
    const read = parsed.parameters
    const offeredServerBits = options.serverMaxWindowBits
    const answeredServerBits = read.get("server_max_window_bits")
    if (read.has("server_max_window_bits")) {
      if (answeredServerBits === undefined) return { error: "server_max_window_bits needs a value in an answer" }
      if (offeredServerBits !== undefined && Number(answeredServerBits) > offeredServerBits) {
        return { error: `server_max_window_bits=${answeredServerBits} is larger than offered (${offeredServerBits})` }
      }
    }
    const offeredClient = options.clientMaxWindowBits ?? true
    let clientMaxWindowBits = typeof offeredClient === "number" ? offeredClient : 15
    if (read.has("client_max_window_bits")) {
      const value = read.get("client_max_window_bits")
      if (offeredClient === false) return { error: "client_max_window_bits answered but not offered" }
      if (value === undefined) return { error: "client_max_window_bits needs a value in an answer" }
      if (typeof offeredClient === "number" && Number(value) > offeredClient) {
        return { error: `client_max_window_bits=${value} is larger than offered (${offeredClient})` }
      }
      if (Number(value) < 9) return { error: "cannot compress with an 8-bit window (zlib uses 9)" }
      clientMaxWindowBits = Number(value)
    }
    if (options.serverNoContextTakeover && !read.has("server_no_context_takeover")) {
      return { error: "server_no_context_takeover was requested but not answered" }
    }
    const extension = negotiated(
      {
        serverNoContextTakeover: read.has("server_no_context_takeover"),
        clientNoContextTakeover: read.has("client_no_context_takeover") || (options.clientNoContextTakeover ?? false),
        serverMaxWindowBits: bits(answeredServerBits, 15),
        clientMaxWindowBits
      },
      options
    )
    return { extension }
  }
})
