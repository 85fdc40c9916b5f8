/**
 * The driver: one WebSocket conversation over an `@effect/platform` `Socket.Socket`.
 *
 * The socket's handler steps the pure reducers synchronously, chunk by chunk, so that every
 * chunk is consumed in order whatever the socket does with the Effect a handler returns; that
 * Effect only waits for read credit (the consumer pulling), which a socket that awaits it turns
 * into backpressure. Bytes are written in the order the reducer made them: handed to a transport
 * with a synchronous face (`direct.ts`) in the step, or queued for one writer fiber otherwise.
 */
import * as Socket from "@effect/platform/Socket"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import { identity } from "effect/Function"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as Connection from "../Connection.js"
import type { LocalProtocolError, RemoteProtocolError } from "../Errors.js"
import type * as Events from "../Events.js"
import type { Extension } from "../Extensions.js"
import type * as Api from "../WebSocket.js"
import type * as WSConnection from "../WSConnection.js"
import { concat, EMPTY, join } from "./bytes.js"
import { CloseReason } from "./closeCode.js"
import * as connection from "./connection.js"
import { ConnectionState, ConnectionType } from "./connectionState.js"
import { type Direct, directOf } from "./direct.js"
import * as fast from "./events.js"
import { AcceptConnection, RejectConnection, RejectData } from "./events.js"
import { Gate } from "./gate.js"
import * as handshake from "./handshake.js"
import { lazyRuntime } from "./lazyRuntime.js"
import { WebSocketError } from "./webSocketError.js"
import * as conversation from "./wsConnection.js"

/** @internal */
export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
/** @internal */
export const DEFAULT_READ_HIGH_WATER_MARK = 64 * 1024
/** @internal */
export const DEFAULT_WRITE_HIGH_WATER_MARK = 64 * 1024
/** @internal */
export const DEFAULT_HANDSHAKE_TIMEOUT: Duration.DurationInput = "10 seconds"
const DEFAULT_CLOSE_TIMEOUT: Duration.DurationInput = "10 seconds"
const DEFAULT_PING_INTERVAL: Duration.DurationInput = "20 seconds"
const DEFAULT_PONG_TIMEOUT: Duration.DurationInput = "20 seconds"

/** The most of a rejection's body a client keeps for `WebSocketError.body`. */
const MAX_REJECTION_BODY = 64 * 1024
/** Small chunks queued together are written as one. */
const MERGE_LIMIT = 64 * 1024

/** @internal */
export interface HandshakeLimits {
  readonly handshakeTimeout?: Duration.DurationInput
  readonly maxHeadSize?: number
  readonly maxHeaders?: number
}

type Options = Api.Options & HandshakeLimits

interface Settings {
  readonly readHighWaterMark: number
  readonly writeHighWaterMark: number
  readonly closeTimeout: Duration.Duration
  readonly pingInterval: Duration.Duration
  readonly pongTimeout: Duration.Duration
  readonly handshakeTimeout: Duration.Duration
}

/** The settings of one options object, shared by every connection made with it. */
const settingsCache = new WeakMap<Options, Settings>()

const settingsOf = (options: Options): Settings => {
  let cached = settingsCache.get(options)
  if (cached === undefined) {
    cached = settings(options)
    settingsCache.set(options, cached)
  }
  return cached
}

const settings = (options: Options): Settings => ({
  readHighWaterMark: options.readHighWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK,
  writeHighWaterMark: options.writeHighWaterMark ?? DEFAULT_WRITE_HIGH_WATER_MARK,
  closeTimeout: Duration.decode(options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT),
  pingInterval: Duration.decode(options.pingInterval ?? DEFAULT_PING_INTERVAL),
  pongTimeout: Duration.decode(options.pongTimeout ?? DEFAULT_PONG_TIMEOUT),
  handshakeTimeout: Duration.decode(options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT)
})

const reducerOptions = (options: Options, connectionType: ConnectionType): WSConnection.WSConnectionOptions => {
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
  return {
    connectionType,
    maxMessageSize,
    maxFrameSize: options.maxFrameSize ?? maxMessageSize,
    // The driver never reads a socket chunk again once it is stepped.
    unmaskInPlace: true,
    ...(options.maxHeadSize === undefined ? {} : { maxHeadSize: options.maxHeadSize }),
    ...(options.maxHeaders === undefined ? {} : { maxHeaders: options.maxHeaders }),
    ...(options.fragmentSize === undefined ? {} : { fragmentSize: options.fragmentSize })
  }
}

const error = (props: ConstructorParameters<typeof WebSocketError>[0]) => new WebSocketError(props)

const protocolError = (cause: RemoteProtocolError, during: "handshake" | "connection") =>
  during === "handshake"
    ? error({ reason: "HandshakeFailed", message: `Opening handshake failed: ${cause.message}`, cause })
    : error({
      reason: "ProtocolError",
      message: `The peer broke the protocol (closed with ${cause.closeCode}): ${cause.message}`,
      ...(cause.closeCode === undefined ? {} : { closeCode: cause.closeCode }),
      cause
    })

const localError = (cause: LocalProtocolError) => error({ reason: "LocalError", message: cause.message, cause })

const closedError = (info: Api.CloseInfo) =>
  error({
    reason: "Closed",
    message: `The connection is closed (${info.code}${info.reason === "" ? "" : ` ${info.reason}`}).`,
    closeCode: info.code,
    closeReason: info.reason
  })

const ABNORMAL: Api.CloseInfo = { code: CloseReason.ABNORMAL_CLOSURE, reason: "" }

const timeoutError = (reason: "HandshakeTimeout" | "CloseTimeout" | "PongTimeout", after: Duration.Duration) =>
  error({ reason, message: `${reason}: nothing came in ${Duration.format(after)}.` })

const byteLength = (data: Api.Message) => data.length

type Phase = "connecting" | "open" | "closing" | "closed"

