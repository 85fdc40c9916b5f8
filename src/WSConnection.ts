/**
 * The whole WebSocket conversation: the opening handshake, then the connection it opens, as one
 * pure reducer and as wsproto's `WSConnection` class. Bytes that follow the handshake in the same
 * read (the first frames, either side) are handed to the connection, never lost.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Connection from "./Connection.js"
import { type ConnectionState, ConnectionType } from "./ConnectionState.js"
import type { LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type * as Events from "./Events.js"
import type * as Handshake from "./Handshake.js"
import { join } from "./internal/bytes.js"
import { withEvents } from "./internal/errors.js"
import { EventQueue } from "./internal/eventQueue.js"
import * as internal from "./internal/wsConnection.js"

/**
 * Options of both phases: the handshake's limits and nonce, the connection's limits and framing.
 *
 * @since 0.1.0
 * @category models
 */
export type WSConnectionOptions =
  & Handshake.HandshakeOptions
  & Omit<Connection.ConnectionOptions, "connectionType" | "extensions">

/**
 * The conversation's state: the handshake's, and once it is OPEN the connection's.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly options: WSConnectionOptions
  readonly handshake: Handshake.HandshakeState
  readonly connection: Connection.State | undefined
}

/**
 * A step of the conversation: the next state, the events, the bytes to write, and the error if
 * any (see `Connection.Received`).
 *
 * @since 0.1.0
 * @category models
 */
export type Received = Connection.Received<State>

/**
 * A conversation in the CONNECTING state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options: WSConnectionOptions) => State = internal.make

/**
 * The state: the handshake's until the connection exists, then the connection's.
 *
 * @since 0.1.0
 * @category getters
 */
export const connectionState: (s: State) => ConnectionState = internal.connectionState

/**
 * Sends an event: to the handshake until it is OPEN, then to the connection. A refused event
 * gives its `LocalProtocolError` in `error`, the state unchanged.
 *
 * @since 0.1.0
 * @category reducers
 */
export const send: (s: State, event: Events.Event) => Received = internal.send

/**
 * Receives bytes, or `null` when the transport ended: the handshake's events, then the
 * connection's, in order.
 *
 * @since 0.1.0
 * @category reducers
 */
export const receive: (s: State, data: Uint8Array | null) => Received = internal.receive

/**
 * A server conversation started from a request an HTTP server already parsed.
 *
 * @since 0.1.0
 * @category reducers
 */
export const initiateUpgradeConnection: (s: State, headers: Events.Headers, path: string) => Received =
  internal.initiateUpgradeConnection

/**
 * wsproto's `WSConnection`: the reducer's state with wsproto's methods. `send` and
 * `initiateUpgradeConnection` throw `LocalProtocolError`; `receiveData` throws
 * `RemoteProtocolError` for a failed handshake and `LocalProtocolError` once closed; a frame-level
 * violation comes out of `events()` as a `CloseConnection` with its close code, as in wsproto.
 *
 * @since 0.1.0
 * @category classes
 */
export class WSConnection {
  #state: State
  readonly #pending = new EventQueue()

  constructor(connectionType: ConnectionType, options: Omit<WSConnectionOptions, "connectionType"> = {}) {
    this.#state = make({ ...options, connectionType })
  }

  get state(): ConnectionState {
    return connectionState(this.#state)
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
    this.#apply(sent)
    return sent.bytes
  }

  receiveData(data: Uint8Array | null): void {
    this.#apply(receive(this.#state, data))
  }

  initiateUpgradeConnection(headers: Events.Headers, path: string): void {
    this.#apply(initiateUpgradeConnection(this.#state, headers, path))
  }

  events(): Generator<Events.Event, void, undefined> {
    return this.#pending.drain()
  }

  #apply(received: Received): void {
    // A failed handshake or a closed connection throws; a frame violation is an event.
    this.#pending.report(received, received.state.connection === undefined)
    this.#state = received.state
  }
}

/**
 * What sending gives the Effect service: the bytes to write, and the events the step completed
 * (only when accepting a handshake surfaces frames the client sent before it saw the 101, and
 * then also the violation in them, if any: a sending Effect fails only for what was sent).
 *
 * @since 0.1.0
 * @category models
 */
export interface Sent {
  readonly bytes: ReadonlyArray<Uint8Array>
  readonly events: ReadonlyArray<Events.Event>
  readonly error?: RemoteProtocolError
}

/**
 * A WebSocket conversation as an Effect service: the reducer's state held by the service, each
 * operation one Effect that steps it. `receive` fails with `RemoteProtocolError` for any violation of the peer (its
 * `eventHint` is the answer to send, its `events` what the same bytes completed before it) and
 * with `LocalProtocolError` once closed; `send` fails with `LocalProtocolError`.
 *
 * @since 0.1.0
 * @category tags
 */
export class Service extends Context.Tag("effect-wsproto/WSConnection/Service")<Service, {
  readonly send: (event: Events.Event) => Effect.Effect<Sent, LocalProtocolError>
  readonly receive: (
    data: Uint8Array | null
  ) => Effect.Effect<ReadonlyArray<Events.Event>, RemoteProtocolError | LocalProtocolError>
  readonly initiateUpgradeConnection: (
    headers: Events.Headers,
    path: string
  ) => Effect.Effect<ReadonlyArray<Events.Event>, RemoteProtocolError | LocalProtocolError>
  readonly state: Effect.Effect<ConnectionState>
}>() {}

const sentOf = ({ bytes, error, events }: Received): Effect.Effect<Sent, LocalProtocolError> =>
  error === undefined
    ? Effect.succeed({ bytes, events })
    : error._tag === "LocalProtocolError"
    ? Effect.fail(error)
    : Effect.succeed({ bytes, events, error })

const eventsOf = (
  received: Received
): Effect.Effect<ReadonlyArray<Events.Event>, RemoteProtocolError | LocalProtocolError> => {
  const error = received.error
  if (error === undefined) return Effect.succeed(received.events)
  if (error._tag === "LocalProtocolError" || received.events.length === 0) return Effect.fail(error)
  return Effect.fail(withEvents(error, received.events))
}

/**
 * The service over a fresh conversation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeService = (options: WSConnectionOptions): Effect.Effect<Service["Type"]> =>
  Effect.sync(() => {
    // The state lives in this closure: each operation steps it when the Effect runs, in one
    // synchronous step (as `Ref.modify` would, without its cost). A failed step's state is the one
    // to go on from (the reducers keep the state before a refused input).
    let state = make(options)
    const step = <A, E>(reduce: (s: State) => Received, outcome: (received: Received) => Effect.Effect<A, E>) =>
      Effect.suspend(() => {
        const received = reduce(state)
        state = received.state
        return outcome(received)
      })
    return Service.of({
      send: (event) => step((s) => send(s, event), sentOf),
      receive: (data) => step((s) => receive(s, data), eventsOf),
      initiateUpgradeConnection: (headers, path) => step((s) => initiateUpgradeConnection(s, headers, path), eventsOf),
      state: Effect.sync(() => connectionState(state))
    })
  })

/**
 * A client conversation as a Layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (options: Omit<WSConnectionOptions, "connectionType"> = {}): Layer.Layer<Service> =>
  Layer.effect(Service, makeService({ ...options, connectionType: ConnectionType.CLIENT }))

/**
 * A server conversation as a Layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer = (options: Omit<WSConnectionOptions, "connectionType"> = {}): Layer.Layer<Service> =>
  Layer.effect(Service, makeService({ ...options, connectionType: ConnectionType.SERVER }))
