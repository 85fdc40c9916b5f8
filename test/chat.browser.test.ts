/**
 * The chat example (`npm start`, examples/chat/server.ts) for real over 127.0.0.1: two pages of a
 * headless Chromium talk through it; a page of another origin is refused; a tab that stops
 * reading is disconnected without holding up the others or filling the server's memory; bad input
 * ends the connection with 1003 or 1008. Each test starts its own chat on port 0 and ends what it
 * opened; every wait is bounded.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Net from "node:net"
import { type Browser, chromium, type Page } from "playwright-core"
import { describe, expect, it } from "vitest"
import WebSocket from "ws"
import * as Chat from "../examples/chat/server.js"
import { closePayload, parseWireFrames } from "./helpers.js"
import { acceptFor, closeOf, freshKey, maskedFrame, upgradeRequest } from "./rawPeer.js"

const WAIT = 10_000
/** Starting Chromium while the other test files run in parallel can take longer than a page wait. */
const LAUNCH_WAIT = 30_000
const TEST_TIMEOUT = 60_000

/** Runs `body` with a chat on 127.0.0.1, port 0, stopped afterwards whatever happens. */
const withChat = async <A>(options: Chat.ChatOptions, body: (chat: Chat.Chat) => Promise<A>): Promise<A> => {
  const scope = Effect.runSync(Scope.make())
  try {
    const chat = await Effect.runPromise(Scope.extend(Chat.start({ host: "127.0.0.1", port: 0, ...options }), scope))
    return await body(chat)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
const bounded = <A>(promise: Promise<A>, what: string, ms = WAIT): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

const wsUrl = (chat: Chat.Chat) => `${chat.url.replace("http:", "ws:")}ws`

// ---- a well-behaved client: the `ws` package ------------------------------------------------

type ServerMessage = Chat.ServerMessage

class Client {
  readonly messages: Array<ServerMessage> = []
  /** How many `said` each name has been seen to say. */
  readonly said = new Map<string, number>()
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
  private readonly waiters = new Set<() => void>()

  constructor(readonly socket: WebSocket) {
    socket.on("message", (data, isBinary) => {
      if (isBinary) throw new Error("the chat sent a binary message")
      const message = JSON.parse(String(data)) as ServerMessage
      this.messages.push(message)
      if (message.type === "said") this.said.set(message.name, (this.said.get(message.name) ?? 0) + 1)
      for (const wake of this.waiters) wake()
    })
    this.closed = new Promise((resolve) =>
      socket.once("close", (code, reason) => {
        resolve({ code, reason: reason.toString() })
        for (const wake of this.waiters) wake()
      })
    )
  }

  /** Waits until `condition` holds (checked on every message). */
  until(condition: () => boolean, what: string, ms = WAIT): Promise<void> {
    if (condition()) return Promise.resolve()
    let wake: () => void = () => {}
    return bounded(
      new Promise<void>((resolve) => {
        wake = () => condition() && resolve()
        this.waiters.add(wake)
      }),
      what,
      ms
    ).finally(() => this.waiters.delete(wake))
  }

  saw(predicate: (message: ServerMessage) => boolean): boolean {
    return this.messages.some(predicate)
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message))
  }
}

/** A `ws` client of the chat's own origin, open. */
const connect = async (chat: Chat.Chat): Promise<Client> => {
  const socket = new WebSocket(wsUrl(chat), { origin: chat.origins.find((o) => o.includes("127.0.0.1"))! })
  const client = new Client(socket)
  await bounded(
    new Promise<void>((resolve, reject) => {
      socket.once("open", resolve)
      socket.once("error", reject)
    }),
    "a ws client to open"
  )
  return client
}

/** A `ws` client that joined as `name` (and saw its own join). */
const join = async (chat: Chat.Chat, name: string): Promise<Client> => {
  const client = await connect(chat)
  client.send({ type: "join", name })
  await client.until(() => client.saw((m) => m.type === "joined" && m.name === name.trim()), `${name}'s join`)
  return client
}

// ---- a tab that stops reading: a raw TCP client ----------------------------------------------

/**
 * Opens a connection by hand (RFC 6455 §4.1), checks the 101 and its `Sec-WebSocket-Accept`,
 * joins as `name`, then stops reading: the socket is paused, so what the server sends piles up in
 * the kernel's buffers and then in the server's queue.
 */
