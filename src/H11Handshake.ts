/**
 * wsproto's `H11Handshake` class, over the `Handshake` reducer.
 *
 * @since 0.1.0
 */
import { Connection } from "./Connection.js"
import { ConnectionState, ConnectionType, stateName } from "./ConnectionState.js"
import type * as Events from "./Events.js"
import * as Handshake from "./Handshake.js"
import { concat } from "./internal/bytes.js"
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
    return Handshake.state(this.#state)
  }

  /**
   * The connection the handshake opened, with the agreed extensions and the bytes that followed
   * the handshake; `undefined` until the state is OPEN.
   */
  get connection(): Connection | undefined {
    const s = this.#state
    if (this.#connection === undefined && Handshake.state(s) === ConnectionState.OPEN) {
      this.#connection = new Connection(Handshake.connectionType(s), Handshake.extensions(s), Handshake.trailingData(s))
    }
    return this.#connection
  }

  send(event: Events.Event): Uint8Array {
    const sent = Handshake.send(this.#state, event)
    if (sent.error !== undefined) throw sent.error
    this.#state = sent.state
    return concat(sent.bytes, sent.bytes.reduce((length, chunk) => length + chunk.length, 0))
  }

  receiveData(data: Uint8Array | null): void {
    this.#apply(Handshake.receive(this.#state, data))
  }

  initiateUpgradeConnection(headers: Events.Headers, path: string): void {
    this.#apply(Handshake.initiateUpgradeConnection(this.#state, headers, path))
  }

  events(): Generator<Events.Event, void, undefined> {
    return this.#pending.drain()
  }

  toString(): string {
    return `H11Handshake(client=${Handshake.connectionType(this.#state) === ConnectionType.CLIENT}, state=${
      stateName(Handshake.state(this.#state))
    })`
  }

  #apply(step: Handshake.Step<unknown>): void {
    if (step.error !== undefined) throw step.error
    this.#state = step.state
    this.#pending.push(step.events)
  }
}
