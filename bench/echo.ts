/**
 * `npm run bench echo` (or `npm run bench:echo [filter]`): effect-wsproto's driver server against
 * `ws`'s server, end to end over loopback. Three servers, each alone in a child process
 * (`bench/echo-server.ts`, deflate off), so that its CPU is its own: effect-wsproto consuming each
 * connection with `ws.run(ws.send)` (the handler called in the socket's read step), effect-wsproto
 * with `Stream.runForEach(ws.messages, ws.send)`, and ws. This process is the one load client,
 * `ws`'s client with deflate off, the same code against all three.
 *
 * Each connection keeps ECHO_WINDOW messages in flight (default 1: send, wait for the echo, send
 * the next), so that a round trip is a round trip and not time spent queued behind the window;
 * the connection count brings the concurrency; one row keeps 16 in flight on one connection, the
 * cost per message when several arrive in one read. After ECHO_WARMUP_MS (default 500) the load
 * is measured for ECHO_TIME_MS (default 1500, down from 2000 so that three servers fit in about
 * two minutes): messages echoed, the round trip of each (send to echo received), and the server
 * child's `process.cpuUsage()` over the same span. Each row runs ECHO_RUNS times (default 3) per
 * server, the order of the three rotated from run to run (A B C, B C A, C A B, ...: each goes
 * first, second and last once in three runs, so that the machine's drift hits all three alike),
 * and reports the median of each figure. Both of ours are compared with ws: ours/ws for msg/s and
 * MB/s, ws/ours for latency and CPU (above 1: ours better).
 *
 * The last row turns it around: the same ws server, and the client is effect-wsproto's driver
 * (`WebSocketClient.connect` and `ws.send`, the messages taken through `ws.run` or through
 * `ws.messages`, as a user writes it) or ws's client; there the CPU per message is this
 * process's, the client's.
 *
 * ECHO_PROFILE=<dir> profiles each server over the measured span of its first run of each row
 * (V8's sampling profiler, in the server child) and writes `<dir>/<server>-<row>.cpuprofile`;
 * `tsx bench/cpuprofile.ts <file>` prints where the time went. Profiling slows the servers: the
 * figures of such a run are not the benchmark's.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { type ChildProcess, fork } from "node:child_process"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import type WebSocketType from "ws"
import * as WebSocketClient from "../src/WebSocketClient.js"
import type { Usage } from "./echo-server.js"

const WINDOW = Number(process.env.ECHO_WINDOW ?? 1)
const WARMUP_MS = Number(process.env.ECHO_WARMUP_MS ?? 500)
const TIME_MS = Number(process.env.ECHO_TIME_MS ?? 1500)
const RUNS = Number(process.env.ECHO_RUNS ?? 3)
const PROFILE = process.env.ECHO_PROFILE
const MAX_MESSAGE_SIZE = 64 * 1024 * 1024

// `bench/ws.ts` reloads ws through `require` (with and without bufferutil), which an ESM import of
// ws after it trips over in Node 20: take ws from `require` too (with bufferutil, as installed).
const WebSocket = createRequire(import.meta.url)("ws") as typeof WebSocketType
type WebSocket = WebSocketType

type ServerName = "effect-wsproto-run" | "effect-wsproto-stream" | "ws"

/** How effect-wsproto's driver consumes a connection: `ws.run(handler)` or `ws.messages`. */
type Face = "run" | "stream"

// ---- the server children ------------------------------------------------------------------------

interface Server {
  readonly name: ServerName
  readonly child: ChildProcess
  readonly port: number
}