const rawJoin = async (chat: Chat.Chat, name: string): Promise<{ socket: Net.Socket; rest: Buffer }> => {
  const socket = Net.connect({ host: "127.0.0.1", port: chat.port })
  socket.on("error", () => {})
  const key = freshKey()
  const { head, rest } = await bounded(
    new Promise<{ head: string; rest: Buffer }>((resolve, reject) => {
      let received = Buffer.alloc(0)
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk])
        const end = received.indexOf("\r\n\r\n")
        if (end < 0) return
        socket.off("data", onData)
        socket.pause()
        resolve({ head: received.subarray(0, end).toString("latin1"), rest: received.subarray(end + 4) })
      }
      socket.on("data", onData)
      socket.once("close", () => reject(new Error("the raw client's connection closed during the handshake")))
      socket.write(upgradeRequest(key, "/ws", [`Origin: http://127.0.0.1:${chat.port}`], `127.0.0.1:${chat.port}`))
    }),
    "the raw client's handshake"
  )
  expect(head.split("\r\n")[0]).toBe("HTTP/1.1 101 Switching Protocols")
  expect(head.toLowerCase()).toContain(`sec-websocket-accept: ${acceptFor(key).toLowerCase()}`)
  socket.write(maskedFrame(0x1, Buffer.from(JSON.stringify({ type: "join", name }))))
  return { socket, rest }
}

// ---- the browser ---------------------------------------------------------------------------

const launch = (): Promise<Browser> =>
  chromium.launch({
    executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run"
    ],
    timeout: LAUNCH_WAIT
  })

/** Waits until the page shows an element matching `selector` with `text`. */
const sees = (page: Page, selector: string, text: string) =>
  page.locator(selector, { hasText: text }).first().waitFor({ timeout: WAIT })

const openAs = async (browser: Browser, url: string, name: string, errors: Array<string>): Promise<Page> => {
  const page = await browser.newPage()
  page.on("pageerror", (error) => errors.push(`${name}: ${error.message}`))
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`${name}: ${message.text()}`)
  })
  await page.goto(url, { timeout: WAIT })
  await page.fill("#name", name, { timeout: WAIT })
  await page.click("#join button", { timeout: WAIT })
  await sees(page, "#log li", `${name} joined`)
  return page
}

const say = async (page: Page, text: string) => {
  await page.fill("#text", text, { timeout: WAIT })
  await page.press("#text", "Enter", { timeout: WAIT })
}

