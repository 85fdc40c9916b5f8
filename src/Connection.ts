/**
 * The WebSocket connection after the opening handshake (RFC 6455 §5–§7): messages, ping/pong and
 * the closing handshake over the frame codec, as a pure reducer and as wsproto's `Connection`.
 *
 * What may be sent in each state is the table `allowedToSend`; what receiving does is `receive`.
 * Neither knows which role it plays beyond masking: the same rules hold for both ends.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { ConnectionState, ConnectionType, stateName } from "./ConnectionState.js"
import { LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type * as Events from "./Events.js"
import type { Extension } from "./Extensions.js"
import * as Frame from "./Frame.js"
import { concat, EMPTY } from "./internal/bytes.js"
import { EventQueue } from "./internal/eventQueue.js"
import * as fast from "./internal/events.js"

/**
 * wsproto's `wsproto.connection` names, for ported code.
 *
 * @since 0.1.0
 * @category models
 */
export { CLIENT, ConnectionState, ConnectionType, SERVER } from "./ConnectionState.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ConnectionOptions {
  readonly connectionType: ConnectionType
  /** Extensions agreed in the handshake. */
  readonly extensions?: ReadonlyArray<Extension>
  /** Frame and message limits and the other decoder options (RFC 6455 §10.4). */
  readonly maxFrameSize?: number
  readonly maxMessageSize?: number
  readonly assembleMessages?: boolean
  readonly unmaskInPlace?: boolean
  /** Split outgoing messages into frames of at most this many bytes. */
  readonly fragmentSize?: number
  /** The client's masking key source. */
  readonly maskKey?: Frame.MaskKeySource
}

/**
 * The connection's state: where it stands and the frame codec's two halves. An immutable value
 * (linear when an extension holds a native resource, see `Extensions`).
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly connectionType: ConnectionType
  readonly state: ConnectionState
  readonly decoder: Frame.DecoderState
  readonly encoder: Frame.EncoderState
}

/**
 * What one step gives: the next state, the events, the bytes to write (the shape of every
 * reducer above the frame codec; `WSConnection` uses it with its own state).
 *
 * @since 0.1.0
 * @category models
 */
export interface Step<S = State> {
  readonly state: S
  readonly events: ReadonlyArray<Events.Event>
  readonly bytes: ReadonlyArray<Uint8Array>
}

/**
 * A receiving step: also the error if the peer broke the protocol (a `RemoteProtocolError` whose
 * `eventHint` is the `CloseConnection` to answer with) or if the connection was already closed
 * (a `LocalProtocolError`). Events before a violation are still given.
 *
 * @since 0.1.0
 * @category models
 */
export interface Received<S = State> extends Step<S> {
  readonly error: RemoteProtocolError | LocalProtocolError | undefined
}

/**
 * A connection in the OPEN state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ConnectionOptions): State => {
  const role: Frame.Role = options.connectionType === ConnectionType.CLIENT ? "client" : "server"
  const extensions = options.extensions ?? []
  return {
    connectionType: options.connectionType,
    state: ConnectionState.OPEN,
    decoder: Frame.decoder({
      role,
      extensions,
      ...(options.maxFrameSize === undefined ? {} : { maxFrameSize: options.maxFrameSize }),
      ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
      ...(options.assembleMessages === undefined ? {} : { assembleMessages: options.assembleMessages }),
      ...(options.unmaskInPlace === undefined ? {} : { unmaskInPlace: options.unmaskInPlace })
    }),
    encoder: Frame.encoder({
      role,
      extensions,
      ...(options.fragmentSize === undefined ? {} : { fragmentSize: options.fragmentSize }),
      ...(options.maskKey === undefined ? {} : { maskKey: options.maskKey })
    })
  }
}

type Sendable = Events.TextMessage | Events.BytesMessage | Events.Ping | Events.Pong | Events.CloseConnection

/**
 * RFC 6455 §7: which events may be sent in which state. Data and control frames only while OPEN;
 * a close while OPEN (starting the closing handshake) or REMOTE_CLOSING (answering it).
 *
 * @since 0.1.0
 * @category state machine
 */
