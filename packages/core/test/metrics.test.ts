import { Cache } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
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
})
