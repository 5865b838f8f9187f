/**
 * getOrSet's lookup controls under `TestClock`: soft and hard timeouts whose lookup finishes in the background,
 * refresh ahead of expiry, the fail-safe throttle, decisions from inside the lookup (`Cache.Lookup`), and the
 * refusal of bad controls with nothing written.
 */
import { Cache, type CacheError, CacheResult } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** A lookup that counts its runs and answers `value` after `delay` of the TestClock. */
const slow = <A>(value: A, delay: Duration.DurationInput) => {
  const runs = { count: 0 }
  const lookup = Effect.suspend(() => {
    runs.count++
    return Effect.as(Effect.sleep(delay), value)
  })
  return { runs, lookup }
}

const concurrently = <A, E, R>(n: number, effect: Effect.Effect<A, E, R>) =>
  Effect.fork(
    Effect.all(
      Array.from({ length: n }, () => effect),
      { concurrency: "unbounded" }
    )
  )

const memory = MemoryCache.layer()

describe("getOrSet: soft and hard timeouts", () => {
  it.scoped("softTimeout serves the stale value at the deadline; the lookup ends in the background and stores", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 second", staleIfError: "1 minute", softTimeout: "1 second" } as const
      yield* cache.getOrSet("k", Effect.succeed("old"), options)
      yield* TestClock.adjust("2 seconds")

      const { runs, lookup } = slow("new", "5 seconds")
      const callers = yield* concurrently(10, cache.getOrSet("k", lookup, options))
      yield* settle
      yield* TestClock.adjust("1 second")
      const answers = yield* Effect.flatten(Effect.map(Effect.succeed(callers), (fiber) => fiber.await))
      assert.deepStrictEqual(answers._tag === "Success" ? answers.value : undefined, Array(10).fill("old"))
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("old"))

      // A caller arriving meanwhile joins the running lookup rather than starting another.
      const joiner = yield* Effect.fork(cache.getOrSet("k", lookup, { ...options, softTimeout: "1 minute" }))
      yield* TestClock.adjust("4 seconds")
      yield* settle
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("new"))
      const joined = yield* joiner.await
      assert.deepStrictEqual(joined._tag === "Success" ? joined.value : undefined, "new")
    }).pipe(Effect.provide(memory))
  )

  it.scoped("hardTimeout fails LOOKUP_TIMEOUT at the deadline; the lookup ends in the background and stores", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 minute", hardTimeout: "1 second" } as const
      const { runs, lookup } = slow("value", "5 seconds")
      const callers = yield* concurrently(10, Effect.flip(cache.getOrSet("k", lookup, options)))
      yield* settle
      yield* TestClock.adjust("1 second")
      const exit = yield* callers.await
      assert.strictEqual(exit._tag, "Success")
      if (exit._tag === "Success") {
        for (const error of exit.value) {
          assert.deepInclude(error, {
            _tag: "CacheTimeoutError",
            code: "LOOKUP_TIMEOUT",
            operation: "getOrSet",
            key: "k"
          })
        }
      }
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
      yield* TestClock.adjust("4 seconds")
      yield* settle
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("value"))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("hardTimeout with a stale value under staleIfError serves it; soft then hard both apply", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 second", staleIfError: "1 minute", hardTimeout: "2 seconds" } as const
      yield* cache.getOrSet("k", Effect.succeed("old"), options)
      yield* TestClock.adjust("2 seconds")
      const { runs, lookup } = slow("new", "10 seconds")
      const caller = yield* Effect.fork(cache.getOrSet("k", lookup, options))
      yield* settle
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* caller, "old")
      yield* TestClock.adjust("8 seconds")
      yield* settle
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("new"))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("without a stale value, softTimeout waits for the lookup", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const { lookup } = slow("value", "3 seconds")
      const caller = yield* Effect.fork(cache.getOrSet("k", lookup, { softTimeout: "1 second" }))
      yield* settle
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* caller, "value")
    }).pipe(Effect.provide(memory))
  )
})