/** What the handshake gives the driver first: the request (server) or the acceptance (client). */
type Opened = { readonly _tag: "Accepted"; readonly event: Events.AcceptConnection } | {
  readonly _tag: "Request"
  readonly event: Events.Request
}

/**
 * One conversation's mutable core. Its methods are synchronous (called from fibers and from the
 * transport's callbacks, on one thread), so each of them is atomic.
 */
class Driver {
  conversation: WSConnection.State
  connection: Connection.State | undefined
  phase: Phase = "connecting"

  #inbox: Mailbox.Mailbox<Api.Fragment, WebSocketError> | undefined = undefined
  /** The size of the received pieces not yet pulled. */
  queued = 0
  readonly readGate = new Gate(true)
  readPaused = false

  /** Bytes queued for writing or handed to the transport and not yet written, and their size. */
  outbox: Array<Uint8Array> = []
  outboxBytes = 0
  readonly writeWake = new Gate(false)
  readonly writeSpace = new Gate(true)
  readonly flushed = new Gate(true)
  /** What the socket handler waits for before it reads on. */
  get readCredit(): Effect.Effect<void> {
    return Effect.zipRight(this.readGate.await, Effect.suspend(() => this.writeSpace.await))
  }
  /** Inside a read step, direct writes are gathered in `stepped`. */
  stepping = false
  readonly stepped: Array<Uint8Array> = []
  steppedBytes = 0
  /** The read step answered the peer (a pong). */
  answered = false

  /** The end: the peer's close, or why the connection failed. */
  readonly ended: Deferred.Deferred<Api.CloseInfo, WebSocketError>
  endExit: Exit.Exit<Api.CloseInfo, WebSocketError> | undefined
  /** The handshake's outcome. */
  readonly opened: Deferred.Deferred<Opened, WebSocketError>
  rejection: { status: number; headers: Events.Headers; body: Array<Uint8Array>; size: number } | undefined
  /** The socket's `run` has returned: the peer ended the transport, or it failed. */
  readonly transportEnded = new Gate(false)
  /** Set when the connection must be torn down at once rather than closed. */
  abortRequested = false
  /** The transport's synchronous write, if it has one; writes handed to it and not yet done. */
  direct: Direct["write"] | undefined = undefined
  inFlight = 0
  /** Nothing more may be written: the transport was ended or failed. */
  transportClosed = false

  /** Starts the transport's shutdown once the connection has ended; the fiber doing it. */
  onEnd: (() => void) | undefined = undefined
  shutdown: Fiber.RuntimeFiber<void> | undefined = undefined

  /** The message `messages` is assembling: kept here, so that a stream cut short loses nothing. */
  readonly assembler = new Assembler()

  /** The handler of `run`, while one runs: it takes the messages instead of the inbox. */
  runner: Runner | undefined = undefined

  /** Pings waiting for their pong, oldest first: payload (as text) and what to resolve. */
  readonly pings: Array<{ readonly key: string; readonly done: Deferred.Deferred<void, WebSocketError> }> = []

  constructor(
    readonly role: ConnectionType,
    readonly settings: Settings,
    options: WSConnection.WSConnectionOptions,
    ended: Deferred.Deferred<Api.CloseInfo, WebSocketError>,
    opened: Deferred.Deferred<Opened, WebSocketError>
  ) {
    this.conversation = conversation.make(options)
    this.ended = ended
    this.opened = opened
  }

  /** Received pieces not yet pulled; made on first use (`run` needs none). */
  get inbox(): Mailbox.Mailbox<Api.Fragment, WebSocketError> {
    if (this.#inbox === undefined) {
      this.#inbox = Effect.runSync(Mailbox.make<Api.Fragment, WebSocketError>())
      const exit = this.endExit
      if (exit !== undefined) this.#inbox.unsafeDone(Exit.isSuccess(exit) ? Exit.void : Exit.asVoid(exit))
    }
    return this.#inbox
  }

  /** The inbox if anything was ever queued in it. */
  get existingInbox(): Mailbox.Mailbox<Api.Fragment, WebSocketError> | undefined {
    return this.#inbox
  }

  // ---- reading -------------------------------------------------------------------------------

  /** The socket handler: steps the reducer over the chunk; the Effect returned waits for credit. */
  readonly onChunk = (chunk: Uint8Array): Effect.Effect<void> | void => {
    if (this.phase === "closed") return
    // What the step writes (pongs, a close, what `run`'s handler sends) goes out as one write after it.
    this.answered = false
    this.stepping = true
    if (this.connection !== undefined) {
      const step = connection.receive(this.connection, chunk)
      this.connection = step.state
      this.handleEvents(step.events)
      if (step.error?._tag === "RemoteProtocolError") this.onViolation(step.error)
    } else {
      const step = conversation.receive(this.conversation, chunk)
      this.handshakeStep(step)
    }
    this.stepping = false
    if (this.stepped.length > 0) this.writeStepped()
    if (this.queued > this.settings.readHighWaterMark && this.phase === "open") this.pauseReading()
    // Reading waits for the consumer, and for the answers the step wrote (pongs) when the peer
    // does not read them: a peer that floods pings and reads nothing must not pile them up here.
    const stalled = this.answered && this.outboxBytes > this.settings.writeHighWaterMark
    return this.readPaused || stalled ? this.readCredit : undefined
  }

  isClosed(): boolean {
    return this.phase === "closed"
  }

  pauseReading(): void {
    this.readPaused = true
    this.readGate.shut()
  }

  resumeReading(): void {
    this.readPaused = false
    this.readGate.open()
  }

  /** The transport ended (the peer's FIN) or failed. */
  onTransportEnd(exit: Exit.Exit<void, unknown>): void {
    if (this.phase !== "closed") {
      if (Exit.isFailure(exit)) {
        this.finish(error({ reason: "Transport", message: "The transport failed.", cause: Cause.squash(exit.cause) }))
      } else {
        // The end completes a rejection body read until it (RFC 9112 §6.3).
        if (this.connection === undefined) this.handshakeStep(conversation.receive(this.conversation, null))
        // RFC 6455 §7.1.5: the TCP connection closed with no closing handshake.
        this.finish(closedError(ABNORMAL))
      }
    }
    this.transportEnded.open()
  }

