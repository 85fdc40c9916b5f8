/**
 * The WebSocket connection after the opening handshake (RFC 6455 §5–§7): messages, ping/pong and
 * the closing handshake over the frame codec, as a pure reducer and as wsproto's `Connection`.
 *
 * What may be sent in each state is the table `allowedToSend`; what receiving does is `receive`.
 * Neither knows which role it plays beyond masking: the same rules hold for both ends.
 *
 * @since 0.1.0
 */
import type { ConnectionState, ConnectionType } from "./ConnectionState.js"
import type { LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type * as Events from "./Events.js"
import type { Extension } from "./Extensions.js"
import type * as Frame from "./Frame.js"
import { EMPTY, join } from "./internal/bytes.js"
import * as internal from "./internal/connection.js"
import { EventQueue } from "./internal/eventQueue.js"

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
 * What one step gives, the shape of every reducer above the frame codec (`WSConnection` uses it
 * with its own state): the next state, the events, the bytes to write, and `error` when the step
 * failed. A failed step never throws: its `error` says why, its events are those the input
 * completed before the failure, and its state is the one to go on from.
 *
 * @since 0.1.0
 * @category models
 */
export interface Step<S = State, E = RemoteProtocolError | LocalProtocolError> {
  readonly state: S
  readonly events: ReadonlyArray<Events.Event>
  readonly bytes: ReadonlyArray<Uint8Array>
  readonly error: E | undefined
}

/**
 * A sending step: `error` is a `LocalProtocolError` when the state does not allow the event or
 * the frame codec refuses it; the state is then unchanged and there are no bytes.
 *
 * @since 0.3.0
 * @category models
 */
export type Sent<S = State> = Step<S, LocalProtocolError>

/**
 * A receiving step: `error` is a `RemoteProtocolError` if the peer broke the protocol (its
 * `eventHint` is the `CloseConnection` to answer with) or a `LocalProtocolError` if the
 * connection was already closed. Events before a violation are still given. A connection that
 * failed receives nothing more: each later step gives the same violation again with `repeated`
 * set, so a caller that reports violations reports each once.
 *
 * @since 0.1.0
 * @category models
 */
export interface Received<S = State> extends Step<S> {
  readonly repeated: boolean
}

/**
 * A connection in the OPEN state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: ConnectionOptions) => State = internal.make

/**
 * RFC 6455 §7: which events may be sent in which state. Data and control frames only while OPEN;
 * a close while OPEN (starting the closing handshake) or REMOTE_CLOSING (answering it).
 *
 * @since 0.1.0
 * @category state machine
 */
export const allowedToSend: Readonly<Record<ConnectionState, ReadonlyArray<Events.Event["_tag"]>>> =
  internal.allowedToSend

/**
 * Sends an event: the bytes to write, or a `LocalProtocolError` when the state does not allow it
 * (the table `allowedToSend`; `Closed` once CLOSED, `InvalidState` otherwise) or the frame codec
 * refuses it (`InvalidEvent`).
 *
 * @since 0.1.0
 * @category reducers
 */
export const send: (s: State, event: Events.Event) => Sent = internal.send

/**
 * Receives bytes, or `null` when the transport ended.
 *
 * - OPEN and LOCAL_CLOSING: frames become events; a close moves to REMOTE_CLOSING or CLOSED.
 * - REMOTE_CLOSING: bytes are dropped (the peer has said it sends nothing more).
 * - CLOSED: a `LocalProtocolError` (`Closed`).
 * - `null` before CLOSED: a `CloseConnection` with 1006 (abnormal closure, RFC 6455 §7.1.5) and
 *   CLOSED; in CLOSED a `LocalProtocolError`.
 *
 * A protocol violation gives the events before it and a `RemoteProtocolError`; the state stays as
 * it was, so that the close in its `eventHint` can be sent, and nothing more is ever received.
 *
 * @since 0.1.0
 * @category reducers
 */
export const receive: (s: State, data: Uint8Array | null) => Received = internal.receive

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
    return join(this.sendChunks(event))
  }

  /**
   * `send` without joining: the chunks to write, in order (for a large payload the frame header
   * and the payload itself, uncopied), for a transport with vectored writes.
   */
  sendChunks(event: Events.Event): ReadonlyArray<Uint8Array> {
    const sent = send(this.#state, event)
    if (sent.error !== undefined) throw sent.error
    this.#state = sent.state
    return sent.bytes
  }

  receiveData(data: Uint8Array | null): void {
    const received = receive(this.#state, data)
    this.#pending.report(received, false)
    this.#state = received.state
  }

  events(): Generator<Events.Event, void, undefined> {
    return this.#pending.drain()
  }
}
