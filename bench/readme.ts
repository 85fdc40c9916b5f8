/**
 * `npm run bench -- --readme`: writes the table of a full run into README.md, between the markers
 * `<!-- bench:table:start -->` and `<!-- bench:table:end -->`, with the machine and the command.
 */
import { readFileSync, writeFileSync } from "node:fs"
import * as Os from "node:os"
import type { Measured, Row } from "./harness.js"

const START = "<!-- bench:table:start -->"
const END = "<!-- bench:table:end -->"

const format = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0)

/** One line per candidate of ours: its messages per second and its ratio to each reference. */
const table = (results: ReadonlyArray<readonly [Row, ReadonlyArray<Measured>]>): string => {
  const lines = [
    "| workload | effect-wsproto, as called | msg/s (median) | ± (MAD) | × ws | × ws + bufferutil |",
    "|---|---|---:|---:|---:|---:|"
  ]
  for (const [row, measured] of results) {
    const byName = new Map(measured.map((m) => [m.candidate, m]))
    const ratio = (reference: string, m: Measured) => {
      const ref = byName.get(reference)
      return ref === undefined ? "" : (ref.msPerRun / m.msPerRun).toFixed(2)
    }
    for (const m of measured) {
      if (m.candidate.startsWith("ws") || m.candidate.startsWith("limit:") || !row.references.includes("ws")) continue
      lines.push(
        `| ${row.name} | ${m.candidate} | ${format(m.messagesPerSecond)} | ${(m.spread * 100).toFixed(0)}% | ${
          ratio("ws", m)
        } | ${ratio("ws + bufferutil", m)} |`
      )
    }
  }
  return lines.join("\n")
}

/** Replaces the README's table with this run's. */
export const write = (results: ReadonlyArray<readonly [Row, ReadonlyArray<Measured>]>): void => {
  const readme = readFileSync("README.md", "utf8")
  const start = readme.indexOf(START)
  const end = readme.indexOf(END)
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} … ${END} section`)
  const machine = `Node ${process.version}, ${Os.cpus()[0]?.model ?? "unknown CPU"}, ${Os.cpus().length} cores`
  const body = `${START}\nWritten by \`npm run bench -- --readme\` (${machine}, ${
    new Date().toISOString().slice(0, 10)
  }).\n\n${table(results)}\n`
  writeFileSync("README.md", readme.slice(0, start) + body + readme.slice(end))
}