  handshakeStep(step: WSConnection.Received): void {
    this.conversation = step.state
    if (step.error?._tag === "RemoteProtocolError" && step.state.connection !== undefined) {
      // The handshake succeeded; the frames right behind it broke the protocol.
      this.connection = step.state.connection
      this.handleEvents(step.events)
      this.onViolation(step.error)
      return
    }
    if (step.error !== undefined) {
      const failure = step.error._tag === "RemoteProtocolError"
        ? protocolError(step.error, "handshake")
        : localError(step.error)
      // A server answers a bad request with the rejection the reducer suggests (400, 426, 431).
      const hint = step.error._tag === "RemoteProtocolError" ? step.error.eventHint : undefined
      if (hint !== undefined && this.role === ConnectionType.SERVER) this.sendHandshake(hint)
      this.finish(failure)
      return
    }
    if (this.conversation.connection !== undefined) this.connection = this.conversation.connection
    this.handleEvents(step.events)
  }

  handleEvents(events: ReadonlyArray<Events.Event>): void {
    for (const event of events) {
      switch (event._tag) {
        case "TextMessage":
        case "BytesMessage":
          if (this.phase === "open") {
            if (this.runner !== undefined) {
              this.runner.piece(event)
            } else {
              this.inbox.unsafeOffer(event)
              this.queued += byteLength(event.data)
            }
          }
          break
        case "Ping":
          // RFC 6455 §5.5.2: answered as soon as possible, also between a message's fragments.
          if (this.connection?.state === ConnectionState.OPEN) {
            this.sendControl(fast.pong(event.payload))
            this.answered = true
          }
          break
        case "Pong":
          this.onPong(event.payload)
          break
        case "CloseConnection":
          this.onClose(event)
          break
        case "Request":
          // The server decides; reading waits until it has.
          this.pauseReading()
          Deferred.unsafeDone(this.opened, Exit.succeed({ _tag: "Request", event }))
          break
        case "AcceptConnection":
          this.phase = "open"
          Deferred.unsafeDone(this.opened, Exit.succeed({ _tag: "Accepted", event }))
          break
        case "RejectConnection":
          this.rejection = { status: event.statusCode, headers: event.headers, body: [], size: 0 }
          if (!event.hasBody) this.rejected()
          break
        case "RejectData":
          if (this.rejection !== undefined) {
            const room = MAX_REJECTION_BODY - this.rejection.size
            if (room > 0) {
              const piece = event.data.subarray(0, room)
              this.rejection.body.push(piece)
              this.rejection.size += piece.length
            }
            if (event.bodyFinished) this.rejected()
          }
          break
      }
    }
  }

  rejected(): void {
    const { body, headers, size, status } = this.rejection!
    const failure = error({
      reason: "HandshakeRejected",
      message: `The server rejected the opening handshake with status ${status}.`,
      status,
      headers,
      body: concat(body, size)
    })
    this.finish(failure)
  }

  /** RFC 6455 §5.5.1: a close received. */
  onClose(event: Events.CloseConnection): void {
    const info = { code: event.code, reason: event.reason }
    if (this.connection?.state === ConnectionState.REMOTE_CLOSING) {
      // The peer started the closing handshake: answer with its code (none if it gave none).
      this.sendControl(fast.closeConnection(event.code, event.reason))
    }
    this.finish(info)
  }

  /** RFC 6455 §7.1.7: fail the connection with the code the violation calls for. */
  onViolation(cause: RemoteProtocolError): void {
    if (this.phase === "open" || this.phase === "closing") {
      // The connection reducer gives every violation the close to answer with.
      this.sendControl(cause.eventHint!)
    }
    this.finish(protocolError(cause, "connection"))
  }

  onPong(payload: Uint8Array): void {
    const key = keyOf(payload)
    const index = this.pings.findIndex((ping) => ping.key === key)
    if (index < 0) return // unsolicited (RFC 6455 §5.5.3)
    // A pong answers its ping and every earlier one.
    for (const ping of this.pings.splice(0, index + 1)) Deferred.unsafeDone(ping.done, Exit.void)
  }

  /** The consumer took pieces of this size: give read credit back below half the high-water mark. */
  taken(size: number): void {
    this.queued -= size
    if (this.readPaused && this.queued <= this.settings.readHighWaterMark / 2 && this.phase !== "connecting") {
      this.resumeReading()
    }
  }

  // ---- writing -------------------------------------------------------------------------------

  enqueue(bytes: ReadonlyArray<Uint8Array>): void {
    if (this.direct !== undefined) return this.writeDirect(bytes)
    for (const chunk of bytes) {
      if (chunk.length === 0) continue
      this.outbox.push(chunk)
      this.outboxBytes += chunk.length
    }
    if (this.outbox.length > 0) {
      this.flushed.shut()
      this.writeWake.open()
      if (this.outboxBytes > this.settings.writeHighWaterMark) this.writeSpace.shut()
    }
  }

  /** Hands the bytes to a transport that writes synchronously; accounts for them until written. */
  writeDirect(bytes: ReadonlyArray<Uint8Array>): void {
    let size = 0
    for (const chunk of bytes) size += chunk.length
    if (size === 0 || this.transportClosed) return
    // Counted at once, also inside a read step, so that `send` there sees the queue it makes.
    this.outboxBytes += size
    this.flushed.shut()
    if (this.outboxBytes > this.settings.writeHighWaterMark) this.writeSpace.shut()
    if (this.stepping) {
      for (const chunk of bytes) this.stepped.push(chunk)
      this.steppedBytes += size
      return
    }
    this.handOver(bytes, size)
  }

