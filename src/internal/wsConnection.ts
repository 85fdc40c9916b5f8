/**
 * The whole conversation as one reducer: the opening handshake, then the connection it opens.
 * Bytes that follow the handshake in the same read (the first frames, either side) are handed to
 * the connection, never lost.
 */
import type * as Connection from "../Connection.js"
import type { LocalProtocolError, RemoteProtocolError } from "../Errors.js"
import type * as Events from "../Events.js"
import type * as Handshake from "../Handshake.js"
import type * as WSConnection from "../WSConnection.js"
import { EMPTY } from "./bytes.js"
import * as connection from "./connection.js"
import { ConnectionState } from "./connectionState.js"
import * as handshake from "./handshake.js"

/** @internal */
export const make = (options: WSConnection.WSConnectionOptions): WSConnection.State => ({
  options,
  handshake: handshake.make(options),
  connection: undefined
})

/** @internal */
export const connectionState = (s: WSConnection.State): ConnectionState =>
  s.connection?.state ?? handshake.state(s.handshake)

/** A handshake step as a conversation step; once the handshake is OPEN, the connection starts. */
const afterHandshake = (
  s: WSConnection.State,
  step: Handshake.Step<LocalProtocolError | RemoteProtocolError>
): WSConnection.Received => {
  if (step.error !== undefined) return { state: s, events: [], bytes: [], error: step.error, repeated: false }
  const next = step.state
  const opened = handshake.state(next) === ConnectionState.OPEN
    ? connection.make({ ...s.options, extensions: handshake.extensions(next) })
    : undefined
  // The first frames may have come behind the handshake, in the same read.
  const trailing = opened === undefined ? EMPTY : handshake.trailingData(next)
  const first = trailing.length === 0 ? undefined : connection.receive(opened!, trailing)
  return {
    state: { options: s.options, handshake: next, connection: first?.state ?? opened },
    events: first === undefined ? step.events : [...step.events, ...first.events],
    bytes: step.bytes,
    error: first?.error,
    repeated: false
  }
}

/** A connection step as a conversation step (built field by field: spreads are slow here). */
const onConnection = (s: WSConnection.State, step: Connection.Step, repeated: boolean): WSConnection.Received => ({
  state: step.state === s.connection ? s : { options: s.options, handshake: s.handshake, connection: step.state },
  events: step.events,
  bytes: step.bytes,
  error: step.error,
  repeated
})

/** @internal */
export const send = (s: WSConnection.State, event: Events.Event): WSConnection.Received => {
  if (s.connection !== undefined) return onConnection(s, connection.send(s.connection, event), false)
  return afterHandshake(s, handshake.send(s.handshake, event))
}

/** @internal */
export const receive = (s: WSConnection.State, data: Uint8Array | null): WSConnection.Received => {
  if (s.connection === undefined) return afterHandshake(s, handshake.receive(s.handshake, data))
  const received = connection.receive(s.connection, data)
  return onConnection(s, received, received.repeated)
}

/** @internal */
export const initiateUpgradeConnection = (
  s: WSConnection.State,
  headers: Events.Headers,
  path: string
): WSConnection.Received => afterHandshake(s, handshake.initiateUpgradeConnection(s.handshake, headers, path))
