/**
 * A gate that fibers wait at while it is shut: Effect's `Latch` without the Effects each `Latch`
 * builds for itself, because every connection holds four of them and memory per idle connection
 * counts (see the README). Its methods are synchronous, for the driver's read and write steps.
 */
import * as Effect from "effect/Effect"

/** @internal */
export class Gate {
  #open: boolean
  #waiters: Array<(effect: Effect.Effect<void>) => void> = []

  constructor(open: boolean) {
    this.#open = open
  }

  get isOpen(): boolean {
    return this.#open
  }

  open(): void {
    if (this.#open) return
    this.#open = true
    const waiters = this.#waiters
    if (waiters.length === 0) return
    this.#waiters = []
    for (const resume of waiters) resume(Effect.void)
  }

  shut(): void {
    this.#open = false
  }

  /** Waits until the gate is open (at once if it is when the Effect runs). */
  get await(): Effect.Effect<void> {
    return this.#open ? Effect.void : Effect.async<void>((resume) => {
      if (this.#open) return resume(Effect.void)
      this.#waiters.push(resume)
      return Effect.sync(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== resume)
      })
    })
  }
}