  /** Writes what the read step gathered, as one write. */
  writeStepped(): void {
    const size = this.steppedBytes
    this.steppedBytes = 0
    if (this.transportClosed) {
      this.stepped.length = 0
      this.outboxBytes -= size
      if (this.inFlight === 0) this.flushed.open()
      return
    }
    this.handOver(this.stepped.splice(0), size)
  }

  handOver(bytes: ReadonlyArray<Uint8Array>, size: number): void {
    this.inFlight++
    this.direct!(bytes, (cause) => {
      this.outboxBytes -= size
      this.inFlight--
      if (cause) {
        this.transportClosed = true
        this.fail(error({ reason: "Transport", message: "Writing to the transport failed.", cause }), true)
      }
      if (this.outboxBytes <= this.settings.writeHighWaterMark) this.writeSpace.open()
      if (this.inFlight === 0) this.flushed.open()
    })
  }

  /** Takes what the writer writes next: small chunks merged into one. */
  takeBatch(): ReadonlyArray<Uint8Array> | undefined {
    const chunks = this.outbox
    if (chunks.length === 0) {
      this.writeWake.shut()
      return undefined
    }
    this.outbox = []
    if (chunks.length === 1 || this.outboxBytes > MERGE_LIMIT) return chunks
    return [concat(chunks, this.outboxBytes)]
  }

  written(batch: ReadonlyArray<Uint8Array>): void {
    for (const chunk of batch) this.outboxBytes -= chunk.length
    if (this.outboxBytes <= this.settings.writeHighWaterMark) this.writeSpace.open()
    if (this.outbox.length === 0) this.flushed.open()
  }

  sendHandshake(event: Events.Event): LocalProtocolError | undefined {
    const sent = conversation.send(this.conversation, event)
    if (sent.error?._tag === "LocalProtocolError") return sent.error
    this.conversation = sent.state
    this.enqueue(sent.bytes)
    return undefined
  }

  /** Sends an event on the connection: its bytes queued, or why the state or the codec refuse it. */
  sendOnConnection(event: Events.Event): LocalProtocolError | undefined {
    const sent = connection.send(this.connection!, event)
    if (sent.error !== undefined) return sent.error
    this.connection = sent.state
    this.enqueue(sent.bytes)
    return undefined
  }

  /** Sends a control frame the driver itself decided on (a pong, a close); the state allows it. */
  sendControl(event: Events.Event): void {
    this.sendOnConnection(event)
  }

  /** Encodes a message or a piece of one; the error if it cannot be sent. */
  sendData(event: Events.TextMessage | Events.BytesMessage): WebSocketError | undefined {
    if (this.phase !== "open") return this.notOpen()
    const refused = this.sendOnConnection(event)
    return refused === undefined ? undefined : localError(refused)
  }

  notOpen(): WebSocketError {
    const exit = this.endExit
    if (exit === undefined) return closedError({ code: CloseReason.NORMAL_CLOSURE, reason: "closing" })
    return Exit.isSuccess(exit) ? closedError(exit.value) : closedError(ABNORMAL)
  }

  /** RFC 6455 §7.1.2: starts the closing handshake; messages that arrive meanwhile are dropped. */
  startClose(code: number, reason: string): WebSocketError | undefined {
    if (this.phase !== "open") return undefined
    const refused = this.sendOnConnection(fast.closeConnection(code, reason))
    if (refused !== undefined) return localError(refused)
    this.phase = "closing"
    this.resumeReading()
    return undefined
  }

  /** The connection's end, decided once: the peer's close, or the failure. */
  finish(outcome: Api.CloseInfo | WebSocketError): void {
    if (this.endExit !== undefined) return
    const failed = outcome instanceof WebSocketError
    const exit: Exit.Exit<Api.CloseInfo, WebSocketError> = failed ? Exit.fail(outcome) : Exit.succeed(outcome)
    this.endExit = exit
    this.phase = "closed"
    this.#inbox?.unsafeDone(failed ? Exit.fail(outcome) : Exit.void)
    this.resumeReading()
    this.writeSpace.open()
    const pingFailure = Exit.fail(failed ? outcome : closedError(outcome))
    for (const ping of this.pings.splice(0)) Deferred.unsafeDone(ping.done, pingFailure)
    Deferred.unsafeDone(this.ended, exit)
    // A handshake still waited for ends with it (a transport reset mid-handshake).
    Deferred.unsafeDone(this.opened, Exit.fail(failed ? outcome : closedError(outcome)))
    this.runner?.end()
    this.onEnd?.()
  }

  fail(failure: WebSocketError, abort: boolean): void {
    if (abort) this.abortRequested = true
    this.finish(failure)
  }
}

const keyOf = (payload: Uint8Array): string => {
  let key = ""
  for (let i = 0; i < payload.length; i++) key += String.fromCharCode(payload[i]!)
  return key
}

const randomPayload = (): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(4))

/** The writer fiber: drains the outbox, one batch at a time, until the connection ends. */
const writeLoop = (driver: Driver, write: (chunk: Uint8Array) => Effect.Effect<void, Socket.SocketError>) =>
  Effect.gen(function*() {
    while (true) {
      yield* driver.writeWake.await
      const batch = driver.takeBatch()
      if (batch === undefined) continue
      for (const chunk of batch) yield* write(chunk)
      driver.written(batch)
    }
  })

/** A finite duration, or none for "off". */
const finite = (duration: Duration.Duration): Option.Option<Duration.Duration> =>
  Duration.isFinite(duration) ? Option.some(duration) : Option.none()

/** Waits at most `duration` (interruptibly, also inside a finalizer); `None` when it ran out. */
const awaitAtMost = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  duration: Duration.Duration
): Effect.Effect<Option.Option<A>, E, R> =>
  Option.match(finite(duration), {
    onNone: () => Effect.asSome(Effect.interruptible(effect)),
    onSome: (d) => Effect.timeoutOption(Effect.interruptible(effect), d)
  })