/** The next IPC message of the child that carries `key`: its value. */
export const reply = <A>(child: ChildProcess, key: string, timeoutMs = 10_000): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", listener)
      reject(new Error(`no ${key} from the server child in ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (message: unknown) => {
      if (typeof message === "object" && message !== null && key in message) {
        clearTimeout(timer)
        child.off("message", listener)
        resolve((message as Record<string, A>)[key]!)
      }
    }
    child.on("message", listener)
  })

const usage = (server: Server, gc = false): Promise<Usage> => {
  const pending = reply<Usage>(server.child, "usage")
  server.child.send(gc ? "usage" : "usage-nogc")
  return pending
}

/** Starts a server child (`bench/echo-server.ts`) and waits for its port. */
export const startServer = async (
  name: ServerName,
  deflate: boolean,
  execArgv: ReadonlyArray<string> = []
): Promise<Server> => {
  const child = fork(fileURLToPath(new URL("./echo-server.ts", import.meta.url)), [name, deflate ? "on" : "off"], {
    execArgv: ["--import", "tsx", ...execArgv]
  })
  try {
    const port = await reply<number>(child, "port", 30_000)
    return { name, child, port }
  } catch (cause) {
    child.kill()
    throw cause
  }
}

/** Ends a server child normally (a `--cpu-prof` profile is written then), or kills it after 10 s. */
export const stopServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve()
    const timer = setTimeout(() => server.child.kill("SIGKILL"), 10_000)
    server.child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    server.child.send("exit")
  })

/** Waits (at most 5 s) until the server holds no connection: the previous run is fully gone. */
const drained = async (server: Server) => {
  for (let i = 0; i < 100; i++) {
    if ((await usage(server)).connections === 0) return
    await sleep(50)
  }
  throw new Error(`${server.name}: connections still open 5 s after the clients closed`)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---- one measured run ---------------------------------------------------------------------------

interface Run {
  readonly messages: number
  readonly seconds: number
  readonly latencies: Float64Array
  readonly serverCpuMicros: number
  readonly clientCpuMicros: number
}

const cpuMicros = (from: NodeJS.CpuUsage, to: NodeJS.CpuUsage) => to.user - from.user + to.system - from.system

/** What the load under measure tells the window: a message's round trip when it ends. */
interface Recorder {
  measuring: boolean
  count: number
  latencies: Array<number>
}

/**
 * Warms up, then measures for TIME_MS: the server's and this process's CPU from one usage reply
 * to the next, the messages and round trips recorded in between.
 */
const measureWindow = async (server: Server, recorder: Recorder, timeMs: number, profileAs?: string): Promise<Run> => {
  await sleep(WARMUP_MS)
  if (profileAs !== undefined) server.child.send({ profile: "start" })
  const serverStart = await usage(server)
  const clientStart = process.cpuUsage()
  const start = performance.now()
  recorder.measuring = true
  await sleep(timeMs)
  recorder.measuring = false
  const seconds = (performance.now() - start) / 1000
  const clientEnd = process.cpuUsage()
  const serverEnd = await usage(server)
  if (profileAs !== undefined) {
    const written = reply<string>(server.child, "profiled")
    server.child.send({ profile: `${PROFILE}/${server.name}-${profileAs}.cpuprofile` })
    await written
  }
  return {
    messages: recorder.count,
    seconds,
    latencies: Float64Array.from(recorder.latencies).sort(),
    serverCpuMicros: cpuMicros(serverStart.cpu, serverEnd.cpu),
    clientCpuMicros: cpuMicros(clientStart, clientEnd)
  }
}

const open = (port: number) =>
  new Promise<WebSocket>((resolve, reject) => {
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: MAX_MESSAGE_SIZE })
    client.once("open", () => resolve(client))
    client.once("error", reject)
  })

const closeAll = (clients: ReadonlyArray<WebSocket>) =>
  Promise.all(clients.map((client) =>
    new Promise<void>((resolve) => {
      if (client.readyState === WebSocket.CLOSED) return resolve()
      const timer = setTimeout(() => client.terminate(), 5000)
      client.once("close", () => {
        clearTimeout(timer)
        resolve()
      })
      client.close(1000)
    })
  ))

/** Records each echo's round trip: echoes come back in order, so the oldest send time is the echo's. */
const echoes = (recorder: Recorder, sentAt: Array<number>) => {
  let head = 0
  return () => {
    const now = performance.now()
    const sent = sentAt[head++]!
    if (head > 1024) {
      sentAt.splice(0, head)
      head = 0
    }
    if (recorder.measuring) {
      recorder.count++
      recorder.latencies.push(now - sent)
    }
  }
}

/** The load of `ws` clients: `connections` of them, each with `window` messages in flight. */
const wsClientLoad = async (
  server: Server,
  connections: number,
  payload: string | Buffer,
  options: { readonly timeMs?: number; readonly window?: number; readonly profileAs?: string | undefined } = {}
): Promise<Run> => {
  const window = options.window ?? WINDOW
  const clients: Array<WebSocket> = []
  for (let i = 0; i < connections; i += 64) {
    clients.push(...await Promise.all(Array.from({ length: Math.min(64, connections - i) }, () => open(server.port))))
  }
  const recorder: Recorder = { measuring: false, count: 0, latencies: [] }
  let stopping = false
  const binary = typeof payload !== "string"
  for (const client of clients) {
    const sentAt: Array<number> = []
    const send = () => {
      sentAt.push(performance.now())
      client.send(payload, { binary })
    }
    const echoed = echoes(recorder, sentAt)
    client.on("message", () => {
      echoed()
      if (!stopping) send()
    })
    client.on("error", () => {})
    for (let i = 0; i < window; i++) send()
  }
  try {
    return await measureWindow(server, recorder, options.timeMs ?? TIME_MS, options.profileAs)
  } finally {
    stopping = true
    await closeAll(clients)
    await drained(server)
  }
}

/**
 * One connection of effect-wsproto's client, written as a user writes an echo client: each
 * message received sends the next with `ws.send`, the messages taken through `ws.run(handler)`
 * (`face` "run") or `Stream.runForEach(ws.messages, handler)` ("stream").
 */
const driverClientLoad = (server: Server, payload: string | Uint8Array, face: Face, timeMs = TIME_MS): Promise<Run> =>
  Effect.runPromise(
    Effect.gen(function*() {
      const ws = yield* WebSocketClient.connect(`ws://127.0.0.1:${server.port}/`, {
        deflate: false,
        pingInterval: Infinity,
        maxMessageSize: MAX_MESSAGE_SIZE
      })
      const recorder: Recorder = { measuring: false, count: 0, latencies: [] }
      const sentAt: Array<number> = []
      const send = Effect.suspend(() => {
        sentAt.push(performance.now())
        return ws.send(payload)
      })
      const echoed = echoes(recorder, sentAt)
      const onMessage = () => {
        echoed()
        return send
      }
      const echo = yield* Effect.fork(face === "run" ? ws.run(onMessage) : Stream.runForEach(ws.messages, onMessage))
      yield* send
      const run = yield* Effect.promise(() => measureWindow(server, recorder, timeMs))
      yield* Fiber.interrupt(echo)
      return run
    }).pipe(Effect.scoped)
  ).then(async (run) => {
    await drained(server)
    return run
  })

