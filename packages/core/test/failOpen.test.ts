import { Cache, CacheResult } from "@cachet/core"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { faultyLayer, makeFaults } from "./helpers.js"

describe("Cache.failOpen", () => {
  it.scoped("reads become misses and writes no-ops while the backend is down; the rest still fails", () => {
    const faults = makeFaults()
    return Effect.gen(function* () {
      const cache = yield* Cache.Cache
      yield* cache.set("k", 1)
      const before = yield* Metric.value(
        Cache.metrics.failOpen.pipe(Metric.tagged("backend", "memory"), Metric.tagged("operation", "get"))
      )
      faults.down = true
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
      assert.deepStrictEqual(yield* cache.getMany(["k", "j"]), [CacheResult.miss, CacheResult.miss])
      assert.isFalse(yield* cache.has("k"))
      assert.deepStrictEqual(yield* cache.timeToLive("k"), CacheResult.miss)
      yield* cache.set("k", 2)
      yield* cache.setMany([["a", 1]])
      assert.isFalse(yield* cache.add("n", 1))
      assert.isFalse(yield* cache.delete("k"))
      assert.strictEqual(yield* cache.deleteMany(["k"]), 0)
      assert.isFalse(yield* cache.expire("k", "1 minute"))
      assert.isFalse(yield* cache.persist("k"))
      assert.strictEqual(yield* cache.deletePattern("*"), 0)
      assert.strictEqual(yield* cache.clear(), 0)
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Stream.runCollect(cache.keys())), [])
      assert.strictEqual(yield* cache.getOrSet("k", Effect.succeed("from lookup")), "from lookup")
      assert.deepStrictEqual(yield* cache.forSchema(Schema.Number).get("k"), CacheResult.miss)
      assert.deepStrictEqual(yield* cache.namespace("ns").get("k"), CacheResult.miss)
      // A read that would reset the expiry, and an entry handle's operations, fail open as the view's do.
      assert.deepStrictEqual(yield* cache.get("k", { timeToLive: "1 minute" }), CacheResult.miss)
      assert.deepStrictEqual(yield* cache.entry("k").get(), CacheResult.miss)
      yield* cache.entry("k").set(3, { keepTimeToLive: true })
      assert.isFalse(yield* cache.namespace("ns").entry("k").has())
      const after = yield* Metric.value(
        Cache.metrics.failOpen.pipe(Metric.tagged("backend", "memory"), Metric.tagged("operation", "get"))
      )
      assert.strictEqual(after.count - before.count, 5)

      // No honest fallback exists for these: they still fail.
      assert.strictEqual((yield* Effect.flip(cache.increment("n"))).code, "CONNECTION_REFUSED")
      assert.strictEqual((yield* Effect.flip(cache.ping))._tag, "CacheUnavailableError")
      // Bad input and unencodable values are the caller's bug, not an outage.
      assert.strictEqual((yield* Effect.flip(cache.set("", 1)))._tag, "CacheInvalidInputError")
      assert.strictEqual((yield* Effect.flip(cache.set("k", 1n)))._tag, "CacheEncodeError")

      faults.down = false
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit(1))
    }).pipe(Effect.provide(Cache.failOpen(faultyLayer(faults))))
  })

  it.scoped("also wraps a service", () => {
    const faults = makeFaults()
    return Effect.gen(function* () {
      const cache = Cache.failOpen(yield* Cache.Cache)
      faults.down = true
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
    }).pipe(Effect.provide(faultyLayer(faults)))
  })

  it.scoped("a getMany argument that is not an iterable is a typed failure, not a throw", () => {
    const faults = makeFaults()
    return Effect.gen(function* () {
      const cache = Cache.failOpen(yield* Cache.Cache)
      // As untyped JavaScript passes it.
      const notKeys: unknown = undefined
      const exit = yield* Effect.exit(Effect.suspend(() => cache.getMany(notKeys as Iterable<string>)))
      assert.deepInclude(exit, { _tag: "Failure" })
      const error = yield* Effect.flip(Effect.suspend(() => cache.getMany(notKeys as Iterable<string>)))
      assert.deepInclude(error, { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" })
    }).pipe(Effect.provide(faultyLayer(faults)))
  })
})

/** Everything logged while `effect` runs, as level and text. */
const capturingLogs = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) => {
      lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
    })
  )