/**
 * Starts the conversation's fibers in the scope: the reader and the writer. Gives the Effects that
 * end the transport: `end` (FIN once written) and `abort` (at once).
 */
const start = (driver: Driver, socket: Socket.Socket, scope: Scope.Scope) => {
  const direct = directOf(socket)
  return direct === undefined ? startOver(driver, socket, scope) : Effect.sync(() => startDirect(driver, direct))
}

/** Over a transport's synchronous face: Node's callbacks call the driver; no fiber waits. */
const startDirect = (driver: Driver, direct: Direct): Transport => {
  driver.direct = direct.write
  // What was sent before the transport started (an answer to a request an HTTP server parsed).
  if (driver.outbox.length > 0) {
    const pending = driver.outbox.splice(0)
    for (const chunk of pending) driver.outboxBytes -= chunk.length
    driver.writeDirect(pending)
  }
  direct.read(driver.onChunk, (cause) => driver.onTransportEnd(cause === undefined ? Exit.void : Exit.fail(cause)))
  return {
    abort: Effect.sync(direct.destroy),
    end: Effect.sync(() => {
      driver.transportClosed = true
      direct.end()
    })
  }
}

/** Over any `Socket.Socket`: a reader fiber in its `run`, a writer fiber on its `writer`. */
const startOver = (driver: Driver, socket: Socket.Socket, scope: Scope.Scope) =>
  Effect.gen(function*() {
    const reader = yield* socket.run(driver.onChunk).pipe(
      Effect.exit,
      Effect.flatMap((exit) => Effect.sync(() => driver.onTransportEnd(exit))),
      Effect.forkIn(scope)
    )
    const writerScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    const write = yield* Scope.extend(socket.writer, writerScope)
    const writer = yield* writeLoop(driver, write).pipe(
      Effect.catchAll((cause) =>
        Effect.sync(() => {
          driver.flushed.open()
          driver.fail(error({ reason: "Transport", message: "Writing to the transport failed.", cause }), true)
        })
      ),
      Effect.forkIn(scope)
    )
    const transport: Transport = {
      abort: Effect.gen(function*() {
        if (!driver.transportEnded.isOpen) {
          yield* Effect.ignore(Effect.timeout(write(new Socket.CloseEvent(CloseReason.NORMAL_CLOSURE)), "1 second"))
        }
        yield* Fiber.interrupt(writer)
        yield* Fiber.interrupt(reader)
      }),
      end: Effect.gen(function*() {
        driver.transportClosed = true
        yield* Fiber.interrupt(writer)
        yield* Scope.close(writerScope, Exit.void)
      })
    }
    return transport
  })

/** How the driver ends a transport: `end` (FIN once written) and `abort` (at once). */
interface Transport {
  readonly abort: Effect.Effect<void>
  readonly end: Effect.Effect<void>
}

/**
 * What follows the end: the transport is shut down as RFC 6455 §7.1.1 asks. Once the close frames
 * are written, a server ends TCP and waits for the client's FIN; a client waits for the server's
 * FIN. Either is cut off after the close timeout; after a timeout or a keepalive failure at once.
 */
const shutdown = (driver: Driver, transport: Transport) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Deferred.await(driver.ended))
    const timeout = driver.settings.closeTimeout
    if (!driver.abortRequested) {
      const flushed = yield* awaitAtMost(driver.flushed.await, timeout)
      const serverFirst = driver.role === ConnectionType.SERVER || Exit.isFailure(exit)
      if (Option.isSome(flushed)) {
        if (serverFirst) yield* transport.end
        const finished = yield* awaitAtMost(driver.transportEnded.await, timeout)
        if (Option.isSome(finished)) {
          if (!serverFirst) yield* transport.end
          return
        }
      }
    }
    yield* transport.abort
  })

/** The keepalive fiber (RFC 6455 §5.5.2 pings; 1011 when one goes unanswered, as `websockets`). */
const keepalive = (driver: Driver) =>
  Option.match(finite(driver.settings.pingInterval), {
    onNone: () => Effect.void,
    onSome: (interval) =>
      Effect.gen(function*() {
        while (driver.phase === "open") {
          yield* Effect.sleep(interval)
          if (driver.phase !== "open") return
          const answered = yield* awaitAtMost(ping(driver, randomPayload()), driver.settings.pongTimeout).pipe(
            Effect.either
          )
          if (Either.isLeft(answered)) return
          if (Option.isNone(answered.right) && driver.phase === "open") {
            driver.sendControl(fast.closeConnection(CloseReason.INTERNAL_ERROR, "keepalive ping timeout"))
            driver.fail(timeoutError("PongTimeout", driver.settings.pongTimeout), false)
          }
        }
      })
  })

const ping = (driver: Driver, payload: Uint8Array): Effect.Effect<Duration.Duration, WebSocketError> =>
  Effect.suspend(() => {
    if (driver.phase !== "open") return Effect.fail(driver.notOpen())
    if (payload.length > 125) {
      return Effect.fail(
        error({ reason: "LocalError", message: "A ping's payload is at most 125 bytes (RFC 6455 §5.5)." })
      )
    }
    const done = Deferred.unsafeMake<void, WebSocketError>(FiberId.none)
    const waiting = { key: keyOf(payload), done }
    driver.pings.push(waiting)
    driver.sendControl(fast.ping(payload))
    const started = performance.now()
    return Effect.map(Deferred.await(done), () => Duration.millis(performance.now() - started)).pipe(
      // A ping given up on (a timeout around it) waits for no pong.
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          const index = driver.pings.indexOf(waiting)
          if (index >= 0) driver.pings.splice(index, 1)
        })
      )
    )
  })