// ---- rows and their table -----------------------------------------------------------------------

interface Summary {
  readonly messagesPerSecond: number
  readonly mbPerSecond: number
  readonly p50: number
  readonly p99: number
  readonly serverCpuPerMessage: number
  readonly serverCpuShare: number
  readonly clientCpuPerMessage: number
  readonly clientCpuShare: number
  readonly spread: string
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

const quantile = (sorted: Float64Array, q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const format = (n: number, digits = 1): string =>
  !Number.isFinite(n) ? "–" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(digits)

const summarize = (runs: ReadonlyArray<Run>, bytes: number): Summary => {
  const rates = runs.map((run) => run.messages / run.seconds)
  const unit = bytes >= 1024 ? 1 : 1000
  return {
    messagesPerSecond: median(rates),
    mbPerSecond: median(rates) * bytes / 1e6,
    p50: median(runs.map((run) => quantile(run.latencies, 0.5) * 1000)),
    p99: median(runs.map((run) => quantile(run.latencies, 0.99) * 1000)),
    serverCpuPerMessage: median(runs.map((run) => run.serverCpuMicros / run.messages)),
    serverCpuShare: median(runs.map((run) => run.serverCpuMicros / 1e6 / run.seconds * 100)),
    clientCpuPerMessage: median(runs.map((run) => run.clientCpuMicros / run.messages)),
    clientCpuShare: median(runs.map((run) => run.clientCpuMicros / 1e6 / run.seconds * 100)),
    spread: `${format(Math.min(...rates) / unit)}–${format(Math.max(...rates) / unit)}`
  }
}

interface Line {
  readonly label: string
  readonly value: (summary: Summary) => number
  /** "higher": ratio ours/theirs; "lower": theirs/ours. Either way above 1: ours better. */
  readonly better: "higher" | "lower" | "none"
  readonly digits?: number
}

/** A column: its two header lines, and its summary. */
interface Column {
  readonly header: readonly [string, string]
  readonly summary: Summary
}

const VALUE_WIDTH = 16
const RATIO_WIDTH = 11

/**
 * One table: a column per candidate, the last one the reference (ws), then a ratio column for each
 * of the others against it.
 */
const printTable = (
  title: string,
  columns: ReadonlyArray<Column>,
  ratioHeaders: ReadonlyArray<string>,
  lines: ReadonlyArray<Line>
) => {
  const reference = columns[columns.length - 1]!.summary
  const ours = columns.slice(0, -1)
  console.log(`\n${title}`)
  for (const at of [0, 1] as const) {
    const values = columns.map((column) => column.header[at].padStart(VALUE_WIDTH)).join(" ")
    const ratios = ratioHeaders.map((header) => (at === 0 ? "ratio" : header).padStart(RATIO_WIDTH)).join("")
    console.log(`  ${"".padEnd(31)} ${values}${ratios}`)
  }
  for (const line of lines) {
    const values = columns.map((column) => format(line.value(column.summary), line.digits).padStart(VALUE_WIDTH))
    const ratios = ours.map((column) => {
      const a = line.value(column.summary)
      const b = line.value(reference)
      const ratio = line.better === "higher" ? a / b : line.better === "lower" ? b / a : NaN
      return (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "–").padStart(RATIO_WIDTH)
    })
    console.log(`  ${line.label.padEnd(31)} ${values.join(" ")}${ratios.join("")}`)
  }
  const each = `${lines[0]!.label} of each run`
  console.log(`  ${each.padEnd(31)} ${columns.map((column) => column.summary.spread.padStart(VALUE_WIDTH)).join(" ")}`)
}

const throughputLines = (bytes: number): ReadonlyArray<Line> => [
  bytes >= 1024
    ? { label: "msg/s", value: (s) => s.messagesPerSecond, better: "higher" }
    : { label: "k msg/s", value: (s) => s.messagesPerSecond / 1000, better: "higher" },
  ...(bytes >= 1024
    ? [{ label: "MB/s (payload, each way)", value: (s: Summary) => s.mbPerSecond, better: "higher" as const }]
    : []),
  { label: "round trip p50 (µs)", value: (s) => s.p50, better: "lower" },
  { label: "round trip p99 (µs)", value: (s) => s.p99, better: "lower" }
]

interface EchoRow {
  readonly name: string
  /** For profile file names. */
  readonly slug: string
  readonly connections: number
  readonly window: number
  readonly payload: string | Buffer
}

/** Run `i` of a row: the candidates rotated by `i` (A B C, B C A, C A B, ...). */
const rotated = <A>(candidates: ReadonlyArray<A>, i: number): ReadonlyArray<A> =>
  candidates.map((_, k) => candidates[(i + k) % candidates.length]!)

const SERVER_HEADERS: Record<ServerName, readonly [string, string]> = {
  "effect-wsproto-run": ["effect-wsproto", "(ws.run)"],
  "effect-wsproto-stream": ["effect-wsproto", "(Stream)"],
  ws: ["", "ws"]
}
const RATIO_HEADERS = ["ws.run/ws", "Stream/ws"]

const serverRow = async (row: EchoRow, servers: ReadonlyArray<Server>) => {
  const runs = new Map<ServerName, Array<Run>>(servers.map((server) => [server.name, []]))
  for (let i = 0; i < RUNS; i++) {
    for (const server of rotated(servers, i)) {
      const options = { window: row.window, profileAs: PROFILE !== undefined && i === 0 ? row.slug : undefined }
      runs.get(server.name)!.push(await wsClientLoad(server, row.connections, row.payload, options))
    }
  }
  const bytes = typeof row.payload === "string" ? Buffer.byteLength(row.payload) : row.payload.length
  printTable(
    row.name,
    servers.map((server) => ({
      header: SERVER_HEADERS[server.name],
      summary: summarize(runs.get(server.name)!, bytes)
    })),
    RATIO_HEADERS,
    [
      ...throughputLines(bytes),
      { label: "server CPU per message (µs)", value: (s) => s.serverCpuPerMessage, better: "lower", digits: 2 },
      { label: "server CPU (% of one core)", value: (s) => s.serverCpuShare, better: "lower" },
      { label: "load client CPU (% of one core)", value: (s) => s.clientCpuShare, better: "none" }
    ]
  )
  if (PROFILE !== undefined) {
    console.log(`  profiles: ${servers.map((server) => `${PROFILE}/${server.name}-${row.slug}.cpuprofile`).join(", ")}`)
  }
}

/** The same ws server; the client is effect-wsproto's driver (through `ws.run` or `ws.messages`) or ws's. */
const clientRow = async (name: string, payload: string, server: Server) => {
  const clients: ReadonlyArray<{
    readonly header: readonly [string, string]
    readonly load: () => Promise<Run>
    readonly runs: Array<Run>
  }> = [
    { header: ["effect-wsproto", "(ws.run)"], load: () => driverClientLoad(server, payload, "run"), runs: [] },
    { header: ["effect-wsproto", "(Stream)"], load: () => driverClientLoad(server, payload, "stream"), runs: [] },
    { header: ["", "ws"], load: () => wsClientLoad(server, 1, payload, { window: 1 }), runs: [] }
  ]
  for (let i = 0; i < RUNS; i++) {
    for (const client of rotated(clients, i)) client.runs.push(await client.load())
  }
  const bytes = Buffer.byteLength(payload)
  printTable(
    name,
    clients.map((client) => ({ header: client.header, summary: summarize(client.runs, bytes) })),
    RATIO_HEADERS,
    [
      ...throughputLines(bytes),
      { label: "client CPU per message (µs)", value: (s) => s.clientCpuPerMessage, better: "lower", digits: 2 },
      { label: "client CPU (% of one core)", value: (s) => s.clientCpuShare, better: "lower" },
      { label: "server CPU per message (µs)", value: (s) => s.serverCpuPerMessage, better: "lower", digits: 2 }
    ]
  )
}

const TEXT = "0123456789abcdef0123456789abcdef" // 32 bytes
const MEBIBYTE = Buffer.alloc(1024 * 1024, 0x5a)

const inFlight = (window: number) => `${window} in flight per connection`
const row = (payload: "text" | "binary", connections: number, window: number, note = ""): EchoRow => ({
  name: `echo: ${payload === "text" ? "32 B text" : "1 MiB binary"}, ${connections} connection${
    connections === 1 ? "" : "s"
  }, ${inFlight(window)}${note}`,
  slug: `${payload}-${connections}x${window}`,
  connections,
  window,
  payload: payload === "text" ? TEXT : MEBIBYTE
})
const rows: ReadonlyArray<EchoRow> = [
  row("text", 1, WINDOW),
  row("text", 16, WINDOW),
  row("text", 256, WINDOW),
  row("text", 1, 16, " (pipelined)"),
  row("binary", 1, WINDOW)
]
const clientRowName = `echo: 32 B text, 1 connection, ${inFlight(1)}, client side (ws server)`

/** Every echo row whose name contains `filter`; true if any ran. */
export const run = async (filter?: string): Promise<boolean> => {
  const chosen = rows.filter((row) => filter === undefined || row.name.includes(filter))
  const withClientRow = filter === undefined || clientRowName.includes(filter)
  if (chosen.length === 0 && !withClientRow) return false
  console.log(
    `\nEcho over loopback, each server alone in a child process, deflate off; load: ws clients in the parent.` +
      `\neffect-wsproto's server twice: server.run((ws) => ws.run(ws.send)) and` +
      `\nserver.run((ws) => Stream.runForEach(ws.messages, ws.send)); and ws's.` +
      `\nmedian of ${RUNS} runs of ${TIME_MS} ms per server (after ${WARMUP_MS} ms of warmup), the order of the` +
      `\nservers rotated from run to run; ratio: ours/ws for msg/s and MB/s, ws/ours for latency and CPU` +
      `\n(above 1: effect-wsproto better)`
  )
  const servers = [
    await startServer("effect-wsproto-run", false),
    await startServer("effect-wsproto-stream", false),
    await startServer("ws", false)
  ] as const
  try {
    // Untimed: every code path of the servers and of this client compiled before the first row.
    for (const server of servers) {
      await wsClientLoad(server, 16, TEXT, { timeMs: 1000 })
      await wsClientLoad(server, 1, MEBIBYTE, { timeMs: 300 })
    }
    if (withClientRow) {
      await driverClientLoad(servers[2], TEXT, "run", 500)
      await driverClientLoad(servers[2], TEXT, "stream", 500)
    }
    for (const row of chosen) await serverRow(row, servers)
    if (withClientRow) {
      await clientRow(
        `${clientRowName}\n  the client's messages through ws.run or through ws.messages, against ws's client`,
        TEXT,
        servers[2]
      )
    }
  } finally {
    await Promise.all(servers.map(stopServer))
  }
  return true
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`effect-wsproto echo benchmark: Node ${process.version}, ${process.arch}`)
  await run(process.argv[2])
}
