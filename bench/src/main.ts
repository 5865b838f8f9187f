/**
 * `npm run bench` (about four minutes) or `npm run bench -- --quick` (under a minute): Cachet side by side
 * with raw ioredis, lru-cache, an Effect floor, effect/Cache, bentocache and cache-manager, in one process, on a
 * redis-server of its own (and a Redis Cluster of its own for the Cluster workloads). Prints markdown tables: rates per peer, ratios pair by pair, and the targets of
 * the project. `--only=<text>` runs the workloads whose name contains the text (for profiling).
 */
import { execFile } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { startServer } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { clusterGetInFlight } from "./cluster.js"
import { KEY_COUNT, valueBytes } from "./data.js"
import { runDeletePattern } from "./deletePattern.js"
import { documentBytes, makeDocuments } from "./documents.js"
import { type Peer, ratios, runWorkload, type Settings, summarise, type WorkloadResult } from "./measure.js"
import { storeNames } from "./memoryChild.js"
import { makePeers } from "./peers.js"
import * as W from "./workloads.js"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const only = args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length)

const settings: Settings = quick
  ? { targetSeconds: 0.15, repetitions: 3, warmupMillis: 40 }
  : { targetSeconds: 1, repetitions: 3, warmupMillis: 150 }
const DELETE_COUNT = quick ? 10_000 : 100_000
const MEMORY_ENTRIES = quick ? 100_000 : 1_000_000

const log = (line: string) => process.stderr.write(`${line}\n`)
const out = (line = "") => process.stdout.write(`${line}\n`)

const here = path.dirname(fileURLToPath(import.meta.url))

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const fmtRate = (x: number): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(1)
const fmtRatio = (x: number): string => `${x.toFixed(2)}×`
const fmtMicros = (rate: number): string => {
  const us = 1e6 / rate
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2)
}

const peerTable = (result: WorkloadResult, reference: string | undefined, unit: string) => {
  const ref = result.peers.find((p) => p.name === reference)
  out(`### ${result.name}`)
  out()
  out(`| peer | ${unit}/s median | min–max | µs per ${unit} | ${ref === undefined ? "" : `${ref.name} ÷ peer`} |`)
  out("| --- | ---: | ---: | ---: | ---: |")
  for (const peer of result.peers) {
    const s = summarise(peer.rates)
    let cell = ""
    if (ref !== undefined && peer !== ref) {
      const r = summarise(ratios(ref, peer))
      cell = `${fmtRatio(r.median)} (${fmtRatio(r.min)}–${fmtRatio(r.max)})`
    }
    out(
      `| ${peer.name} | ${fmtRate(s.median)} | ${fmtRate(s.min)}–${fmtRate(s.max)} | ${fmtMicros(s.median)} | ${cell} |`
    )
  }
  out()
  out(
    `${result.peers[0]?.ops.toLocaleString("en-US")} ${unit}s per timed run for the first peer; ${settings.repetitions} runs each.`
  )
  out()
}

interface Target {
  readonly workload: string
  readonly text: string
  readonly subject: string
  readonly baseline: string
  /** Met when the median speed ratio subject ÷ baseline is at least this. */
  readonly atLeast: number
  /** Show as a time ratio (baseline speed ÷ subject speed, i.e. subject time ÷ baseline time) instead. */
  readonly asTime?: boolean | undefined
  /** A peer that bounds what the subject can reach, shown against the same baseline. */
  readonly floor?: string | undefined
}