/** The close of a scope: a handshake that is still open is closed with `code` (1000 or 1001). */
const closeOnExit = (driver: Driver, code: number) =>
  Effect.gen(function*() {
    if (driver.phase === "open") driver.startClose(code, "")
    if (driver.phase === "closing") {
      const answered = yield* awaitAtMost(Deferred.await(driver.ended), driver.settings.closeTimeout).pipe(Effect.exit)
      if (Exit.isSuccess(answered) && Option.isNone(answered.value)) {
        driver.fail(timeoutError("CloseTimeout", driver.settings.closeTimeout), true)
      }
    }
    if (driver.phase !== "closed") driver.fail(closedError(ABNORMAL), true)
    if (driver.shutdown !== undefined) yield* Fiber.await(driver.shutdown)
  })

/** Joins the pieces of messages into whole messages (RFC 6455 §5.4: a message's fragments in order). */
class Assembler {
  pieces: Array<Api.Fragment> = []

  /** The message this piece completes, if any. */
  add(piece: Api.Fragment): Api.Message | undefined {
    if (!piece.messageFinished) {
      this.pieces.push(piece)
      return undefined
    }
    if (this.pieces.length === 0) return piece.data
    this.pieces.push(piece)
    const pieces = this.pieces
    this.pieces = []
    if (pieces[0]!._tag === "TextMessage") return pieces.map((each) => each.data as string).join("")
    const chunks = pieces.map((each) => each.data as Uint8Array)
    return join(chunks)
  }
}

const messagesOf = (driver: Driver): Stream.Stream<Api.Message, WebSocketError> =>
  // Built when pulled: the inbox is made only for a connection that is read this way.
  Stream.suspend(() => pull(driver, (piece) => driver.assembler.add(piece)))

/**
 * An Effect whose work can be done in the read step itself: `run` calls `step` (which gives what
 * is left to do, `Effect.void` or a failure, both run without a fiber) instead of starting a
 * fiber for the whole Effect. `send` is one, so that an echo or a relay handler costs no fiber.
 */
const StepTypeId: unique symbol = Symbol.for("effect-wsproto/WebSocket/step")

const inStep = <E>(step: () => Effect.Effect<void, E>): Effect.Effect<void, E> =>
  Object.assign(Effect.suspend(step), { [StepTypeId]: step })

const stepOf = (effect: Effect.Effect<unknown, unknown>): (() => Effect.Effect<unknown, unknown>) | undefined =>
  (effect as { readonly [StepTypeId]?: () => Effect.Effect<unknown, unknown> })[StepTypeId]

/**
 * `run`'s handler, called in the socket's read step for each message. An Effect it returns runs
 * at once, synchronously as far as it goes (a `send` under the high-water mark never leaves the
 * step); one that suspends pauses reading until it is done, and the messages behind it wait.
 */
class Runner {
  /** Messages that came while a handler's Effect was suspended. */
  readonly backlog: Array<Api.Message> = []
  busy: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  ended = false
  /** `run` has ended: the handler is called no more. */
  stopped = false

  constructor(
    readonly driver: Driver,
    readonly handler: (message: Api.Message) => Effect.Effect<unknown, unknown, never> | void,
    readonly runSync: (effect: Effect.Effect<unknown, unknown, never>) => Exit.Exit<unknown, unknown>,
    readonly done: (exit: Exit.Exit<void, unknown>) => void
  ) {}

  piece(piece: Api.Fragment): void {
    const message = this.driver.assembler.add(piece)
    if (message !== undefined) this.deliver(message)
  }

  deliver(message: Api.Message): void {
    if (this.stopped) return
    if (this.busy !== undefined) {
      // Read on meanwhile, up to the read high-water mark (the read step pauses beyond it).
      this.backlog.push(message)
      this.driver.queued += byteLength(message)
      return
    }
    const effect = this.handler(message)
    if (effect === undefined) return
    const exit = this.runSync(stepOf(effect)?.() ?? effect)
    if (Exit.isSuccess(exit)) return
    const defect = Cause.dieOption(exit.cause)
    if (Option.isSome(defect) && Runtime.isAsyncFiberException(defect.value)) {
      const fiber = defect.value.fiber as Fiber.RuntimeFiber<unknown, unknown>
      this.busy = fiber
      fiber.addObserver((result) => {
        this.busy = undefined
        if (Exit.isFailure(result)) return this.stop(result)
        while (this.busy === undefined && this.backlog.length > 0) {
          const next = this.backlog.shift()!
          this.driver.queued -= byteLength(next)
          this.deliver(next)
        }
        if (this.busy === undefined) this.idle()
      })
      return
    }
    this.stop(exit)
  }

  /** No handler running and nothing waiting: read on, or end if the connection has. */
  idle(): void {
    if (this.ended) return this.complete()
    if (this.driver.phase !== "connecting") this.driver.resumeReading()
  }

  /** The connection ended: once the messages before the end are handled, so does `run`. */
  end(): void {
    this.ended = true
    if (this.busy === undefined) this.complete()
  }

  complete(): void {
    const exit = this.driver.endExit
    this.finish(exit === undefined || Exit.isSuccess(exit) ? Exit.void : Exit.asVoid(exit))
  }

  /** `run` ends: the handler is no longer the connection's. */
  finish(exit: Exit.Exit<void, unknown>): void {
    if (this.release()) this.done(exit)
  }

  /** `run` was interrupted: its suspended handler Effect is, too. */
  interrupt(): void {
    if (this.release()) this.busy?.unsafeInterruptAsFork(FiberId.none)
  }

  /**
   * Unregisters the handler, once (false if it already was). The messages it did not handle go
   * back to the inbox, in order, for whoever reads next (a message half received stays in the
   * driver's assembler).
   */
  release(): boolean {
    if (this.stopped) return false
    this.stopped = true
    const driver = this.driver
    if (driver.runner === this) driver.runner = undefined
    if (this.backlog.length > 0) {
      const inbox = driver.inbox
      // The backlog is counted in `queued` already.
      for (const message of this.backlog.splice(0)) {
        inbox.unsafeOffer(
          typeof message === "string" ? fast.textMessage(message, true, true) : fast.bytesMessage(message, true, true)
        )
      }
    }
    return true
  }

