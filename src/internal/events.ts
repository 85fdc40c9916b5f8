/**
 * Trusted constructors for the events the library builds on the hot path: the Schema
 * constructor (about 1–2 µs even without validation) is skipped, and the instance is made the way
 * the constructor would make it (the same prototype, fields, and `_tag` last).
 * test/internal/events.test.ts checks them against the Schema constructors.
 */
import * as Events from "../Events.js"

const make = <A>(prototype: object, fields: Record<string, unknown>, tag: string): A => {
  const instance = Object.create(prototype)
  for (const key in fields) instance[key] = fields[key]
  instance._tag = tag
  return instance
}

/** @internal */
export const textMessage = (data: string, frameFinished: boolean, messageFinished: boolean): Events.TextMessage =>
  make(Events.TextMessage.prototype, { data, frameFinished, messageFinished }, "TextMessage")

/** @internal */
export const bytesMessage = (data: Uint8Array, frameFinished: boolean, messageFinished: boolean): Events.BytesMessage =>
  make(Events.BytesMessage.prototype, { data, frameFinished, messageFinished }, "BytesMessage")

/** @internal */
export const ping = (payload: Uint8Array): Events.Ping => make(Events.Ping.prototype, { payload }, "Ping")

/** @internal */
export const pong = (payload: Uint8Array): Events.Pong => make(Events.Pong.prototype, { payload }, "Pong")

/** @internal */
export const closeConnection = (code: number, reason: string): Events.CloseConnection =>
  make(Events.CloseConnection.prototype, { code, reason }, "CloseConnection")