export const allowedToSend: Readonly<Record<ConnectionState, ReadonlyArray<Events.Event["_tag"]>>> = {
  [ConnectionState.CONNECTING]: [],
  [ConnectionState.OPEN]: ["TextMessage", "BytesMessage", "Ping", "Pong", "CloseConnection"],
  [ConnectionState.REMOTE_CLOSING]: ["CloseConnection"],
  [ConnectionState.LOCAL_CLOSING]: [],
  [ConnectionState.CLOSED]: [],
  [ConnectionState.REJECTING]: []
}

/** RFC 6455 §7.1.2–§7.1.4: sending a close moves OPEN to LOCAL_CLOSING and REMOTE_CLOSING to CLOSED. */
const afterSendingClose: Partial<Record<ConnectionState, ConnectionState>> = {
  [ConnectionState.OPEN]: ConnectionState.LOCAL_CLOSING,
  [ConnectionState.REMOTE_CLOSING]: ConnectionState.CLOSED
}

/** Receiving a close moves OPEN to REMOTE_CLOSING and LOCAL_CLOSING to CLOSED. */
const afterReceivingClose: Partial<Record<ConnectionState, ConnectionState>> = {
  [ConnectionState.OPEN]: ConnectionState.REMOTE_CLOSING,
  [ConnectionState.LOCAL_CLOSING]: ConnectionState.CLOSED
}

/**
 * Sends an event: the bytes to write, or a `LocalProtocolError` when the state does not allow it
 * (the table `allowedToSend`) or the frame codec refuses it.
 *
 * @since 0.1.0
 * @category reducers
 */
export const send = (s: State, event: Events.Event): Either.Either<Step, LocalProtocolError> => {
  if (!allowedToSend[s.state].includes(event._tag)) {
    return Either.left(
      new LocalProtocolError({ message: `Event ${event._tag} cannot be sent in state ${stateName(s.state)}.` })
    )
  }
  const e = event as Sendable
  const encoded = e._tag === "TextMessage" || e._tag === "BytesMessage"
    ? Frame.encodeMessage(s.encoder, e.data, e.messageFinished)
    : e._tag === "Ping"
    ? Frame.encodePing(s.encoder, e.payload)
    : e._tag === "Pong"
    ? Frame.encodePong(s.encoder, e.payload)
    : Frame.encodeClose(s.encoder, e.code, e.reason)
  if (Either.isLeft(encoded)) return Either.left(encoded.left)
  const state = e._tag === "CloseConnection" ? afterSendingClose[s.state]! : s.state
  return Either.right({ state: { ...s, state, encoder: encoded.right.state }, events: [], bytes: encoded.right.bytes })
}

const toEvent = (frame: Frame.Frame): Events.Event => {
  switch (frame._tag) {
    case "Text":
      return fast.textMessage(frame.data, frame.frameFinished, frame.messageFinished)
    case "Binary":
      return fast.bytesMessage(frame.data, frame.frameFinished, frame.messageFinished)
    case "Ping":
      return fast.ping(frame.payload)
    case "Pong":
      return fast.pong(frame.payload)
    case "Close":
      return fast.closeConnection(frame.code, frame.reason)
  }
}

const NO_BYTES: ReadonlyArray<Uint8Array> = []

/**
 * Receives bytes, or `null` when the transport ended.
 *
 * - OPEN and LOCAL_CLOSING: frames become events; a close moves to REMOTE_CLOSING or CLOSED.
 * - REMOTE_CLOSING: bytes are dropped (the peer has said it sends nothing more).
 * - CLOSED: a `LocalProtocolError`.
 * - `null` before CLOSED: a `CloseConnection` with 1006 (abnormal closure, RFC 6455 §7.1.5) and
 *   CLOSED; in CLOSED a `LocalProtocolError`.
 *
 * A protocol violation gives the events before it and a `RemoteProtocolError`; the state stays as
 * it was, so that the close in its `eventHint` can be sent, and nothing more is ever received.
 *
 * @since 0.1.0
 * @category reducers
 */
