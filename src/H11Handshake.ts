/**
 * wsproto's `H11Handshake` class, over the `Handshake` reducer.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import { Connection } from "./Connection.js"
import { ConnectionState, ConnectionType, stateName } from "./ConnectionState.js"
import type * as Events from "./Events.js"
import * as Handshake from "./Handshake.js"
import { EventQueue } from "./internal/eventQueue.js"

/**
 * wsproto's `H11Handshake`: a holder of the reducer's state with wsproto's methods. `send` and
 * `initiateUpgradeConnection` throw `LocalProtocolError`, `receiveData` throws
 * `RemoteProtocolError`; events queue until `events()` drains them.
 *
 * @since 0.1.0
 * @category classes
 */
export class H11Handshake {
  #state: Handshake.HandshakeState
  readonly #pending = new EventQueue()
  #connection: Connection | undefined

  constructor(connectionType: ConnectionType, options: Omit<Handshake.HandshakeOptions, "connectionType"> = {}) {
    this.#state = Handshake.make({ ...options, connectionType })
  }

  /** The current state: CONNECTING, OPEN, REJECTING or CLOSED. */
  get state(): ConnectionState {
    return this.#state.state
  }

  /**
   * The connection the handshake opened, with the agreed extensions and the bytes that followed
   * the handshake; `undefined` until the state is OPEN.
   */
  get connection(): Connection | undefined {
    if (this.#connection === undefined && this.#state.state === ConnectionState.OPEN) {
      this.#connection = new Connection(this.#state.config.connectionType, this.#state.extensions, this.#state.trailing)
    }
    return this.#connection
  }

  send(event: Events.Event): Uint8Array {
    const result = Handshake.send(this.#state, event)
    if (Either.isLeft(result)) throw result.left
    this.#state = result.right.state
    return result.right.bytes
  }

  receiveData(data: Uint8Array | null): void {
    this.#apply(Handshake.receive(this.#state, data))
  }

  initiateUpgradeConnection(headers: Events.Headers, path: string): void {
    const result = Handshake.initiateUpgradeConnection(this.#state, headers, path)
    if (Either.isLeft(result)) throw result.left
    this.#apply(result.right)
  }

  events(): Generator<Events.Event, void, undefined> {
    return this.#pending.drain()
  }

  toString(): string {
    return `H11Handshake(client=${this.#state.config.connectionType === ConnectionType.CLIENT}, state=${
      stateName(this.#state.state)
    })`
  }

  #apply(received: Handshake.Received): void {
    if (received.error !== undefined) throw received.error
    this.#state = received.state
    this.#pending.push(received.events)
  }
}

