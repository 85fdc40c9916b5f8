/**
 * The seed's examples, run for real over 127.0.0.1: every client against every server.
 */
import { afterEach, describe, expect, it } from "vitest"
import { runClient } from "../examples/client.js"
import { runEffectClient } from "../examples/effect-client.js"
import { startEffectServer } from "../examples/effect-server.js"
import type { RunningServer } from "../examples/listen.js"
import { startServer } from "../examples/server.js"
import { walkThrough } from "../examples/states.js"

const servers = { "class server": startServer, "Effect server": startEffectServer }
const clients = { "class client": runClient, "Effect client": runEffectClient }

describe("examples", () => {
  let running: RunningServer | undefined
  afterEach(async () => {
    await running?.close()
    running = undefined
  })

  for (const [serverName, start] of Object.entries(servers)) {
    for (const [clientName, run] of Object.entries(clients)) {
      it(`the ${clientName} talks with the ${serverName}: handshake, echo, closing handshake`, async () => {
        const log: Array<string> = []
        running = await start(0, (line) => log.push(line))
        const lines = await run(running.port, "Hello WebSocket! ünïcødé 😀")
        expect(lines).toEqual([
          "Connected!",
          "Received: Echo: Hello WebSocket! ünïcødé 😀",
          "Closed: 1000 Done"
        ])
        expect(log).toEqual(["WebSocket request for /", "Received: Hello WebSocket! ünïcødé 😀", "Connection closing"])
      })
    }
  }

  it("the state walk-through goes CONNECTING, OPEN, LOCAL_CLOSING, CLOSED", () => {
    expect(walkThrough()).toEqual([
      "Initial state: ConnectionState.CONNECTING",
      "After handshake: ConnectionState.OPEN",
      "After initiating close: ConnectionState.LOCAL_CLOSING",
      "After the server's answer: ConnectionState.CLOSED"
    ])
  })
})
