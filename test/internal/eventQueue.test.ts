/**
 * The iterator the wsproto-style classes' `events()` return behaves as a generator that drains the
 * queue would: in order, live, done for good once it finds the queue empty, and an abandoned one
 * leaves the rest queued.
 */
import { describe, expect, it } from "vitest"
import { EventQueue } from "../../src/internal/eventQueue.js"
import { textMessage } from "../../src/internal/events.js"

const a = textMessage("a", true, true)
const b = textMessage("b", true, true)
const c = textMessage("c", true, true)

describe("EventQueue.drain", () => {
  it("yields what is queued, in order, then is done for good", () => {
    const queue = new EventQueue()
    queue.push([a, b])
    const events = queue.drain()
    expect([...events]).toEqual([a, b])
    queue.push([c])
    expect(events.next()).toEqual({ done: true, value: undefined })
    expect([...queue.drain()]).toEqual([c])
  })

  it("reads the queue when next() is called: what is pushed before then comes out", () => {
    const queue = new EventQueue()
    const events = queue.drain()
    queue.push([a])
    expect(events.next()).toEqual({ done: false, value: a })
    queue.push([b])
    expect(events.next()).toEqual({ done: false, value: b })
    expect(events.next().done).toBe(true)
  })

  it("an iterator left early (break, return) leaves the rest queued", () => {
    const queue = new EventQueue()
    queue.push([a, b, c])
    for (const event of queue.drain()) {
      expect(event).toBe(a)
      break
    }
    const events = queue.drain()
    expect(events.next().value).toBe(b)
    expect(events.return()).toEqual({ done: true, value: undefined })
    expect(events.next().done).toBe(true)
    expect([...queue.drain()]).toEqual([c])
  })

  it("throw() ends it and rethrows, as a generator that has not started does", () => {
    const queue = new EventQueue()
    queue.push([a])
    const events = queue.drain()
    const error = new Error("stop")
    expect(() => events.throw(error)).toThrow(error)
    expect(events.next().done).toBe(true)
    expect([...queue.drain()]).toEqual([a])
  })

  it("is its own iterable, on the iterator prototype", () => {
    const events = new EventQueue().drain()
    expect(events[Symbol.iterator]()).toBe(events)
    const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()))
    expect(Object.getPrototypeOf(Object.getPrototypeOf(events))).toBe(IteratorPrototype)
  })
})