const targets: ReadonlyArray<Target> = [
  {
    workload: "memory get-hit",
    text: "local hit ≥ 2.5× effect/Cache",
    subject: "Cachet local tier",
    baseline: "effect/Cache",
    atLeast: 2.5
  },
  {
    workload: "memory get-hit",
    text: "local hit ≥ 1.0× cache-manager memory",
    subject: "Cachet local tier",
    baseline: "cache-manager memory",
    atLeast: 1
  },
  {
    workload: "memory get-hit",
    text: "local hit ≥ 10× bentocache L1",
    subject: "Cachet local tier",
    baseline: "bentocache L1",
    atLeast: 10
  },
  {
    workload: "memory get-hit",
    text: "local hit, schema view ≥ 2× effect/Cache",
    subject: "Cachet local tier, schema view",
    baseline: "effect/Cache",
    atLeast: 2
  },
  {
    workload: "memory get-hit",
    text: "memory backend (no tier) ≥ 1.0× effect/Cache",
    subject: "Cachet memory",
    baseline: "effect/Cache",
    atLeast: 1,
    floor: W.ENCODED_GET_FLOOR
  },
  {
    workload: "Redis get, 90%",
    text: "local tier ≥ 5× ioredis",
    subject: "Cachet Redis, local tier",
    baseline: "ioredis",
    atLeast: 5
  },
  {
    workload: "Redis set",
    text: "through the tier ≥ 0.95× Cachet Redis without one",
    subject: "Cachet Redis, local tier",
    baseline: "Cachet Redis",
    atLeast: 0.95
  },
  {
    workload: "memory set",
    text: "≥ 2× effect/Cache",
    subject: "Cachet memory",
    baseline: "effect/Cache",
    atLeast: 2,
    floor: W.ENCODED_SET_FLOOR
  },
  {
    workload: "Redis get-hit, 64",
    text: "≥ 1.0× ioredis (no auto-pipelining)",
    subject: "Cachet Redis",
    baseline: "ioredis",
    atLeast: 1
  },
  {
    workload: "Redis set",
    text: "≥ 1.0× cache-manager + @keyv/redis",
    subject: "Cachet Redis",
    baseline: "cache-manager + @keyv/redis",
    atLeast: 1
  },
  {
    workload: "Redis getMany",
    text: "≥ 0.95× ioredis MGET",
    subject: "Cachet Redis getMany",
    baseline: "ioredis MGET",
    atLeast: 0.95
  },
  {
    workload: "Redis getMany",
    text: "getOrSetMany, all hits: ≥ 0.9× ioredis MGET",
    subject: "Cachet Redis getOrSetMany",
    baseline: "ioredis MGET",
    atLeast: 0.9
  },
  {
    workload: "Redis getMany",
    text: "≥ 2× cache-manager mget",
    subject: "Cachet Redis getMany",
    baseline: "cache-manager + @keyv/redis mget",
    atLeast: 2
  },
  {
    workload: "Redis get-hit, sequential",
    text: "≥ 0.9× ioredis",
    subject: "Cachet Redis",
    baseline: "ioredis",
    atLeast: 0.9
  },
  {
    workload: "delete",
    text: "≤ 1.15× the time of raw SCAN + UNLINK",
    subject: "Cachet Redis deletePattern",
    baseline: "raw SCAN + UNLINK loop",
    atLeast: 1 / 1.15,
    asTime: true
  },
  {
    workload: "delete",
    text: "≥ 2× faster than bentocache clear",
    subject: "Cachet Redis deletePattern",
    baseline: "bentocache clear",
    atLeast: 2
  }
]

const targetTable = (results: ReadonlyArray<WorkloadResult>) => {
  out("### Targets")
  out()
  out("| workload | target | measured: median (min–max) | |")
  out("| --- | --- | --- | --- |")
  for (const t of targets) {
    const result = results.find((r) => r.name.startsWith(t.workload))
    const subject = result?.peers.find((p) => p.name === t.subject)
    const baseline = result?.peers.find((p) => p.name === t.baseline)
    if (result === undefined || subject === undefined || baseline === undefined) continue
    const r = summarise(ratios(subject, baseline))
    const met = r.median >= t.atLeast
    const shown = t.asTime
      ? `${fmtRatio(1 / r.median)} the time (${fmtRatio(1 / r.max)}–${fmtRatio(1 / r.min)})`
      : `${fmtRatio(r.median)} (${fmtRatio(r.min)}–${fmtRatio(r.max)})`
    out(`| ${result.name} | ${t.text} | ${shown} | ${met ? "met" : "**missed**"} |`)
    const floor = t.floor === undefined ? undefined : result.peers.find((p) => p.name === t.floor)
    if (floor !== undefined) {
      const f = summarise(ratios(floor, baseline))
      const reachable = f.median >= t.atLeast
      out(
        `| ${result.name} | the same ratio for the floor, ${t.floor} | ${fmtRatio(f.median)} (${fmtRatio(f.min)}–${fmtRatio(f.max)}) | ${reachable ? "reachable" : "**out of reach**"} |`
      )
    }
  }
  const get = results.find((r) => r.name.startsWith("memory get-hit"))
  const on = get?.peers.find((p) => p.name === "Cachet memory")
  const off = get?.peers.find((p) => p.name === "Cachet memory (metrics, spans off)")
  if (on !== undefined && off !== undefined) {
    const r = summarise(ratios(off, on))
    out(
      `| memory get-hit | cost of metrics and spans (no target) | off is ${fmtRatio(r.median)} (${fmtRatio(r.min)}–${fmtRatio(r.max)}) the speed of the defaults | |`
    )
  }
  out()
}

// ---------------------------------------------------------------------------------------------------------------
// Memory per entry, one child process per store

const measureMemory = (store: string): Promise<number> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--expose-gc", "--import", "tsx", path.join(here, "memoryChild.ts"), store, String(MEMORY_ENTRIES)],
      { maxBuffer: 1 << 20, timeout: 180_000 },
      (error, stdout, stderr) => {
        if (error !== null) return reject(new Error(`${store}: ${error.message}\n${stderr}`))
        const parsed: unknown = JSON.parse(stdout.trim())
        const bytes = typeof parsed === "object" && parsed !== null ? Reflect.get(parsed, "bytesPerEntry") : undefined
        return typeof bytes === "number" ? resolve(bytes) : reject(new Error(`${store}: bad answer ${stdout}`))
      }
    )
  })

// ---------------------------------------------------------------------------------------------------------------

