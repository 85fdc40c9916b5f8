/**
 * The events a wsproto-style class holds until `events()` takes them: a queue that a generator
 * drains in order, keeping what an abandoned generator did not take.
 */
import type * as Events from "../Events.js"

/** @internal */
export class EventQueue {
  #items: Array<Events.Event> = []
  #head = 0

  push(events: ReadonlyArray<Events.Event>): void {
    for (const event of events) this.#items.push(event)
  }

  *drain(): Generator<Events.Event, void, undefined> {
    while (this.#head < this.#items.length) {
      const event = this.#items[this.#head++]!
      if (this.#head === this.#items.length) {
        this.#items = []
        this.#head = 0
      }
      yield event
    }
  }
}
