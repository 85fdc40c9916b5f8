/**
 * The calling fiber's runtime, made only when it is first needed. `Effect.runtime` snapshots the
 * fiber's FiberRefs at once; a connection that keeps one for a handler it may never run pays for
 * the snapshot while it sits idle (see memory per connection in the README).
 */
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"

/** @internal */
export const lazyRuntime = <R>(): Effect.Effect<() => Runtime.Runtime<R>, never, R> =>
  Effect.withFiberRuntime((fiber, status) => {
    let runtime: Runtime.Runtime<R> | undefined
    return Effect.succeed(() =>
      runtime ??= Runtime.make({
        context: fiber.currentContext as never,
        fiberRefs: fiber.getFiberRefs(),
        runtimeFlags: status.runtimeFlags
      })
    )
  })
