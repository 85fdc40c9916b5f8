/**
 * The echo programs, the conformance peers: `npm run echo-server` and `npm run echo-client`, run
 * as processes over 127.0.0.1 against `ws`, as a conformance suite would drive them.
 */
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import type * as Net from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { WebSocket as WsSocket, WebSocketServer as WsServer } from "ws"

const MIB = 1024 * 1024

/** Processes and servers a test started, ended after it. */
const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** Starts an example program with tsx; resolves with its first line of output matching `pattern`. */
const start = (script: string, args: ReadonlyArray<string>, pattern: RegExp) => {
  const child = ChildProcess.spawn(process.execPath, ["--import", "tsx", script, ...args], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  cleanups.push(() => child.kill("SIGKILL"))
  let output = ""
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const matched = new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} in 15 s: ${output}`)), 15_000)
    const onData = (data: Buffer) => {
      output += data.toString()
      const match = output.match(pattern)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match)
      }
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    void exited.then(() => reject(new Error(`exited before printing ${pattern}: ${output}`)))
  })
  return { child, matched, exited, output: () => output }
}

/** Resolves or rejects within `millis`. */
const within = <A>(promise: Promise<A>, what: string, millis = 10_000): Promise<A> =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), millis))
  ])

const digest = (data: Uint8Array | string) => Crypto.createHash("sha256").update(data).digest("hex")

describe("npm run echo-server", () => {
  it("prints its URL and echoes text and binary as they came, 20 MiB included, with deflate agreed", async () => {
    const server = start(
      "examples/echo-server.ts",
      ["--host", "127.0.0.1", "--port", "0"],
      /ws:\/\/127\.0\.0\.1:(\d+)\//
    )
    const [url] = await server.matched
    const client = new WsSocket(`${url}any/path?x=1`, { perMessageDeflate: true, maxPayload: 64 * MIB })
    cleanups.push(() => client.terminate())
    await within(new Promise((resolve, reject) => client.once("open", resolve).once("error", reject)), "the handshake")
    expect(client.extensions).toContain("permessage-deflate")
    const big = new Uint8Array(Crypto.randomBytes(20 * MIB))
    const sent: Array<readonly [string | Uint8Array, boolean]> = [["héllo 😀", false], [big, true], ["", false], [
      new Uint8Array([0, 1, 2]),
      true
    ]]
    const received: Array<readonly [string, boolean]> = []
    const all = new Promise<void>((resolve) =>
      client.on("message", (data: Buffer, isBinary: boolean) => {
        received.push([isBinary ? digest(data) : data.toString(), isBinary])
        if (received.length === sent.length) resolve()
      })
    )
    for (const [data, binary] of sent) client.send(data, { binary })
    await within(all, "the echoes", 20_000)
    expect(received).toEqual(sent.map(([data, binary]) => [binary ? digest(data) : data, binary]))
    // The closing handshake: our close code comes back, and the server ends TCP.
    const closed = new Promise<number>((resolve) => client.once("close", (code: number) => resolve(code)))
    client.close(4000, "done")
    expect(await within(closed, "the close")).toBe(4000)
    server.child.kill("SIGINT")
    expect(await within(server.exited, "the server's exit")).toBe(0)
  }, 40_000)
})

describe("npm run echo-client", () => {
  it("echoes every message until the server closes, then exits 0", async () => {
    const wss = new WsServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true })
    cleanups.push(() => wss.close())
    await new Promise((resolve) => wss.once("listening", resolve))
    const echoed: Array<readonly [string, boolean]> = []
    const offered = new Promise<string | undefined>((resolve) =>
      wss.once("connection", (ws, request) => {
        resolve(request.headers["sec-websocket-extensions"])
        ws.on("message", (data: Buffer, isBinary: boolean) => {
          echoed.push([isBinary ? data.toString("hex") : data.toString(), isBinary])
          if (echoed.length === 2) ws.close(1000, "bye")
        })
        ws.send("ünïcødé")
        ws.send(Buffer.from([7, 8, 9]), { binary: true })
      })
    )
    const port = (wss.address() as Net.AddressInfo).port
    const client = start("examples/echo-client.ts", [`ws://127.0.0.1:${port}/runCase?case=1`], /closed 1000 bye/)
    await client.matched
    expect(await within(client.exited, "the client's exit")).toBe(0)
    expect(await offered).toBe("permessage-deflate; client_max_window_bits")
    expect(echoed).toEqual([["ünïcødé", false], ["070809", true]])
  }, 30_000)

  it("exits 1 when it cannot connect", async () => {
    const wss = new WsServer({ host: "127.0.0.1", port: 0 })
    await new Promise((resolve) => wss.once("listening", resolve))
    const port = (wss.address() as Net.AddressInfo).port
    await new Promise((resolve) => wss.close(resolve))
    const client = start("examples/echo-client.ts", [`ws://127.0.0.1:${port}/`], /could not connect/)
    await client.matched
    expect(await within(client.exited, "the client's exit")).toBe(1)
  }, 30_000)
})
