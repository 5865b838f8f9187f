import { Cache } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { operationCount } from "./helpers.js"

describe("metrics", () => {
  it.scoped("count operations by outcome and time them", () =>
    Effect.gen(function* () {
      const namespace = `metrics-${Math.random().toString(36).slice(2)}`
      const cache = (yield* Cache.Cache).namespace(namespace)
      yield* cache.set("a", 1)
      yield* cache.get("a")
      yield* cache.get("a")
      yield* cache.get("missing")
      yield* Effect.flip(cache.set("b", 1n))
      yield* cache.getMany(["a", "b"])

      assert.strictEqual(yield* operationCount(namespace, "set", "ok"), 1)
      assert.strictEqual(yield* operationCount(namespace, "set", "error"), 1)
      assert.strictEqual(yield* operationCount(namespace, "get", "hit"), 2)
      assert.strictEqual(yield* operationCount(namespace, "get", "miss"), 1)
      assert.strictEqual(yield* operationCount(namespace, "getMany", "hit"), 1)

      const histogram = yield* Metric.value(
        Cache.metrics.duration.pipe(
          Metric.tagged("backend", "memory"),
          Metric.tagged("namespace", namespace),
          Metric.tagged("operation", "get")
        )
      )
      assert.strictEqual(histogram.count, 3)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("a get that resets the expiry, and one through an entry handle, count as gets: hit or miss", () =>
    Effect.gen(function* () {
      const namespace = `sliding-${Math.random().toString(36).slice(2)}`
      const cache = (yield* Cache.Cache).namespace(namespace)
      yield* cache.set("a", 1)
      yield* cache.get("a", { timeToLive: "1 minute" })
      yield* cache.entry("a").get({ timeToLive: "1 minute" })
      yield* cache.get("missing", { timeToLive: "1 minute" })
      yield* cache.entry("missing").get()
      assert.strictEqual(yield* operationCount(namespace, "get", "hit"), 2)
      assert.strictEqual(yield* operationCount(namespace, "get", "miss"), 2)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("single-flight joins and stale serves are counted", () =>
    Effect.gen(function* () {
      const namespace = `joins-${Math.random().toString(36).slice(2)}`
      const cache = (yield* Cache.Cache).namespace(namespace)
      const labels = (metric: Metric.Metric.Counter<number>) =>
        Metric.value(metric.pipe(Metric.tagged("backend", "memory"), Metric.tagged("namespace", namespace)))
      const slow = Effect.as(Effect.sleep("1 second"), 1)
      const fiber = yield* Effect.fork(
        Effect.all(
          Array.from({ length: 10 }, () => cache.getOrSet("c", slow)),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("1 second")
      yield* fiber.await
      assert.strictEqual((yield* labels(Cache.metrics.singleFlightJoins)).count, 9)

      const options = { timeToLive: "1 second", staleWhileRevalidate: "1 minute" } as const
      yield* cache.getOrSet("s", Effect.succeed(1), options)
      yield* TestClock.adjust("2 seconds")
      yield* cache.getOrSet("s", Effect.succeed(2), options)
      assert.strictEqual((yield* labels(Cache.metrics.staleServed)).count, 1)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("a getOrSet past freshness counts as what it did: stale when served stale, miss when it looked up", () =>
    Effect.gen(function* () {
      const namespace = `fresh-${Math.random().toString(36).slice(2)}`
      const cache = (yield* Cache.Cache).namespace(namespace)
      const revalidate = { timeToLive: "1 second", staleWhileRevalidate: "1 minute" } as const
      const ifError = { timeToLive: "1 second", staleIfError: "1 minute" } as const
      yield* cache.getOrSet("r", Effect.succeed(1), revalidate) // miss
      yield* cache.getOrSet("r", Effect.succeed(1), revalidate) // hit
      yield* cache.getOrSet("e", Effect.succeed(1), ifError) // miss
      yield* TestClock.adjust("2 seconds")
      yield* cache.getOrSet("r", Effect.succeed(2), revalidate) // stale, refreshed in the background
      yield* cache.getOrSet("e", Effect.succeed(2), ifError) // past freshness: the lookup ran
      assert.strictEqual(yield* operationCount(namespace, "getOrSet", "hit"), 1)
      assert.strictEqual(yield* operationCount(namespace, "getOrSet", "stale"), 1)
      assert.strictEqual(yield* operationCount(namespace, "getOrSet", "miss"), 3)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("metricsSnapshot reads every series with its labels", () =>
    Effect.gen(function* () {
      const namespace = `snapshot-${Math.random().toString(36).slice(2)}`
      const cache = (yield* Cache.Cache).namespace(namespace)
      yield* cache.get("a")
      yield* cache.get("b")
      const rows = (yield* Cache.metricsSnapshot).filter((row) => row.labels.namespace === namespace)
      const misses = rows.find(
        (row) =>
          row.name === "cachet_operations_total" && row.labels.operation === "get" && row.labels.outcome === "miss"
      )
      assert.strictEqual(misses?.value, 2)
      assert.deepStrictEqual(misses?.labels, {
        backend: "memory",
        namespace,
        operation: "get",
        outcome: "miss",
        tier: "remote"
      })
      const duration = rows.find((row) => row.name === "cachet_operation_duration_seconds")
      assert.strictEqual(duration?.value, 2)
      assert.isNumber(duration?.sum)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("tag invalidations: calls and entries removed, in the snapshot", () =>
    Effect.gen(function* () {
      const namespace = `tags-${Math.random().toString(36).slice(2)}`
      const cache = (yield* Cache.Cache).namespace(namespace)
      yield* cache.setMany(
        [
          ["a", 1],
          ["b", 2]
        ],
        { tags: ["t"] }
      )
      yield* cache.invalidateTags(["t"])
      yield* cache.invalidateTags(["t"])
      const rows = (yield* Cache.metricsSnapshot).filter((row) => row.labels.namespace === namespace)
      const value = (name: string) => rows.find((row) => row.name === name)?.value
      assert.strictEqual(value("cachet_tag_invalidations_total"), 2)
      assert.strictEqual(value("cachet_tag_invalidated_entries_total"), 2)
      assert.strictEqual(yield* operationCount(namespace, "invalidateTags", "ok"), 2)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})

describe("refused arguments", () => {
  it.scoped("are operations too: counted with outcome error, whatever the argument (a key, an option, a tag)", () =>
    Effect.gen(function* () {
      const namespace = `refused-${Math.random().toString(36).slice(2)}`
      const cache = (yield* Cache.Cache).namespace(namespace)
      yield* Effect.flip(cache.get(""))
      yield* Effect.flip(cache.set("a\u0000b", 1))
      yield* Effect.flip(cache.set("k", 1, { timeToLive: -1 }))
      yield* Effect.flip(cache.set("k", 1, { tags: [""] }))
      yield* Effect.flip(cache.getOrSet("", Effect.succeed(1)))
      yield* Effect.flip(cache.increment("k", 1.5))
      yield* Effect.flip(Stream.runDrain(cache.keys("\u0000")))
      // An option that throws when read (a getter) is refused, and counted, as any other.
      const throwing = Object.defineProperty({}, "timeToLive", {
        get: () => {
          throw new Error("the getter broke")
        }
      })
      yield* Effect.flip(cache.set("k", 1, throwing))
      assert.strictEqual(yield* operationCount(namespace, "get", "error"), 1)
      assert.strictEqual(yield* operationCount(namespace, "set", "error"), 4)
      assert.strictEqual(yield* operationCount(namespace, "getOrSet", "error"), 1)
      assert.strictEqual(yield* operationCount(namespace, "increment", "error"), 1)
      assert.strictEqual(yield* operationCount(namespace, "keys", "error"), 1)
      assert.isFalse(yield* cache.has("k"))
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})

describe("metrics: false", () => {
  it.scoped(
    "turns every metric of the cache off: operations, heals, stale serves, joins, tags, the tier, fail-open",
    () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        // A backend whose name no other test uses, so that the snapshot shows this cache's series only.
        const name = `quiet-${Math.random().toString(36).slice(2)}`
        const cache = yield* Cache.make(
          { ...backend, name },
          { metrics: false, local: { capacity: 10, timeToLive: "1 minute" } }
        )
        yield* cache.set("a", 1, { tags: ["t"] })
        yield* cache.get("a")
        yield* cache.get("missing")
        yield* cache.invalidateTags(["t"])
        // A stale serve, a heal (an entry that does not decode), single-flight joins.
        const stale = { timeToLive: "1 second", staleWhileRevalidate: "1 minute" } as const
        yield* cache.getOrSet("s", Effect.succeed(1), stale)
        yield* TestClock.adjust("2 seconds")
        yield* cache.getOrSet("s", Effect.succeed(2), stale)
        yield* cache.set("broken", "text")
        yield* cache.forSchema(Schema.Number).getOrSet("broken", Effect.succeed(3))
        yield* Effect.all(
          Array.from({ length: 3 }, () => cache.getOrSet("joined", Effect.delay(Effect.succeed(4), "1 second"))),
          { concurrency: "unbounded" }
        ).pipe(Effect.fork, Effect.zipLeft(TestClock.adjust("1 second")))
        yield* cache.clear()
        const rows = (yield* Cache.metricsSnapshot).filter((row) => row.labels.backend === name)
        assert.deepStrictEqual(rows, [])
      })
  )
})
