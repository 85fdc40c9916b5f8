/**
 * The connection reducer (RFC 6455 §5–§7) over the frame codec: what may be sent in each state,
 * what receiving does, and the transitions of the closing handshake. The classes, the Effect
 * service and the driver all step it; none of them holds a rule of its own.
 */
import type * as Connection from "../Connection.js"
import type * as Events from "../Events.js"
import type * as Frame from "../Frame.js"
import { CloseReason } from "./closeCode.js"
import { ConnectionState, ConnectionType, stateName } from "./connectionState.js"
import { local, type LocalProtocolError, type RemoteProtocolError } from "./errors.js"
import * as fast from "./events.js"
import * as Decoder from "./frameDecoder.js"
import * as Encoder from "./frameEncoder.js"

/** @internal */
export const make = (options: Connection.ConnectionOptions): Connection.State => {
  const role: Frame.Role = options.connectionType === ConnectionType.CLIENT ? "client" : "server"
  const extensions = options.extensions ?? []
  return {
    connectionType: options.connectionType,
    state: ConnectionState.OPEN,
    decoder: Decoder.make({
      role,
      extensions,
      ...(options.maxFrameSize === undefined ? {} : { maxFrameSize: options.maxFrameSize }),
      ...(options.maxMessageSize === undefined ? {} : { maxMessageSize: options.maxMessageSize }),
      ...(options.assembleMessages === undefined ? {} : { assembleMessages: options.assembleMessages }),
      ...(options.unmaskInPlace === undefined ? {} : { unmaskInPlace: options.unmaskInPlace })
    }),
    encoder: Encoder.make({
      role,
      extensions,
      ...(options.fragmentSize === undefined ? {} : { fragmentSize: options.fragmentSize }),
      ...(options.maskKey === undefined ? {} : { maskKey: options.maskKey })
    })
  }
}

/**
 * The state with its phase and codec halves replaced; the same object when nothing changed. Built
 * field by field: an object spread here costs more than the whole encoding of a short frame.
 */
const next = (
  s: Connection.State,
  state: ConnectionState,
  decoder: Frame.DecoderState,
  encoder: Frame.EncoderState
): Connection.State =>
  state === s.state && decoder === s.decoder && encoder === s.encoder
    ? s
    : { connectionType: s.connectionType, state, decoder, encoder }

type Sendable = Events.TextMessage | Events.BytesMessage | Events.Ping | Events.Pong | Events.CloseConnection

/** @internal */
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

const NO_EVENTS: ReadonlyArray<Events.Event> = []
const NO_BYTES: ReadonlyArray<Uint8Array> = []

const refused = (s: Connection.State, error: LocalProtocolError): Connection.Sent => ({
  state: s,
  events: NO_EVENTS,
  bytes: NO_BYTES,
  error
})

/** @internal */
export const send = (s: Connection.State, event: Events.Event): Connection.Sent => {
  if (!allowedToSend[s.state].includes(event._tag)) {
    return refused(
      s,
      local(
        s.state === ConnectionState.CLOSED ? "Closed" : "InvalidState",
        `Event ${event._tag} cannot be sent in state ${stateName(s.state)}.`
      )
    )
  }
  const e = event as Sendable
  const encoded = e._tag === "TextMessage" || e._tag === "BytesMessage"
    ? Encoder.encodeMessage(s.encoder, e.data, e.messageFinished)
    : e._tag === "Ping"
    ? Encoder.encodePing(s.encoder, e.payload)
    : e._tag === "Pong"
    ? Encoder.encodePong(s.encoder, e.payload)
    : Encoder.encodeClose(s.encoder, e.code, e.reason)
  if (encoded.error !== undefined) return refused(s, encoded.error)
  const state = e._tag === "CloseConnection" ? afterSendingClose[s.state]! : s.state
  return { state: next(s, state, s.decoder, encoded.state), events: NO_EVENTS, bytes: encoded.bytes, error: undefined }
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

const CLOSED_ERROR = "Connection already closed: nothing more can be received (stop reading once the state is CLOSED)."

/** @internal */
export const receive = (s: Connection.State, data: Uint8Array | null): Connection.Received => {
  if (s.state === ConnectionState.CLOSED) {
    return { state: s, events: NO_EVENTS, bytes: NO_BYTES, error: local("Closed", CLOSED_ERROR), repeated: false }
  }
  if (data === null) {
    return {
      state: next(s, ConnectionState.CLOSED, s.decoder, s.encoder),
      events: [fast.closeConnection(CloseReason.ABNORMAL_CLOSURE, "")],
      bytes: NO_BYTES,
      error: undefined,
      repeated: false
    }
  }
  if (s.state === ConnectionState.REMOTE_CLOSING) {
    return { state: s, events: NO_EVENTS, bytes: NO_BYTES, error: undefined, repeated: false }
  }
  const before: RemoteProtocolError | undefined = Decoder.error(s.decoder)
  const decoded = Decoder.decode(s.decoder, data)
  let events = NO_EVENTS
  let state: ConnectionState = s.state
  if (decoded.frames.length > 0) {
    const surfaced: Array<Events.Event> = []
    for (const frame of decoded.frames) {
      surfaced.push(toEvent(frame))
      if (frame._tag === "Close") state = afterReceivingClose[state] ?? state
    }
    events = surfaced
  }
  return {
    state: next(s, state, decoded.state, s.encoder),
    events,
    bytes: NO_BYTES,
    error: decoded.error,
    repeated: before !== undefined
  }
}
