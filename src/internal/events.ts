/**
 * The events as users construct them (re-exported by `Events`). Each is its Schema class of
 * `eventClasses.ts` — the same prototype, statics and schema, so `Schema.decodeUnknown`,
 * `Schema.is`, `Equal` and `instanceof` behave as on the class — with a constructor that only
 * assigns the fields and their defaults. The Schema constructor validates every field against its
 * schema, about 4–5 µs for a `TextMessage`; typed code gets that check from TypeScript, and
 * outside data from decoding, which validates before it constructs. test/internal/events.test.ts
 * checks each constructor against the Schema constructor.
 */
import * as Schema from "effect/Schema"
import * as Classes from "./eventClasses.js"

export {
  bytesMessage,
  closeConnection,
  ExtensionSchema,
  Headers,
  ping,
  pong,
  rejectConnection,
  textMessage
} from "./eventClasses.js"

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

/** The fields a class's constructor takes (`void` where every field has a default). */
type Props<C extends abstract new(...args: any) => any> = Exclude<ConstructorParameters<C>[0], void | undefined>

/**
 * The class as users call it: `new` runs `assign` (fields in the schema's order, `_tag` last)
 * instead of the Schema constructor; everything else is the class's own. Instances get the
 * class's prototype, whose `constructor` becomes this function.
 */
const withConstructor = <C extends { readonly identifier: string; new(props: any, options?: any): object }>(
  klass: C,
  assign: (self: Mutable<InstanceType<C>>, props: Props<C>) => void
): C => {
  const tag = klass.identifier
  const construct = function(
    this: Mutable<InstanceType<C>> & { _tag: string },
    props: Props<C> | undefined
  ) {
    assign(this, props ?? ({} as Props<C>))
    this._tag = tag
  }
  Object.defineProperty(construct, "name", { value: tag })
  Object.setPrototypeOf(construct, klass)
  construct.prototype = klass.prototype
  Object.defineProperty(klass.prototype, "constructor", { value: construct, writable: true, configurable: true })
  return construct as unknown as C
}

const noHeaders = (): Classes.Headers => []

/** @internal */
export const Request: typeof Classes.Request = withConstructor(Classes.Request, (self, props) => {
  self.host = props.host
  self.target = props.target
  self.extensions = props.extensions ?? []
  self.extraHeaders = props.extraHeaders ?? noHeaders()
  self.subprotocols = props.subprotocols ?? []
})

/** @internal */
export type Request = Classes.Request

/** @internal */
export const AcceptConnection: typeof Classes.AcceptConnection = withConstructor(
  Classes.AcceptConnection,
  (self, props) => {
    if (props.subprotocol !== undefined) self.subprotocol = props.subprotocol
    self.extensions = props.extensions ?? []
    self.extraHeaders = props.extraHeaders ?? noHeaders()
  }
)

/** @internal */
export type AcceptConnection = Classes.AcceptConnection

/** @internal */
export const RejectConnection: typeof Classes.RejectConnection = withConstructor(
  Classes.RejectConnection,
  (self, props) => {
    self.statusCode = props.statusCode ?? 400
    self.headers = props.headers ?? noHeaders()
    self.hasBody = props.hasBody ?? false
  }
)

/** @internal */
export type RejectConnection = Classes.RejectConnection

/** @internal */
export const RejectData: typeof Classes.RejectData = withConstructor(Classes.RejectData, (self, props) => {
  self.data = props.data
  self.bodyFinished = props.bodyFinished ?? true
})

/** @internal */
export type RejectData = Classes.RejectData

/** @internal */
export const CloseConnection: typeof Classes.CloseConnection = withConstructor(
  Classes.CloseConnection,
  (self, props) => {
    self.code = props.code
    self.reason = props.reason ?? ""
  }
)

/** @internal */
export type CloseConnection = Classes.CloseConnection

/** @internal */
export const TextMessage: typeof Classes.TextMessage = withConstructor(Classes.TextMessage, (self, props) => {
  self.data = props.data
  self.frameFinished = props.frameFinished ?? true
  self.messageFinished = props.messageFinished ?? true
})

/** @internal */
export type TextMessage = Classes.TextMessage

/** @internal */
export const BytesMessage: typeof Classes.BytesMessage = withConstructor(Classes.BytesMessage, (self, props) => {
  self.data = props.data
  self.frameFinished = props.frameFinished ?? true
  self.messageFinished = props.messageFinished ?? true
})

/** @internal */
export type BytesMessage = Classes.BytesMessage

/** @internal */
export const Ping: typeof Classes.Ping = withConstructor(Classes.Ping, (self, props) => {
  self.payload = props.payload ?? new Uint8Array(0)
})

/** @internal */
export type Ping = Classes.Ping

/** @internal */
export const Pong: typeof Classes.Pong = withConstructor(Classes.Pong, (self, props) => {
  self.payload = props.payload ?? new Uint8Array(0)
})

/** @internal */
export type Pong = Classes.Pong

/** @internal */
export const Message = Schema.Union(TextMessage, BytesMessage)

/** @internal */
export type Message = typeof Message.Type

/** @internal */
export const Event = Schema.Union(
  Request,
  AcceptConnection,
  RejectConnection,
  RejectData,
  CloseConnection,
  TextMessage,
  BytesMessage,
  Ping,
  Pong
)

/** @internal */
export type Event = typeof Event.Type