const failOpenCount = (operation: string) =>
  Effect.map(
    Metric.value(
      Cache.metrics.failOpen.pipe(Metric.tagged("backend", "memory"), Metric.tagged("operation", operation))
    ),
    (state) => state.count
  )

describe("degraded calls are visible", () => {
  it.scoped("failOpen + getOrSet during an outage: every call counted, one warning, one line when it ends", () => {
    const faults = makeFaults()
    const lines: Array<string> = []
    return Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const before = yield* failOpenCount("getOrSet")
      const getsBefore = yield* failOpenCount("get")
      faults.down = true
      for (let i = 0; i < 5; i++) {
        assert.strictEqual(yield* cache.getOrSet("ada@example.com", Effect.succeed(i)), i)
        assert.deepStrictEqual(yield* cache.get("ada@example.com"), CacheResult.miss)
      }
      // The read and the store of each getOrSet degrade: one degraded call each.
      assert.strictEqual((yield* failOpenCount("getOrSet")) - before, 5)
      assert.strictEqual((yield* failOpenCount("get")) - getsBefore, 5)
      assert.deepStrictEqual(
        lines.map((line) => line.split(" ")[0]),
        ["WARN"],
        "one warning for the whole outage"
      )
      faults.down = false
      assert.strictEqual(yield* cache.getOrSet("ada@example.com", Effect.succeed(99)), 99)
      assert.strictEqual(yield* cache.getOrSet("ada@example.com", Effect.succeed(100)), 99)
      assert.strictEqual(lines.length, 2)
      assert.include(lines[1], "INFO")
      assert.include(lines[1], "answers again; 10 calls failed open")
      // A second outage is reported again.
      faults.down = true
      yield* cache.get("k")
      assert.strictEqual(lines.length, 3)
      // Keys are personal data: no log line carries one.
      for (const line of lines) assert.notInclude(line, "ada@example.com")
    }).pipe(Effect.provide(Cache.failOpen(faultyLayer(faults))), Effect.provide(capturingLogs(lines)))
  })

  it.scoped("onCacheError: bypass without failOpen is counted and logged once per outage", () => {
    const faults = makeFaults()
    const lines: Array<string> = []
    return Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const before = yield* failOpenCount("getOrSet")
      faults.down = true
      for (let i = 0; i < 3; i++) {
        assert.strictEqual(yield* cache.getOrSet("k", Effect.succeed(i), { onCacheError: "bypass" }), i)
      }
      assert.strictEqual((yield* failOpenCount("getOrSet")) - before, 3)
      assert.strictEqual(lines.length, 1)
      faults.down = false
      yield* cache.getOrSet("k", Effect.succeed(7), { onCacheError: "bypass" })
      assert.strictEqual(lines.length, 2)
    }).pipe(Effect.provide(faultyLayer(faults)), Effect.provide(capturingLogs(lines)))
  })
})

describe("retry option", () => {
  it.scoped("retries idempotent operations through a short outage, never increment or add", () => {
    const faults = makeFaults()
    const retry = Schedule.recurs(3)
    return Effect.gen(function* () {
      const cache = yield* Cache.Cache
      yield* cache.set("k", "v")
      faults.calls.clear()
      faults.failNext = 2
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("v"))
      assert.strictEqual(faults.calls.get("get"), 3)

      faults.failNext = 1
      const error = yield* Effect.flip(cache.increment("n"))
      assert.strictEqual(error._tag, "CacheUnavailableError")
      assert.strictEqual(faults.calls.get("increment"), 1)

      faults.failNext = 1
      assert.strictEqual((yield* Effect.flip(cache.add("a", 1)))._tag, "CacheUnavailableError")
      assert.strictEqual(faults.calls.get("add"), 1)

      // Non-retryable errors are not retried.
      yield* cache.set("text", "x")
      faults.calls.clear()
      assert.strictEqual((yield* Effect.flip(cache.increment("text"))).code, "NOT_INTEGER")
      assert.strictEqual(faults.calls.get("increment"), 1)

      // A longer outage exhausts the schedule and surfaces the error.
      faults.calls.clear()
      faults.down = true
      assert.strictEqual((yield* Effect.flip(cache.get("k")))._tag, "CacheUnavailableError")
      assert.strictEqual(faults.calls.get("get"), 4)
    }).pipe(Effect.provide(faultyLayer(faults, { retry })))
  })
})
