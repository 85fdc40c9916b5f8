/**
 * Trusted constructors for the events the library builds on the hot path: the Schema
 * constructor (about 1–2 µs even without validation) is skipped, and the instance is made the way
 * the constructor would make it (the same prototype, fields, and `_tag` last).
 * test/internal/events.test.ts checks them against the Schema constructors.
 */
import * as Events from "../Events.js"

// Each writes its fields in the constructor's order, `_tag` last, so all instances share one shape.

/** @internal */
export const textMessage = (data: string, frameFinished: boolean, messageFinished: boolean): Events.TextMessage => {
  const event = Object.create(Events.TextMessage.prototype)
  event.data = data
  event.frameFinished = frameFinished
  event.messageFinished = messageFinished
  event._tag = "TextMessage"
  return event
}

/** @internal */
export const bytesMessage = (data: Uint8Array, frameFinished: boolean, messageFinished: boolean): Events.BytesMessage => {
  const event = Object.create(Events.BytesMessage.prototype)
  event.data = data
  event.frameFinished = frameFinished
  event.messageFinished = messageFinished
  event._tag = "BytesMessage"
  return event
}

/** @internal */
export const ping = (payload: Uint8Array): Events.Ping => {
  const event = Object.create(Events.Ping.prototype)
  event.payload = payload
  event._tag = "Ping"
  return event
}

/** @internal */
export const pong = (payload: Uint8Array): Events.Pong => {
  const event = Object.create(Events.Pong.prototype)
  event.payload = payload
  event._tag = "Pong"
  return event
}

/** @internal */
export const closeConnection = (code: number, reason: string): Events.CloseConnection => {
  const event = Object.create(Events.CloseConnection.prototype)
  event.code = code
  event.reason = reason
  event._tag = "CloseConnection"
  return event
}
