/**
 * The whole WebSocket conversation: the opening handshake, then the connection it opens, as one
 * pure reducer and as wsproto's `WSConnection` class. Bytes that follow the handshake in the same
 * read (the first frames, either side) are handed to the connection, never lost.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Connection from "./Connection.js"
import { ConnectionState, ConnectionType } from "./ConnectionState.js"
import { type LocalProtocolError, RemoteProtocolError } from "./Errors.js"
import type * as Events from "./Events.js"
import * as Handshake from "./Handshake.js"
import { concat } from "./internal/bytes.js"
import * as Frame from "./Frame.js"
import { EventQueue } from "./internal/eventQueue.js"

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
export const make = (options: WSConnectionOptions): State => ({
  options,
  handshake: Handshake.make(options),
  connection: undefined
})

/**
 * The state: the handshake's until the connection exists, then the connection's.
 *
 * @since 0.1.0
 * @category getters
 */
export const connectionState = (s: State): ConnectionState => s.connection?.state ?? s.handshake.state

/** Once the handshake is OPEN: the connection, fed the bytes that followed the handshake. */
const open = (s: State, handshake: Handshake.HandshakeState, events: ReadonlyArray<Events.Event>, bytes: ReadonlyArray<Uint8Array>): Received => {
  if (handshake.state !== ConnectionState.OPEN) {
    return { state: { ...s, handshake }, events, bytes, error: undefined }
  }
  const connection = Connection.make({
    ...s.options,
    connectionType: s.options.connectionType,
    extensions: handshake.extensions
  })
  if (handshake.trailing.length === 0) {
    return { state: { ...s, handshake, connection }, events, bytes, error: undefined }
  }
  const first = Connection.receive(connection, handshake.trailing)
  return {
    state: { ...s, handshake, connection: first.state },
    events: [...events, ...first.events],
    bytes,
    error: first.error
  }
}

/**
 * Sends an event: to the handshake until it is OPEN, then to the connection.
 *
 * @since 0.1.0
 * @category reducers
 */
export const send = (s: State, event: Events.Event): Either.Either<Received, LocalProtocolError> => {
  if (s.connection !== undefined) {
    return Either.map(Connection.send(s.connection, event), (step) => ({
      state: { ...s, connection: step.state },
      events: step.events,
      bytes: step.bytes,
      error: undefined
    }))
  }
  return Either.map(Handshake.send(s.handshake, event), (sent) => open(s, sent.state, [], [sent.bytes]))
}

/**
 * Receives bytes, or `null` when the transport ended: the handshake's events, then the
 * connection's, in order.
 *
 * @since 0.1.0
 * @category reducers
 */
export const receive = (s: State, data: Uint8Array | null): Received => {
  if (s.connection !== undefined) {
    const step = Connection.receive(s.connection, data)
    return { ...step, state: { ...s, connection: step.state } }
  }
  const received = Handshake.receive(s.handshake, data)
  if (received.error !== undefined) return { state: s, events: [], bytes: [], error: received.error }
  return open(s, received.state, received.events, [])
}

/**
 * A server conversation started from a request an HTTP server already parsed.
 *
 * @since 0.1.0
 * @category reducers
 */
export const initiateUpgradeConnection = (
  s: State,
  headers: Events.Headers,
  path: string
): Either.Either<Received, LocalProtocolError> =>
  Either.map(Handshake.initiateUpgradeConnection(s.handshake, headers, path), (received) =>
    received.error !== undefined
      ? { state: s, events: [], bytes: [], error: received.error }
      : open(s, received.state, received.events, []))

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
    const result = send(this.#state, event)
    if (Either.isLeft(result)) throw result.left
    this.#apply(result.right)
    const bytes = result.right.bytes
    return bytes.length === 1 ? bytes[0]! : concat(bytes, bytes.reduce((n, b) => n + b.length, 0))
  }

  receiveData(data: Uint8Array | null): void {
    this.#apply(receive(this.#state, data))
  }

  initiateUpgradeConnection(headers: Events.Headers, path: string): void {
    const result = initiateUpgradeConnection(this.#state, headers, path)
    if (Either.isLeft(result)) throw result.left
    this.#apply(result.right)
  }

  events(): Generator<Events.Event, void, undefined> {
    return this.#pending.drain()
  }

  #apply(received: Received): void {
    const error = received.error
    // A failed handshake or a closed connection throws; a frame violation is an event.
    if (error !== undefined && (error._tag === "LocalProtocolError" || received.state.connection === undefined)) {
      throw error
    }
    const connection = this.#state.connection
    const reported = connection !== undefined && Frame.decoderError(connection.decoder) !== undefined
    this.#state = received.state
    this.#pending.push(received.events)
    // The violation is reported once; the failed decoder then takes nothing more.
    if (error !== undefined && !reported) this.#pending.push([Connection.frameErrorEvent(error)])
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
 * A WebSocket conversation as an Effect service: the reducer's state in a `Ref`, each operation
 * one Effect. `receive` fails with `RemoteProtocolError` for any violation of the peer (its
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

const sentOf = ({ bytes, error, events }: Received): Sent =>
  error?._tag === "RemoteProtocolError" ? { bytes, events, error } : { bytes, events }

const outcome = (received: Received): Effect.Effect<ReadonlyArray<Events.Event>, RemoteProtocolError | LocalProtocolError> => {
  const error = received.error
  if (error === undefined) return Effect.succeed(received.events)
  if (error._tag === "LocalProtocolError" || received.events.length === 0) return Effect.fail(error)
  return Effect.fail(
    new RemoteProtocolError({
      message: error.message,
      closeCode: error.closeCode,
      events: received.events,
      ...(error.eventHint === undefined ? {} : { eventHint: error.eventHint })
    })
  )
}

/**
 * The service over a fresh conversation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeService = (options: WSConnectionOptions): Effect.Effect<Service["Type"]> =>
  Effect.map(Ref.make(make(options)), (ref) => {
    // Steps the state and picks the Effect to run, atomically. A failed step keeps the state it
    // started from, except after a frame violation: the decoder has failed for good then.
    const apply = (received: Received, before: State) => {
      const keep = received.error === undefined || received.state.connection !== undefined
      return [outcome(received), keep ? received.state : before] as const
    }
    return Service.of({
      send: (event) =>
        Effect.flatten(Ref.modify(ref, (s): readonly [Effect.Effect<Sent, LocalProtocolError>, State] => {
          const result = send(s, event)
          return Either.isLeft(result)
            ? [Effect.fail(result.left), s]
            : [Effect.succeed(sentOf(result.right)), result.right.state]
        })),
      receive: (data) => Effect.flatten(Ref.modify(ref, (s) => apply(receive(s, data), s))),
      initiateUpgradeConnection: (headers, path) =>
        Effect.flatten(Ref.modify(ref, (s): ReturnType<typeof apply> => {
          const result = initiateUpgradeConnection(s, headers, path)
          return Either.isLeft(result) ? [Effect.fail(result.left), s] : apply(result.right, s)
        })),
      state: Effect.map(Ref.get(ref), connectionState)
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