  /** The handler failed: it is called no more, also for the rest of this read step. */
  stop(exit: Exit.Exit<unknown, unknown>): void {
    this.finish(Exit.asVoid(exit))
  }
}

/** `run`: the handler takes every message, those already queued first, until the connection ends. */
const runHandler = <E, R>(
  driver: Driver,
  handler: (message: Api.Message) => Effect.Effect<unknown, E, R> | void
): Effect.Effect<void, WebSocketError | E, R> =>
  Effect.suspend(() => {
    if (driver.runner !== undefined) return Effect.dieMessage("WebSocket.run is already running")
    return runOnce(driver, handler)
  })

const runOnce = <E, R>(
  driver: Driver,
  handler: (message: Api.Message) => Effect.Effect<unknown, E, R> | void
): Effect.Effect<void, WebSocketError | E, R> =>
  Effect.flatMap(lazyRuntime<R>(), (runtime) =>
    Effect.async<void, WebSocketError | E>((resume) => {
      const runner = new Runner(
        driver,
        handler as (message: Api.Message) => Effect.Effect<unknown, unknown, never> | void,
        (effect) => Runtime.runSyncExit(runtime() as Runtime.Runtime<never>, effect),
        (exit) => resume(exit as Exit.Exit<void, WebSocketError | E>)
      )
      driver.runner = runner
      // What was queued before `run`, first.
      const inbox = driver.existingInbox
      const queued = inbox === undefined
        ? Either.right(Chunk.empty<Api.Fragment>())
        : Effect.runSync(Effect.either(inbox.clear))
      if (Either.isRight(queued)) {
        for (const piece of queued.right) {
          driver.taken(byteLength(piece.data))
          runner.piece(piece)
        }
      }
      if (driver.endExit !== undefined) runner.end()
      return Effect.sync(() => runner.interrupt())
    }))

/**
 * The inbox as a stream, one piece per pull, so that a stream cut short (`Stream.take`,
 * `Stream.runHead`) leaves what it did not emit for the next reader; each piece taken gives its
 * read credit back. `f` gives what a piece completes, if anything.
 */
const pull = <A>(driver: Driver, f: (piece: Api.Fragment) => A | undefined): Stream.Stream<A, WebSocketError> => {
  const loop: Channel.Channel<Chunk.Chunk<A>, unknown, WebSocketError> = Channel.flatMap(
    // The inbox's end is the stream's; its failure, the stream's failure.
    driver.inbox.take.pipe(
      Effect.asSome,
      Effect.catchIf(Cause.isNoSuchElementException, () => Effect.succeed(Option.none<Api.Fragment>()))
    ),
    Option.match({
      onNone: () => Channel.void,
      onSome: (piece) => {
        driver.taken(byteLength(piece.data))
        const out = f(piece)
        return out === undefined ? loop : Channel.zipRight(Channel.write(Chunk.of(out)), loop)
      }
    })
  )
  return Stream.fromChannel(loop)
}

const fragmentsOf = (driver: Driver): Stream.Stream<Api.Fragment, WebSocketError> => pull(driver, identity)

/** The open connection's face. */
const webSocket = (
  driver: Driver,
  opened: { readonly request?: Events.Request; readonly response?: Events.AcceptConnection }
): Api.WebSocket => {
  const waitSpace = Effect.suspend(() =>
    driver.endExit !== undefined && Exit.isFailure(driver.endExit) ? Effect.asVoid(driver.endExit) : Effect.void
  )
  const afterSend = (failure: WebSocketError | undefined): Effect.Effect<void, WebSocketError> =>
    failure !== undefined
      ? Effect.fail(failure)
      : driver.outboxBytes > driver.settings.writeHighWaterMark
      ? Effect.zipRight(driver.writeSpace.await, waitSpace)
      : Effect.void
  const sendFragment = (data: Api.Message, messageFinished: boolean) =>
    inStep(() =>
      afterSend(driver.sendData(
        typeof data === "string"
          ? fast.textMessage(data, true, messageFinished)
          : fast.bytesMessage(data, true, messageFinished)
      ))
    )
  const send = (data: Api.Message) => sendFragment(data, true)
  const opening = driver.conversation.handshake
  return {
    messages: messagesOf(driver),
    fragments: Stream.suspend(() => fragmentsOf(driver)),
    send,
    sendFragment,
    run: (handler) => runHandler(driver, handler),
    bufferedAmount: Effect.sync(() => driver.outboxBytes),
    get sink() {
      return Sink.forEach(send)
    },
    ping: (payload = randomPayload()) => ping(driver, payload),
    close: (code = CloseReason.NORMAL_CLOSURE, reason = "") =>
      Effect.suspend(() => {
        const failure = driver.startClose(code, reason)
        if (failure !== undefined) return Effect.fail(failure)
        return Effect.flatMap(
          awaitAtMost(Deferred.await(driver.ended), driver.settings.closeTimeout),
          Option.match({
            onSome: Effect.succeed,
            onNone: () => {
              const failure = timeoutError("CloseTimeout", driver.settings.closeTimeout)
              driver.fail(failure, true)
              return Deferred.await(driver.ended)
            }
          })
        )
      }),
    closed: Deferred.await(driver.ended),
    protocol: handshake.subprotocol(opening),
    extensions: handshake.extensions(opening),
    request: opened.request,
    response: opened.response
  }
}

const makeDriver = (role: ConnectionType, options: Options) =>
  Effect.gen(function*() {
    const ended = yield* Deferred.make<Api.CloseInfo, WebSocketError>()
    const opened = yield* Deferred.make<Opened, WebSocketError>()
    return new Driver(role, settingsOf(options), reducerOptions(options, role), ended, opened)
  })

