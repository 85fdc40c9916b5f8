/**
 * `npm run echo-client -- URL`: connects, echoes every text and binary message as it came until the
 * server closes, and exits 0; a connection that could not be opened exits 1. A conformance peer:
 * it offers `permessage-deflate; client_max_window_bits`, sends no keepalive pings, takes messages
 * and frames up to 64 MiB, and fails the connection with the right code on any protocol error
 * (that, too, ends with 0: the client did its part). It prints how the connection ended.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as WebSocketClient from "../src/WebSocketClient.js"
import { WebSocketError } from "../src/WebSocketError.js"
import { conformance, echo } from "./echo-server.js"

/** Echoes until the server ends the connection; gives how it ended. */
export const echoClient = (url: string) =>
  Effect.gen(function*() {
    const ws = yield* WebSocketClient.connect(url, conformance)
    yield* Effect.ignore(echo(ws))
    return yield* ws.closed.pipe(
      Effect.map(({ code, reason }) => `closed ${code}${reason === "" ? "" : ` ${reason}`}`),
      Effect.catchAll((failure) => Effect.succeed(`ended: ${failure.message}`))
    )
  }).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.argv[2]
  if (url === undefined) {
    console.error("usage: npm run echo-client -- ws://host:port/path")
    process.exit(2)
  }
  NodeRuntime.runMain(
    echoClient(url).pipe(
      Effect.flatMap(Console.log),
      Effect.catchIf(
        (failure) => failure instanceof WebSocketError,
        (failure) =>
          Effect.flatMap(Console.error(`could not connect: ${failure.message}`), () =>
            Effect.sync(() => {
              process.exitCode = 1
            }))
      )
    )
  )
}