describe("getOrSet: a lookup outlives its callers once one of them has a timeout", () => {
  it.scoped("a leader without timeouts interrupted after a joiner timed out: the lookup starts again and stores", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const { runs, lookup } = slow("v", "5 seconds")
      const leader = yield* Effect.fork(cache.getOrSet("k", lookup, { timeToLive: "1 minute" }))
      yield* settle
      const joiner = yield* Effect.fork(
        Effect.flip(cache.getOrSet("k", lookup, { timeToLive: "1 minute", hardTimeout: "1 second" }))
      )
      yield* settle
      yield* TestClock.adjust("1 second")
      assert.deepInclude(yield* Fiber.join(joiner), { _tag: "CacheTimeoutError", code: "LOOKUP_TIMEOUT" })
      yield* Fiber.interrupt(leader)
      yield* settle
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
      // The leader ran the lookup in its own fiber: it starts again in the cache's scope, once, and callers join it.
      assert.strictEqual(runs.count, 2)
      const late = yield* Effect.fork(cache.getOrSet("k", lookup, { timeToLive: "1 minute" }))
      yield* settle
      yield* TestClock.adjust("5 seconds")
      yield* settle
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("v"))
      assert.strictEqual(yield* Fiber.join(late), "v")
      assert.strictEqual(runs.count, 2)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("without a caller that has a timeout, an interrupted leader still stops its lookup and hands over", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const { runs, lookup } = slow("v", "5 seconds")
      const leader = yield* Effect.fork(cache.getOrSet("k", lookup, { timeToLive: "1 minute" }))
      yield* settle
      yield* Fiber.interrupt(leader)
      yield* TestClock.adjust("5 seconds")
      yield* settle
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
      assert.strictEqual(runs.count, 1)
    }).pipe(Effect.provide(memory))
  )
})

describe("getOrSet: refreshAhead", () => {
  it.scoped("100 concurrent hits past 80% of freshness return at once and start exactly one refresh", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "10 seconds", refreshAhead: 0.8 } as const
      yield* cache.getOrSet("k", Effect.succeed(1), options)
      const gate = yield* Deferred.make<void>()
      const runs = { count: 0 }
      const lookup = Effect.suspend(() => {
        runs.count++
        return Effect.as(Deferred.await(gate), 2)
      })

      yield* TestClock.adjust("7 seconds")
      assert.strictEqual(yield* cache.getOrSet("k", lookup, options), 1)
      yield* settle
      assert.strictEqual(runs.count, 0)

      yield* TestClock.adjust("1500 millis")
      const answers = yield* Effect.all(
        Array.from({ length: 100 }, () => cache.getOrSet("k", lookup, options)),
        { concurrency: "unbounded" }
      )
      assert.isTrue(answers.every((answer) => answer === 1))
      yield* settle
      assert.strictEqual(runs.count, 1)
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit(2))
      const ttl = yield* cache.timeToLive("k")
      assert.isTrue(CacheResult.isHit(ttl) && Option.isSome(ttl.value) && Duration.toMillis(ttl.value.value) === 10_000)
      assert.strictEqual(runs.count, 1)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("freshness is the cache's default time-to-live when the call gives none", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      yield* cache.set("k", "old")
      yield* TestClock.adjust("9 seconds")
      const { runs, lookup } = slow("new", 0)
      assert.strictEqual(yield* cache.getOrSet("k", lookup, { refreshAhead: 0.5 }), "old")
      yield* settle
      assert.strictEqual(runs.count, 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("new"))
    }).pipe(Effect.provide(MemoryCache.layer({ defaultTimeToLive: "10 seconds" })))
  )
})

