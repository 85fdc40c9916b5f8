/**
 * `tsx bench/cpuprofile.ts <file.cpuprofile> [top = 25]`: where a `node --cpu-prof` profile spent
 * its time: the functions with the most self time, the most inclusive time (each sample counted
 * once per function on its stack), and self time by source (this repo's files, effect, node).
 * Percentages are of the time not idle. `ECHO_PROFILE=<dir> npm run bench:echo` writes the echo
 * servers' profiles.
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const file = process.argv[2]
if (file === undefined) throw new Error("usage: tsx bench/cpuprofile.ts <file.cpuprofile> [top]")
const top = Number(process.argv[3] ?? 25)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

const shortUrl = (url: string): string => {
  const at = url.lastIndexOf("/node_modules/")
  if (at >= 0) return url.slice(at + "/node_modules/".length)
  const src = url.search(/\/(src|bench|test|examples)\//)
  if (src >= 0) return url.slice(src + 1)
  return url.replace(/^file:\/\//, "")
}

const area = (url: string): string => {
  const short = shortUrl(url)
  if (short === "") return "(native, gc, program)"
  if (short.startsWith("node:")) return "node internals"
  if (short.startsWith("src/internal/")) return short
  if (short.startsWith("src/")) return short
  const pkg = short.match(/^(@[^/]+\/[^/]+|[^/]+)\//)
  if (pkg !== null) {
    const effect = short.match(/^effect\/dist\/esm\/(internal\/[^/]+|[^/]+)/)
    return effect !== null ? `effect: ${effect[1]}` : pkg[1]!
  }
  return short
}

const byId = new Map<number, ProfileNode>()
const parent = new Map<number, number>()
for (const node of profile.nodes) {
  byId.set(node.id, node)
  for (const child of node.children ?? []) parent.set(child, node.id)
}
const keyOf = (node: ProfileNode) => {
  const { functionName, lineNumber, url } = node.callFrame
  const name = functionName === "" ? "(anonymous)" : functionName
  return url === "" ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`
}

const self = new Map<string, number>()
const inclusive = new Map<string, number>()
const areas = new Map<string, number>()
let total = 0
let idle = 0
for (let i = 0; i < profile.samples.length; i++) {
  // A sample's delta is the time until the next sample: charge it to the next sample's node.
  const delta = profile.timeDeltas[i + 1] ?? 0
  const node = byId.get(profile.samples[i]!)!
  if (node.callFrame.functionName === "(idle)") {
    idle += delta
    continue
  }
  total += delta
  const key = keyOf(node)
  self.set(key, (self.get(key) ?? 0) + delta)
  const where = area(node.callFrame.url)
  areas.set(where, (areas.get(where) ?? 0) + delta)
  const seen = new Set<string>()
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const k = keyOf(byId.get(id)!)
    if (seen.has(k)) continue
    seen.add(k)
    inclusive.set(k, (inclusive.get(k) ?? 0) + delta)
  }
}

const print = (title: string, entries: Map<string, number>, count: number) => {
  console.log(`\n${title}`)
  for (const [key, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    const share = (micros / total * 100).toFixed(1).padStart(5)
    console.log(`  ${share}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${key}`)
  }
}

console.log(`${file}: ${(total / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle`)
print("self time by source", areas, top)
print("self time by function", self, top)
const roots = new Set(["(root)", "(program)"])
print(
  "inclusive time by function",
  new Map([...inclusive].filter(([key]) => !roots.has(key))),
  top
)
