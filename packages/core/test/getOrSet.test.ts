import { Cache, CacheResult } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { faultyLayer, makeFaults } from "./helpers.js"

const counted = <A>(value: A) =>
  Effect.map(Ref.make(0), (calls) => ({
    calls,
    lookup: Effect.as(
      Ref.update(calls, (n) => n + 1),
      value
    )
  }))

const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("getOrSet: stale serving", () => {
  it.scoped("a stale hit inside staleWhileRevalidate returns at once and one background fiber refreshes it", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 second", staleWhileRevalidate: "10 seconds" } as const
      assert.strictEqual(yield* cache.getOrSet("k", Effect.succeed("old"), options), "old")
      yield* TestClock.adjust("1500 millis")

      const { calls, lookup } = yield* counted("new")
      assert.strictEqual(yield* cache.getOrSet("k", lookup, options), "old")
      yield* settle
      assert.strictEqual(yield* Ref.get(calls), 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit("new"))
      // Fresh again: no further refresh.
      assert.strictEqual(yield* cache.getOrSet("k", lookup, options), "new")
      yield* settle
      assert.strictEqual(yield* Ref.get(calls), 1)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("100 concurrent stale readers start exactly one refresh", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 second", staleWhileRevalidate: "10 seconds" } as const
      yield* cache.getOrSet("k", Effect.succeed(1), options)
      yield* TestClock.adjust("2 seconds")
      const gate = yield* Deferred.make<void>()
      const calls = yield* Ref.make(0)
      const lookup = Effect.zipRight(
        Ref.update(calls, (n) => n + 1),
        Effect.as(Deferred.await(gate), 2)
      )
      const answers = yield* Effect.all(
        Array.from({ length: 100 }, () => cache.getOrSet("k", lookup, options)),
        { concurrency: "unbounded" }
      )
      assert.isTrue(answers.every((answer) => answer === 1))
      yield* settle
      yield* Deferred.succeed(gate, undefined)
      yield* settle
      assert.strictEqual(yield* Ref.get(calls), 1)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.hit(2))
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("a failing lookup inside staleIfError serves the stale value; outside it, the lookup's error", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 second", staleIfError: "5 seconds" } as const
      yield* cache.getOrSet("k", Effect.succeed("stale"), options)
      const failing = Effect.fail("database down" as const)

      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* cache.getOrSet("k", failing, options), "stale")

      yield* TestClock.adjust("3500 millis")
      assert.strictEqual(yield* Effect.flip(cache.getOrSet("k", failing, options)), "database down")
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("fresh entries never run the lookup; stale windows are validated", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const options = { timeToLive: "1 second", staleWhileRevalidate: "1 second", staleIfError: "3 seconds" } as const
      yield* cache.getOrSet("k", Effect.succeed(1), options)
      const { calls, lookup } = yield* counted(2)
      yield* TestClock.adjust("900 millis")
      assert.strictEqual(yield* cache.getOrSet("k", lookup, options), 1)
      assert.strictEqual(yield* Ref.get(calls), 0)
      // Stored for freshness plus the longest window.
      const ttl = yield* cache.timeToLive("k")
      assert.isTrue(CacheResult.isHit(ttl))
      const bad = yield* Effect.flip(cache.getOrSet("k", lookup, { staleWhileRevalidate: -1 }))
      assert.strictEqual(bad._tag, "CacheInvalidInputError")
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})

describe("getOrSet: backend failures", () => {
  it.scoped("default: a down backend surfaces CacheUnavailableError and the lookup does not run", () => {
    const faults = makeFaults()
    return Effect.gen(function* () {
      const cache = yield* Cache.Cache
      faults.down = true
      const { calls, lookup } = yield* counted(1)
      const error = yield* Effect.flip(cache.getOrSet("k", lookup))
      assert.strictEqual(error._tag, "CacheUnavailableError")
      assert.strictEqual(error.operation, "getOrSet")
      assert.strictEqual(yield* Ref.get(calls), 0)
    }).pipe(Effect.provide(faultyLayer(faults)))
  })

  it.scoped("onCacheError: bypass runs the lookup when the backend is down", () => {
    const faults = makeFaults()
    return Effect.gen(function* () {
      const cache = yield* Cache.Cache
      faults.down = true
      const { calls, lookup } = yield* counted("fresh")
      assert.strictEqual(yield* cache.getOrSet("k", lookup, { onCacheError: "bypass" }), "fresh")
      assert.strictEqual(yield* Ref.get(calls), 1)
      faults.down = false
      // The write was skipped while down: the next read is a miss, not a stale surprise.
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
    }).pipe(Effect.provide(faultyLayer(faults)))
  })

  it.scoped("an interrupted leader hands over to a waiter; nothing is stored meanwhile", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const calls = yield* Ref.make(0)
      const lookup = Effect.zipRight(
        Ref.updateAndGet(calls, (n) => n + 1),
        Effect.sleep("1 second")
      ).pipe(Effect.as("v"))
      const leader = yield* Effect.fork(cache.getOrSet("k", lookup))
      yield* settle
      const waiter = yield* Effect.fork(cache.getOrSet("k", lookup))
      yield* settle
      yield* Fiber.interrupt(leader)
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(waiter), "v")
      assert.strictEqual(yield* Ref.get(calls), 2)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})

describe("getOrSet: healing is visible", () => {
  it.scoped("an entry that does not decode is counted on every heal and logged once per key and cause", () => {
    const lines: Array<string> = []
    const logger = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
      })
    )
    return Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const namespace = `heal-${Math.random().toString(36).slice(2)}`
      const base = cache.namespace(namespace)
      const typed = base.forSchema(Schema.Struct({ count: Schema.Number }))
      yield* base.set("ada@example.com", { count: "private-value" })
      yield* base.set("other", { count: "private-value" })
      // A zero time-to-live stores nothing, so the bad entry stays and every call heals again.
      for (let i = 0; i < 5; i++) {
        assert.deepStrictEqual(
          yield* typed.getOrSet("ada@example.com", Effect.succeed({ count: i }), { timeToLive: 0 }),
          { count: i }
        )
      }
      yield* typed.getOrSet("other", Effect.succeed({ count: 1 }), { timeToLive: 0 })
      const heals = (yield* Cache.metricsSnapshot).find(
        (row) => row.name === "cachet_decode_heals_total" && row.labels.namespace === namespace
      )
      assert.strictEqual(heals?.value, 6)
      assert.strictEqual(lines.length, 2, "one line per key and cause")
      for (const line of lines) {
        assert.include(line, "WARN")
        assert.include(line, "SCHEMA_MISMATCH at count")
        assert.notInclude(line, "private-value")
        assert.notInclude(line, "ada@example.com")
      }
    }).pipe(Effect.provide(MemoryCache.layer()), Effect.provide(logger))
  })
})

describe("Cache.cached: arguments from an untyped caller", () => {
  it.scoped("options that are not an object, a key or bypass that is not a function, or no function, fail typed", () =>
    Effect.gen(function* () {
      type Options = { readonly key: () => string }
      const untyped = <T>(value: unknown): T => value as T
      const fn = () => Effect.succeed(1)
      const made = [
        Cache.cached(untyped<Options>(null))(fn),
        Cache.cached(untyped<Options>({}))(fn),
        Cache.cached(untyped<Options>({ key: "k" }))(fn),
        Cache.cached(untyped<Options>({ key: () => "k", bypass: true }))(fn),
        Cache.cached({ key: () => "k" })(untyped<typeof fn>(5))
      ]
      for (const cachedFn of made) {
        const errors = [yield* Effect.flip(cachedFn()), yield* Effect.flip(cachedFn.invalidate())]
        for (const error of errors) {
          assert.deepInclude(error, { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT", operation: "getOrSet" })
        }
      }
      assert.isFalse(yield* Cache.has("k"))
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})