describe("the chat example", () => {
  it("two browser pages see each other join, talk, count who is online, and see a leave", async () => {
    await withChat({}, async (chat) => {
      const browser = await launch()
      try {
        const errors: Array<string> = []
        const alice = await openAs(browser, chat.url, "alice", errors)
        await sees(alice, "#online", "1 online")
        const bob = await openAs(browser, chat.url, "bob", errors)
        await sees(alice, "#log li", "bob joined")
        for (const page of [alice, bob]) {
          await sees(page, "#online", "2 online")
          await sees(page, "#people li", "alice")
          await sees(page, "#people li", "bob")
        }
        expect(await Effect.runPromise(chat.online)).toBe(2)

        await say(alice, "hello from alice")
        await say(bob, "hi from bob, <b>not bold</b>")
        for (const page of [alice, bob]) {
          await sees(page, "#log li.said", "alice: hello from alice")
          await sees(page, "#log li.said", "bob: hi from bob, <b>not bold</b>")
        }
        // Text stays text: the markup bob typed is not an element.
        expect(await alice.locator("#log li.said b").allTextContents()).toEqual(["alice", "bob"])

        await bob.close()
        await sees(alice, "#log li", "bob left")
        await sees(alice, "#online", "1 online")
        expect(await alice.locator("#people li").allTextContents()).toEqual(["alice"])
        expect(errors).toEqual([])
      } finally {
        await browser.close()
      }
    })
  }, TEST_TIMEOUT)

  it("serves the page's three files with their content types, 404 otherwise", async () => {
    await withChat({}, async (chat) => {
      const types: Record<string, string> = {
        "": "text/html; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "chat.js": "text/javascript; charset=utf-8"
      }
      for (const [path, type] of Object.entries(types)) {
        const response = await fetch(chat.url + path, { signal: AbortSignal.timeout(WAIT) })
        expect(response.status).toBe(200)
        expect(response.headers.get("content-type")).toBe(type)
        expect((await response.text()).length).toBeGreaterThan(0)
      }
      for (const path of ["index.html", "nope", "ws", "../server.ts"]) {
        const response = await fetch(chat.url + path, { signal: AbortSignal.timeout(WAIT) })
        expect(response.status, path).toBe(404)
        await response.body?.cancel()
      }
    })
  }, TEST_TIMEOUT)

  it("refuses a WebSocket from a foreign origin with 403", async () => {
    await withChat({}, async (chat) => {
      const socket = new WebSocket(wsUrl(chat), { origin: "https://evil.example" })
      // ws reports its own `terminate` of a refused handshake as an error.
      socket.on("error", () => {})
      try {
        const status = await bounded(
          new Promise<number>((resolve, reject) => {
            socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0))
            socket.once("open", () => reject(new Error("a foreign origin was let in")))
          }),
          "the 403"
        )
        expect(status).toBe(403)
        expect(await Effect.runPromise(chat.connections)).toBe(0)
      } finally {
        socket.terminate()
      }
    })
  }, TEST_TIMEOUT)

  it("disconnects a tab that stops reading with 1008 while the others keep receiving, in bounded memory", async () => {
    await withChat({ closeTimeout: "3 seconds" }, async (chat) => {
      const flooder = await join(chat, "flood")
      const watcher = await join(chat, "watch")
      const slow = await rawJoin(chat, "slow")
      try {
        await watcher.until(() => watcher.saw((m) => m.type === "joined" && m.name === "slow"), "slow's join")
        expect(await Effect.runPromise(chat.online)).toBe(3)

        // 3 bytes of UTF-8 each: the longest text there is without escapes, about 3 KiB a frame.
        const text = "€".repeat(Chat.MAX_TEXT)
        const kicked = () => watcher.saw((m) => m.type === "left" && m.name === "slow")
        let sent = 0
        let largest = 0
        const sample = setInterval(() => (largest = Math.max(largest, Effect.runSync(chat.largestBacklog))), 2)
        try {
          // Enough for the kernel's buffers (a few MiB on loopback) and the 1 MiB bound many times over.
          while (!kicked() && sent < 20_000) {
            for (let i = 0; i < 250; i++) flooder.send({ type: "say", text })
            sent += 250
            // The broadcast to everyone else is not held up by the tab that does not read.
            await watcher.until(() => watcher.said.get("flood") === sent, `${sent} messages to the watcher`)
            largest = Math.max(largest, Effect.runSync(chat.largestBacklog))
          }
        } finally {
          clearInterval(sample)
        }
        expect(kicked()).toBe(true)
        expect(watcher.messages.find((m) => m.type === "left")).toEqual({ type: "left", name: "slow", online: 2 })
        // What the server queued for any connection stayed within the bound plus one message.
        expect(largest).toBeGreaterThan(Chat.DEFAULT_MAX_BACKLOG)
        expect(largest).toBeLessThanOrEqual(Chat.DEFAULT_MAX_BACKLOG + 4 * 1024)

        // The well-behaved ones keep talking.
        for (let i = 0; i < 10; i++) flooder.send({ type: "say", text: `after ${i}` })
        await watcher.until(() => watcher.said.get("flood") === sent + 10, "the messages after the kick")
        await flooder.until(() => flooder.said.get("flood") === sent + 10, "the flooder's own messages")
        expect(await Effect.runPromise(chat.online)).toBe(2)

        // The slow tab reads again: its backlog ends with a close frame 1008 "too slow" (RFC 6455
        // §5.5.1), and it never got the messages sent after the kick.
        slow.socket.resume()
        const { close, said } = await bounded(
          new Promise<{ close: { code: number; reason: string }; said: number }>((resolve, reject) => {
            let pending: Uint8Array = slow.rest
            let said = 0
            const onData = (chunk: Buffer) => {
              const { frames, rest } = parseWireFrames(Buffer.concat([pending, chunk]))
              pending = rest
              for (const frame of frames) {
                if (frame.opcode === 0x1 && Buffer.from(frame.payload).includes(`"said"`)) said++
                if (frame.opcode === 0x8) {
                  slow.socket.off("data", onData)
                  resolve({ close: closeOf(frame), said })
                }
              }
            }
            slow.socket.on("data", onData)
            slow.socket.once("close", () => reject(new Error("the slow tab's connection ended without a close frame")))
            onData(Buffer.alloc(0))
          }),
          "the slow tab's close frame"
        )
        expect(close).toEqual({ code: 1008, reason: "too slow" })
        expect(said).toBeGreaterThan(0)
        expect(said).toBeLessThan(sent)
        // Our side of the closing handshake; the server then ends TCP (RFC 6455 §7.1.1).
        slow.socket.write(maskedFrame(0x8, closePayload(1008)))
        await bounded(new Promise((resolve) => slow.socket.once("close", resolve)), "the server to end TCP")
        expect(await Effect.runPromise(chat.connections)).toBe(2)
      } finally {
        slow.socket.destroy()
        flooder.socket.terminate()
        watcher.socket.terminate()
      }
    })
  }, TEST_TIMEOUT)

  it("stopping the chat (closing its scope) sends 1001 to every open connection", async () => {
    const scope = Effect.runSync(Scope.make())
    const clients: Array<Client> = []
    try {
      const chat = await Effect.runPromise(Scope.extend(Chat.start({ host: "127.0.0.1", port: 0 }), scope))
      clients.push(await join(chat, "alice"), await join(chat, "bob"), await connect(chat))
      await bounded(Effect.runPromise(Scope.close(scope, Exit.void)), "the chat to stop")
      for (const client of clients) expect(await bounded(client.closed, "a 1001")).toEqual({ code: 1001, reason: "" })
      // The HTTP server is closed too.
      await expect(fetch(chat.url, { signal: AbortSignal.timeout(WAIT) })).rejects.toThrow()
    } finally {
      for (const client of clients) client.socket.terminate()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }, TEST_TIMEOUT)

  it("ends a connection that sends bad input: 1003 for binary, 1008 for anything else", async () => {
    await withChat({}, async (chat) => {
      const clients: Array<Client> = []
      try {
        const closeOf = async (...messages: Array<unknown>) => {
          const client = await connect(chat)
          clients.push(client)
          for (const message of messages) {
            if (message instanceof Uint8Array) client.socket.send(message)
            else client.send(message)
          }
          return bounded(client.closed, `the close after ${JSON.stringify(messages)}`)
        }
        expect(await closeOf("not json")).toEqual({ code: 1008, reason: "bad message" })
        expect(await closeOf({ type: "shout", text: "hi" })).toEqual({ code: 1008, reason: "bad message" })
        expect(await closeOf({ type: "join", name: "   " })).toEqual({ code: 1008, reason: "bad message" })
        expect(await closeOf({ type: "join", name: "n".repeat(Chat.MAX_NAME + 1) })).toEqual({
          code: 1008,
          reason: "bad message"
        })
        expect(await closeOf({ type: "join", name: "a" }, { type: "say", text: "t".repeat(Chat.MAX_TEXT + 1) }))
          .toEqual({ code: 1008, reason: "bad message" })
        expect(await closeOf({ type: "say", text: "hi" })).toEqual({ code: 1008, reason: "join first" })
        expect(await closeOf({ type: "join", name: "a" }, { type: "join", name: "b" })).toEqual({
          code: 1008,
          reason: "already joined"
        })
        expect(await closeOf(new Uint8Array([1, 2, 3]))).toEqual({ code: 1003, reason: "text only" })
        // Over maxMessageSize (16 KiB): the driver's 1009 (RFC 6455 §7.4.1).
        expect((await closeOf("x".repeat(Chat.MAX_MESSAGE_SIZE + 1))).code).toBe(1009)

        const alice = await join(chat, "alice")
        clients.push(alice)
        expect(await closeOf({ type: "join", name: "alice" })).toEqual({ code: 1008, reason: "name taken" })
        // A name is trimmed; the one who is still there is unaffected by all of the above.
        const bob = await join(chat, "  bob ")
        clients.push(bob)
        await alice.until(() => alice.saw((m) => m.type === "joined" && m.name === "bob" && m.online === 2), "bob")
      } finally {
        for (const client of clients) client.socket.terminate()
      }
    })
  }, TEST_TIMEOUT)
})
