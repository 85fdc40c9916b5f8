/**
 * The two ways a WebSocket conversation goes wrong, as in wsproto: the local side asked for
 * something the protocol forbids (`LocalProtocolError`), or the peer broke the protocol
 * (`RemoteProtocolError`). Both are tagged errors: they can be yielded in `Effect.gen`, caught by
 * tag in Effect's error channel, and thrown from the wsproto-style classes.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type { Event } from "./Events.js"

/**
 * The caller asked for something that is impossible in the current state or forbidden by
 * RFC 6455: a control payload over 125 bytes, a close code that may not be sent, a text
 * fragment inside a binary message.
 *
 * @since 0.1.0
 * @category errors
 */
export class LocalProtocolError extends Data.TaggedError("LocalProtocolError")<{
  readonly message: string
}> {}

/**
 * The peer broke the protocol. `closeCode` is the RFC 6455 §7.4.1 status code to close the
 * connection with: 1002 for a protocol violation, 1007 for invalid UTF-8 or payload data, 1009
 * for a message or frame over the configured limits, or a code chosen by an extension (1002 for
 * handshake failures, where no connection was opened). `eventHint` is the event to send in answer:
 * during the handshake the `RejectConnection` a server should respond with (400, 426 or 431), after
 * it the `CloseConnection` to close with. Where an Effect fails with it, `events` holds the events
 * the same input completed before the violation.
 *
 * @since 0.1.0
 * @category errors
 */
export class RemoteProtocolError extends Data.TaggedError("RemoteProtocolError")<{
  readonly message: string
  readonly closeCode: number
  readonly eventHint?: Event
  readonly events?: ReadonlyArray<Event>
}> {}