const main = async () => {
  const cpu = os.cpus()[0]?.model ?? "unknown"
  log(`cachet bench${quick ? " (quick)" : ""}: ${os.availableParallelism()} cores, ${cpu}, Node ${process.version}`)
  let server: Awaited<ReturnType<typeof startServer>> | undefined
  const cleanups: Array<() => Promise<void>> = []
  try {
    server = await startServer()
    log(`redis-server of our own on 127.0.0.1:${server.port}`)
    const peers = await makePeers(server.url)
    cleanups.push(peers.close)
    const wanted = (name: string) => only === undefined || name.includes(only)
    const documents = wanted("20 KB document") ? await makeDocuments(server.url) : undefined
    if (documents !== undefined) cleanups.push(documents.close)

    const workloads: ReadonlyArray<
      readonly [name: string, peers: ReadonlyArray<Peer>, reference: string, unit: string]
    > = [
      ["memory get-hit (sequential)", W.memoryGetHit(peers), "Cachet memory", "op"],
      ["memory set with time-to-live (sequential)", W.memorySet(peers), "Cachet memory", "op"],
      ["memory getOrSet hit path (sequential)", W.memoryGetOrSet(peers), "Cachet memory getOrSet", "op"],
      ["Redis get-hit, sequential", W.redisGetSequential(peers), "Cachet Redis", "op"],
      ["Redis get-hit, 64 in flight", W.redisGetInFlight(peers), "Cachet Redis", "op"],
      ["Redis set with time-to-live, 64 in flight", W.redisSetInFlight(peers), "Cachet Redis", "op"],
      ["Redis get, 90% on 100 hot keys, 64 in flight", W.redisHotGetInFlight(peers), "Cachet Redis", "op"],
      [`Redis getMany of ${W.BATCH} keys (sequential)`, W.redisGetMany(peers), "Cachet Redis getMany", "call"],
      ["Redis getOrSet hit path (sequential)", W.redisGetOrSet(peers), "Cachet Redis getOrSet", "op"],
      ["20 KB document set (sequential)", documents?.set ?? [], "Cachet memory, JSON", "op"],
      ["20 KB document get-hit (sequential)", documents?.get ?? [], "Cachet memory, JSON", "op"]
    ]
    const results: Array<WorkloadResult> = []
    const references = new Map<string, readonly [string, string]>()
    for (const [name, list, reference, unit] of workloads) {
      if (!wanted(name)) continue
      log(`workload: ${name}`)
      results.push(await runWorkload(name, list, settings, log))
      references.set(name, [reference, unit])
    }

    if (wanted("Cluster")) {
      for (const result of await clusterGetInFlight(settings, log)) {
        results.push(result)
        references.set(result.name, ["Cachet Cluster, batching: false", "op"])
      }
    }

    if (wanted("delete")) {
      log(`workload: delete ${DELETE_COUNT} keys by pattern`)
      const admin = new Redis(server.url)
      const bentoConnection = new Redis(server.url)
      const scope = Effect.runSync(Scope.make())
      cleanups.push(async () => {
        admin.disconnect()
        bentoConnection.disconnect()
        await Effect.runPromise(Scope.close(scope, Exit.void))
      })
      const cachet = await Effect.runPromise(Scope.extend(RedisCache.make({ url: server.url, prefix: "del:" }), scope))
      const result = await runDeletePattern(admin, bentoConnection, cachet, DELETE_COUNT, settings.repetitions, log)
      results.push(result)
      references.set(result.name, ["Cachet Redis deletePattern", "key"])
    }

    const memory: Array<readonly [string, number]> = []
    if (wanted("memory per entry")) {
      for (const store of storeNames) {
        log(`memory per entry: ${store}`)
        memory.push([store, await measureMemory(store)])
      }
    }

    out(`## Results${quick ? " (--quick: short runs, not for the README)" : ""}`)
    out()
    out(
      `${os.availableParallelism()} cores, ${cpu}, Node ${process.version}; ${KEY_COUNT.toLocaleString("en-US")} keys, ${valueBytes}-byte JSON values; ${settings.repetitions} runs per peer, interleaved.`
    )
    out()
    targetTable(results)
    for (const result of results) {
      const [reference, unit] = references.get(result.name) ?? [undefined, "op"]
      peerTable(result, reference, unit)
    }
    if (documents !== undefined) {
      out(`### 20 KB document: bytes stored per entry (${documentBytes.toLocaleString("en-US")} bytes of JSON)`)
      out()
      out("| peer | bytes stored |")
      out("| --- | ---: |")
      for (const row of await documents.sizes()) out(row)
      out()
    }
    if (memory.length > 0) {
      out(
        `### Memory per entry at ${MEMORY_ENTRIES.toLocaleString("en-US")} entries (heap after full GC, one process per store)`
      )
      out()
      out("| store | bytes per entry |")
      out("| --- | ---: |")
      for (const [store, bytes] of memory) out(`| ${store} | ${bytes.toFixed(0)} |`)
      out()
    }
  } finally {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`))
    if (server !== undefined) await server.stop()
    log("redis-server stopped")
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error))
    process.exit(1)
  }
)
