/**
 * A small side-by-side harness over tinybench: each row runs every candidate in the same process
 * and prints its throughput (from the median run time), the spread of its run times (median
 * absolute deviation over the median) and its ratio to the row's reference candidates.
 */
import { Bench } from "tinybench"

export interface Candidate {
  readonly name: string
  readonly run: () => void | Promise<void>
}

export interface Row {
  readonly name: string
  /** Bytes of payload each run handles, for MB/s. */
  readonly bytes: number
  /** Messages each run handles, for messages/s. */
  readonly messages: number
  readonly candidates: ReadonlyArray<Candidate>
  /** The candidates every ratio is taken against (usually `ws` variants). */
  readonly references: ReadonlyArray<string>
}

export interface Measured {
  readonly row: string
  readonly candidate: string
  readonly msPerRun: number
  readonly mbPerSecond: number
  readonly messagesPerSecond: number
  /** The median absolute deviation of the run times, relative to their median. */
  readonly spread: number
}

const time = Number(process.env.BENCH_TIME_MS ?? 400)

const format = (n: number, digits = 1): string => n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(digits)

/** Runs one row and prints it; returns the measurements. */
export const runRow = async (row: Row): Promise<ReadonlyArray<Measured>> => {
  const bench = new Bench({ time, warmupTime: Math.min(200, time / 2), throws: true })
  for (const candidate of row.candidates) bench.add(candidate.name, candidate.run)
  await bench.run()
  const measured: Array<Measured> = bench.tasks.map((task) => {
    const result = task.result
    if (result === undefined || !("latency" in result)) throw new Error(`no result for ${task.name}`)
    const ms = result.latency.p50
    return {
      row: row.name,
      candidate: task.name,
      msPerRun: ms,
      mbPerSecond: row.bytes / 1e6 / (ms / 1000),
      messagesPerSecond: row.messages / (ms / 1000),
      spread: result.latency.mad / ms
    }
  })
  const byName = new Map(measured.map((m) => [m.candidate, m]))
  console.log(`\n${row.name}`)
  for (const m of measured) {
    const ratios = row.references
      .filter((reference) => reference !== m.candidate && byName.has(reference))
      .map((reference) => `${(byName.get(reference)!.msPerRun / m.msPerRun).toFixed(2)}× ${reference}`)
      .join(", ")
    console.log(
      `  ${m.candidate.padEnd(34)} ${format(m.mbPerSecond).padStart(9)} MB/s ${
        format(m.messagesPerSecond / 1000).padStart(9)
      } k msg/s ±${(m.spread * 100).toFixed(0).padStart(2)}%  ${ratios}`
    )
  }
  return measured
}