describe("getOrSet: failSafeThrottle", () => {
  it.scoped("after a failed lookup served stale, the stale value is served without a lookup for the throttle", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 second", staleIfError: "1 hour", failSafeThrottle: "30 seconds" } as const
      yield* cache.getOrSet("k", Effect.succeed("old"), options)
      yield* TestClock.adjust("2 seconds")
      const runs = { count: 0 }
      const failing = Effect.suspend(() => {
        runs.count++
        return Effect.fail("source down" as const)
      })
      assert.strictEqual(yield* cache.getOrSet("k", failing, options), "old")
      assert.strictEqual(runs.count, 1)
      for (let i = 0; i < 5; i++) assert.strictEqual(yield* cache.getOrSet("k", failing, options), "old")
      assert.strictEqual(runs.count, 1)
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(yield* cache.getOrSet("k", failing, options), "old")
      assert.strictEqual(runs.count, 2)
      const throttled = (yield* Cache.metricsSnapshot).filter((row) => row.name === "cachet_fail_safe_throttled_total")
      assert.isAtLeast(
        throttled.reduce((sum, row) => sum + row.value, 0),
        5
      )
    }).pipe(Effect.provide(memory))
  )
})

describe("getOrSet: Cache.Lookup", () => {
  it.scoped("the lookup reads the stale value, and decides the time-to-live or not to store", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const seen: Array<Option.Option<unknown>> = []
      const lookup = (value: string, decide: (lookup: Cache.Lookup.Service) => Effect.Effect<void>) =>
        Effect.gen(function* () {
          const context = yield* Cache.Lookup
          seen.push(context.stale)
          yield* decide(context)
          return value
        })
      const options = { timeToLive: "1 second", staleIfError: "1 minute" } as const
      yield* cache.getOrSet(
        "k",
        lookup("first", (l) => l.setTimeToLive("10 seconds")),
        options
      )
      const ttl = yield* cache.timeToLive("k")
      // Stored for its own time-to-live plus the stale window.
      assert.isTrue(CacheResult.isHit(ttl) && Option.isSome(ttl.value) && Duration.toMillis(ttl.value.value) === 70_000)
      yield* TestClock.adjust("11 seconds")
      assert.strictEqual(
        yield* cache.getOrSet(
          "k",
          lookup("second", (l) => l.skipStore),
          options
        ),
        "second"
      )
      assert.deepStrictEqual(seen, [Option.none(), Option.some("first")])
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("first"))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a lookup that does not use it needs nothing more in its requirements", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      // Both compile with no requirement left: the cache provides `Cache.Lookup` to every lookup.
      const used: Effect.Effect<unknown, CacheError.CacheError, never> = cache.getOrSet(
        "k",
        Effect.map(Cache.Lookup, () => "v")
      )
      const plain: Effect.Effect<unknown, CacheError.CacheError, never> = cache.getOrSet("j", Effect.succeed("w"))
      assert.strictEqual(yield* used, "v")
      assert.strictEqual(yield* plain, "w")
    }).pipe(Effect.provide(memory))
  )
})

describe("getOrSet: bad lookup controls", () => {
  it.scoped("are refused with CacheInvalidInputError before the lookup runs, and nothing is written", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const bad: ReadonlyArray<Cache.Cache.GetOrSetOptions<unknown>> = [
        { refreshAhead: 0 },
        { refreshAhead: 1 },
        { refreshAhead: 1.5 },
        { refreshAhead: Number.NaN },
        { refreshAhead: "0.5" as unknown as number },
        { softTimeout: -1 },
        { softTimeout: 0 },
        { hardTimeout: "0 millis" },
        { softTimeout: Duration.infinity },
        { hardTimeout: Number.NaN },
        { softTimeout: "2 seconds", hardTimeout: "1 second" },
        { softTimeout: "1 second", hardTimeout: "1 second" },
        { failSafeThrottle: -5 },
        { failSafeThrottle: "forever" as Duration.DurationInput }
      ]
      const { runs, lookup } = slow("v", 0)
      for (const options of bad) {
        const error = yield* Effect.flip(cache.getOrSet("k", lookup, options))
        assert.deepInclude(error, { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT", operation: "getOrSet" })
      }
      assert.strictEqual(runs.count, 0)
      assert.isFalse(yield* cache.has("k"))
    }).pipe(Effect.provide(memory))
  )
})
