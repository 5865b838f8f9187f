// Summarise a .cpuprofile: self time per function (name, file, line), the top 30, as % of all samples.
import { readFileSync } from "node:fs"

const profile = JSON.parse(readFileSync(process.argv[2], "utf8"))
const limit = Number(process.argv[3] ?? "30")
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const counts = new Map()
for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1)
const self = new Map()
let total = 0
for (const [id, count] of counts) {
  const frame = byId.get(id).callFrame
  const file = frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/\/work\/main\//, "")
  const where = `${frame.functionName || "(anonymous)"}  ${file}:${frame.lineNumber + 1}`
  self.set(where, (self.get(where) ?? 0) + count)
  total += count
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, limit)
for (const [where, count] of rows) console.log(`${((100 * count) / total).toFixed(1).padStart(5)}%  ${where}`)
