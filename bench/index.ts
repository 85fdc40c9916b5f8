/**
 * `npm run bench [filter] [--readme]`: every workload on effect-wsproto and on ws, side by side in
 * this one process (`--readme` writes the table into README.md). Ratios are ws time / effect-wsproto time: above 1 means effect-wsproto is faster.
 * BENCH_TIME_MS sets the time per candidate (default 400). Last, the echo suite (`bench/echo.ts`):
 * effect-wsproto's server (through `ws.run` and through `ws.messages`) and ws's in child
 * processes under one load client, over loopback.
 */
import * as ConnectionBench from "./connection.js"
import * as DeflateBench from "./deflate.js"
import * as EchoBench from "./echo.js"
import * as FrameBench from "./frame.js"
import * as HandshakeBench from "./handshake.js"
import { type Measured, type Row, runRow } from "./harness.js"
import * as Readme from "./readme.js"

const readme = process.argv.includes("--readme")
const filter = process.argv.slice(2).find((arg) => !arg.startsWith("--"))

console.log(`effect-wsproto benchmarks: Node ${process.version}, ${process.arch}`)
console.log("MB/s counts payload bytes; ratios are reference time / candidate time (above 1: candidate faster)")
const suites = [FrameBench, ConnectionBench, HandshakeBench, DeflateBench]
const results: Array<readonly [Row, ReadonlyArray<Measured>]> = []
for (const row of suites.flatMap((suite) => suite.rows())) {
  if (filter !== undefined && !row.name.includes(filter)) continue
  results.push([row, await runRow(row)])
}
if (readme) Readme.write(results)
if (suites.reduce((n, suite) => n + suite.drain(), 0) < 0) console.log("unreachable")
await EchoBench.run(filter)
