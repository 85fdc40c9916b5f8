/**
 * `npm run bench:memory`: the resident memory of a server holding 1,000 open connections with
 * permessage-deflate and context takeover, idle and after one message each, for effect-wsproto
 * and for `ws`, each server in its own process under the same 1,000 `ws` clients (loopback only).
 */
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import WebSocket from "ws"

const CONNECTIONS = Number(process.env.CONNECTIONS ?? 1000)
const MESSAGE = JSON.stringify({
  type: "update",
  items: Array.from({ length: 24 }, (_, i) => ({ id: i, name: `item-${i}`, price: i * 1.25, tags: ["a", "b"] }))
})

const reply = <A>(child: ChildProcess, key: string): Promise<A> =>
  new Promise((resolve) => {
    const listener = (message: Record<string, unknown>) => {
      if (key in message) {
        child.off("message", listener)
        resolve(message[key] as A)
      }
    }
    child.on("message", listener)
  })

const usage = async (child: ChildProcess) => {
  const pending = Promise.all([reply<number>(child, "rss"), reply<number>(child, "heap")])
  child.send("usage")
  const [rss, heap] = await pending
  return { rss: rss / 1024 / 1024, heap: heap / 1024 / 1024 }
}

const measure = async (which: "effect-wsproto" | "ws") => {
  const child = fork(fileURLToPath(new URL("./memory-server.ts", import.meta.url)), [which], {
    execArgv: ["--import", "tsx", "--expose-gc"]
  })
  try {
    const port = await reply<number>(child, "port")
    const empty = await usage(child)
    const clients = await Promise.all(
      Array.from({ length: CONNECTIONS }, () =>
        new Promise<WebSocket>((resolve, reject) => {
          const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true })
          client.once("open", () => resolve(client))
          client.once("error", reject)
        }))
    )
    const idle = await usage(child)
    await Promise.all(clients.map((client) =>
      new Promise<void>((resolve) => {
        client.once("message", () => resolve())
        client.send(MESSAGE)
      })
    ))
    const afterMessage = await usage(child)
    for (const client of clients) client.terminate()
    return { which, empty, idle, afterMessage }
  } finally {
    child.kill()
  }
}

console.log(`${CONNECTIONS} server connections, permessage-deflate with context takeover, ${MESSAGE.length}-byte message`)
for (const which of ["effect-wsproto", "ws"] as const) {
  const m = await measure(which)
  const per = (key: "rss" | "heap", at: { rss: number; heap: number }) =>
    `${((at[key] - m.empty[key]) * 1024 / CONNECTIONS).toFixed(1)} KiB/conn`
  console.log(
    `  ${which.padEnd(15)} resident: idle +${per("rss", m.idle)}, after one message +${per("rss", m.afterMessage)}` +
      ` | JS heap and external: idle +${per("heap", m.idle)}, after one message +${per("heap", m.afterMessage)}`
  )
}
