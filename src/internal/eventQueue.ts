/**
 * The events a wsproto-style class holds until `events()` takes them: a queue that an iterator
 * drains in order, keeping what an abandoned iterator did not take.
 *
 * The iterator behaves as the generator `function*() { while (queued) yield next }` would: it
 * yields what is queued when each `next()` is called, and once it finds the queue empty it is done
 * for good. It is a small object on the iterator prototype (so iterator helpers work where the
 * runtime has them) rather than a generator, which costs several times more to create and step,
 * once per read in a class's `receiveData` / `events()` loop.
 */
import type * as Connection from "../Connection.js"
import type * as Events from "../Events.js"

const IteratorPrototype: object = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()))

const DONE: IteratorResult<Events.Event, void> = Object.freeze({ done: true, value: undefined })

class Drain implements Generator<Events.Event, void, undefined> {
  #queue: EventQueue | undefined

  constructor(queue: EventQueue) {
    this.#queue = queue
  }

  next(): IteratorResult<Events.Event, void> {
    const event = this.#queue?.take()
    if (event !== undefined) return { done: false, value: event }
    this.#queue = undefined
    return DONE
  }

  return(): IteratorResult<Events.Event, void> {
    this.#queue = undefined
    return DONE
  }

  throw(error: unknown): IteratorResult<Events.Event, void> {
    this.#queue = undefined
    throw error
  }

  [Symbol.iterator](): this {
    return this
  }
}

Object.setPrototypeOf(Drain.prototype, IteratorPrototype)

/** @internal */
export class EventQueue {
  #items: Array<Events.Event> = []
  #head = 0

  push(events: ReadonlyArray<Events.Event>): void {
    for (const event of events) this.#items.push(event)
  }

  /** The oldest event, removed; `undefined` when the queue is empty. */
  take(): Events.Event | undefined {
    if (this.#head === this.#items.length) return undefined
    const event = this.#items[this.#head++]!
    if (this.#head === this.#items.length) {
      this.#items = []
      this.#head = 0
    }
    return event
  }

  /**
   * Takes a step's events as the wsproto-style classes report a step: a local error or a failed
   * handshake is thrown; a frame-level violation, as in wsproto, is an event: the
   * `CloseConnection` to answer with, queued once (the connection then receives nothing more).
   */
  report(step: Connection.Received<unknown>, handshakeFailed: boolean): void {
    const error = step.error
    if (error !== undefined && (error._tag === "LocalProtocolError" || handshakeFailed)) throw error
    this.push(step.events)
    if (error !== undefined && !step.repeated) this.push([error.eventHint!])
  }

  drain(): Generator<Events.Event, void, undefined> {
    return new Drain(this)
  }
}