/** The running parts of a conversation: its fibers and the finalizer that closes it. */
const run = (driver: Driver, socket: Socket.Socket, closeCode: number) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const transport = yield* start(driver, socket, scope)
    // The shutdown starts when the connection ends: no fiber waits for it meanwhile.
    const runtime = yield* lazyRuntime<never>()
    driver.onEnd = () => {
      driver.shutdown = Runtime.runFork(runtime())(shutdown(driver, transport))
    }
    if (driver.endExit !== undefined) driver.onEnd()
    yield* Scope.addFinalizer(scope, closeOnExit(driver, closeCode))
  })

/** `effect` within the handshake timeout; when it runs out, the connection is cut off. */
const withinHandshake = <A, E, R>(driver: Driver, effect: Effect.Effect<A, E, R>) =>
  awaitAtMost(effect, driver.settings.handshakeTimeout).pipe(
    Effect.flatMap(Option.match({
      onSome: (value) => Effect.succeed(value),
      onNone: () => {
        const failure = timeoutError("HandshakeTimeout", driver.settings.handshakeTimeout)
        driver.fail(failure, true)
        return Effect.fail(failure)
      }
    }))
  )

/** Waits for the handshake's outcome within the handshake timeout. */
const awaitOpened = (driver: Driver) => withinHandshake(driver, Deferred.await(driver.opened))

const openConnection = (driver: Driver, opened: { request?: Events.Request; response?: Events.AcceptConnection }) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    yield* Effect.forkIn(keepalive(driver), scope)
    return webSocket(driver, opened)
  })

/** @internal */
export const makeClient = (
  socket: Socket.Socket,
  request: Events.Request,
  options: Options = {}
): Effect.Effect<Api.WebSocket, WebSocketError, Scope.Scope> =>
  Effect.gen(function*() {
    const driver = yield* makeDriver(ConnectionType.CLIENT, options)
    yield* run(driver, socket, CloseReason.NORMAL_CLOSURE)
    const refused = driver.sendHandshake(request)
    if (refused !== undefined) return yield* Effect.fail(localError(refused))
    const opened = yield* awaitOpened(driver)
    if (opened._tag !== "Accepted") return yield* Effect.dieMessage("a client received a request")
    return yield* openConnection(driver, { response: opened.event })
  })

/**
 * How a server answers a request: accept (with a subprotocol, extensions and headers) or reject
 * (status, headers, body).
 *
 * @internal
 */
export type Decision =
  | {
    readonly _tag: "Accept"
    readonly subprotocol?: string | undefined
    readonly extensions?: ReadonlyArray<Extension>
    readonly headers?: Events.Headers
  }
  | {
    readonly _tag: "Reject"
    readonly status: number
    readonly headers?: Events.Headers
    readonly body?: Uint8Array
  }

/** How the server's handshake begins: bytes on a fresh socket, or a request an HTTP server parsed. */
export type Upgrade = { readonly headers: Events.Headers; readonly target: string } | undefined

/**
 * The server side: reads the request, asks `decide`, answers; gives the open connection, or
 * `None` when the request was rejected (the rejection is sent and the transport closed).
 *
 * @internal
 */
export const acceptServer = <E, R>(
  socket: Socket.Socket,
  decide: (request: Events.Request) => Effect.Effect<Decision, E, R>,
  options: Options = {},
  upgrade: Upgrade = undefined
): Effect.Effect<Option.Option<Api.WebSocket>, WebSocketError | E, R | Scope.Scope> =>
  Effect.gen(function*() {
    const driver = yield* makeDriver(ConnectionType.SERVER, options)
    if (upgrade !== undefined) {
      const received = conversation.initiateUpgradeConnection(driver.conversation, upgrade.headers, upgrade.target)
      if (received.error?._tag === "LocalProtocolError") return yield* Effect.fail(localError(received.error))
      driver.handshakeStep(received)
    }
    yield* run(driver, socket, CloseReason.GOING_AWAY)
    const handshake = Effect.gen(function*() {
      const opened = yield* Deferred.await(driver.opened)
      if (opened._tag !== "Request") return yield* Effect.dieMessage("a server received an acceptance")
      const decision = yield* decide(opened.event)
      return [opened.event, decision] as const
    })
    const [request, decision] = yield* withinHandshake(driver, handshake)
    // The client may have gone while the server was deciding.
    if (driver.endExit !== undefined && Exit.isFailure(driver.endExit)) {
      return yield* Effect.asVoid(driver.endExit).pipe(Effect.as(Option.none()))
    }
    if (decision._tag === "Reject") {
      const body = decision.body ?? EMPTY
      const headers = decision.headers ?? []
      const refused = driver.sendHandshake(
        new RejectConnection({ statusCode: decision.status, headers, hasBody: body.length > 0 })
      ) ?? (body.length > 0 ? driver.sendHandshake(new RejectData({ data: body, bodyFinished: true })) : undefined)
      driver.finish(
        refused !== undefined
          ? localError(refused)
          : error({
            reason: "HandshakeRejected",
            message: `Rejected with ${decision.status}.`,
            status: decision.status,
            headers,
            body
          })
      )
      return Option.none()
    }
    const accepted = conversation.send(
      driver.conversation,
      new AcceptConnection({
        ...(decision.subprotocol === undefined ? {} : { subprotocol: decision.subprotocol }),
        extensions: decision.extensions ?? [],
        extraHeaders: decision.headers ?? []
      })
    )
    if (accepted.error?._tag === "LocalProtocolError") {
      const failure = localError(accepted.error)
      driver.sendHandshake(new RejectConnection({ statusCode: 500 }))
      driver.finish(failure)
      return yield* Effect.fail(failure)
    }
    driver.phase = "open"
    driver.conversation = accepted.state
    driver.connection = accepted.state.connection
    driver.enqueue(accepted.bytes)
    // Frames the client sent before it saw the 101.
    driver.handleEvents(accepted.events)
    if (accepted.error !== undefined) driver.onViolation(accepted.error)
    if (!driver.isClosed()) driver.resumeReading()
    return Option.some(yield* openConnection(driver, { request }))
  })