export const receive = (s: State, data: Uint8Array | null): Received => {
  if (s.state === ConnectionState.CLOSED) {
    return { state: s, events: [], bytes: NO_BYTES, error: new LocalProtocolError({ message: "Connection already closed." }) }
  }
  if (data === null) {
    return {
      state: { ...s, state: ConnectionState.CLOSED },
      events: [fast.closeConnection(Frame.CloseReason.ABNORMAL_CLOSURE, "")],
      bytes: NO_BYTES,
      error: undefined
    }
  }
  if (s.state === ConnectionState.REMOTE_CLOSING) return { state: s, events: [], bytes: NO_BYTES, error: undefined }
  const decoded = Frame.decode(s.decoder, data)
  const events: Array<Events.Event> = []
  let state: ConnectionState = s.state
  for (const frame of decoded.frames) {
    events.push(toEvent(frame))
    if (frame._tag === "Close") state = afterReceivingClose[state] ?? state
  }
  const error = decoded.error === undefined ? undefined : withHint(decoded.error)
  return { state: { ...s, state, decoder: decoded.state }, events, bytes: NO_BYTES, error }
}

const withHint = (error: RemoteProtocolError): RemoteProtocolError =>
  error.eventHint === undefined
    ? new RemoteProtocolError({
      message: error.message,
      closeCode: error.closeCode,
      eventHint: fast.closeConnection(error.closeCode, error.message)
    })
    : error

/**
 * How the wsproto-style classes report a frame-level violation, as wsproto does: the close to
 * answer with, as an event.
 *
 * @since 0.1.0
 * @category classes
 */
export const frameErrorEvent = (error: RemoteProtocolError): Events.Event =>
  error.eventHint ?? fast.closeConnection(error.closeCode, error.message)

/**
 * wsproto's `Connection`: the reducer's state with wsproto's methods. `send` throws
 * `LocalProtocolError`; `receiveData` throws `LocalProtocolError` when the connection is closed.
 * As in wsproto, a frame-level violation is not thrown: it comes out of `events()` as a
 * `CloseConnection` with the close code (1002, 1007, 1009) and the reason, the state unchanged.
 *
 * @since 0.1.0
 * @category classes
 */
export class Connection {
  #state: State
  readonly #pending = new EventQueue()

  constructor(
    connectionType: ConnectionType,
    extensions: ReadonlyArray<Extension> = [],
    trailingData: Uint8Array = EMPTY,
    options: Omit<ConnectionOptions, "connectionType" | "extensions"> = {}
  ) {
    this.#state = make({ ...options, connectionType, extensions })
    if (trailingData.length > 0) this.receiveData(trailingData)
  }

  get state(): ConnectionState {
    return this.#state.state
  }

  send(event: Events.Event): Uint8Array {
    const result = send(this.#state, event)
    if (Either.isLeft(result)) throw result.left
    this.#state = result.right.state
    const bytes = result.right.bytes
    return bytes.length === 1 ? bytes[0]! : concat(bytes, bytes.reduce((n, b) => n + b.length, 0))
  }

  receiveData(data: Uint8Array | null): void {
    const result = receive(this.#state, data)
    if (result.error instanceof LocalProtocolError) throw result.error
    const reported = Frame.decoderError(this.#state.decoder) !== undefined
    this.#state = result.state
    this.#pending.push(result.events)
    // The violation is reported once; the failed decoder then takes nothing more.
    if (result.error !== undefined && !reported) this.#pending.push([frameErrorEvent(result.error)])
  }

  events(): Generator<Events.Event, void, undefined> {
    return this.#pending.drain()
  }
}
