/**
 * Batched cache-aside: one read of every key, one lookup of the misses in order, one write of what it found; the
 * answers in the order of the keys; bad input refused with nothing written.
 */
import { Cache, CacheResult } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

const memory = MemoryCache.layer()

/** A lookupMany that records what it was asked and answers `value:<key>`. */
const recording = () => {
  const asked: Array<ReadonlyArray<string>> = []
  const lookupMany = (missing: ReadonlyArray<string>) =>
    Effect.sync(() => {
      asked.push(missing)
      return missing.map((key) => `value:${key}`)
    })
  return { asked, lookupMany }
}

describe("getOrSetMany", () => {
  it.scoped("one lookup of the misses, in order; answers in the order of the keys; the misses are stored", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      yield* cache.setMany([
        ["b", "cached:b"],
        ["d", "cached:d"]
      ])
      const { asked, lookupMany } = recording()
      const answers = yield* cache.getOrSetMany(["a", "b", "c", "d", "e"], lookupMany, { timeToLive: "1 minute" })
      assert.deepStrictEqual(answers, ["value:a", "cached:b", "value:c", "cached:d", "value:e"])
      assert.deepStrictEqual(asked, [["a", "c", "e"]])
      assert.deepStrictEqual(yield* cache.getMany(["a", "c", "e"]), [
        CacheResult.hit("value:a"),
        CacheResult.hit("value:c"),
        CacheResult.hit("value:e")
      ])
      const ttl = yield* cache.timeToLive("a")
      assert.isTrue(CacheResult.isHit(ttl) && Option.isSome(ttl.value))

      // All hits now: no lookup at all.
      assert.deepStrictEqual(yield* cache.getOrSetMany(["e", "a"], lookupMany), ["value:e", "value:a"])
      assert.strictEqual(asked.length, 1)
      assert.deepStrictEqual(yield* cache.getOrSetMany([], lookupMany), [])
      assert.strictEqual(asked.length, 1)
    }).pipe(Effect.provide(memory))
  )

  it.scoped("a time-to-live of each value; zero returns the value without storing it", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const lookupMany = (missing: ReadonlyArray<string>) => Effect.succeed(missing.map((key) => key.length))
      const answers = yield* cache.getOrSetMany(["x", "long"], lookupMany, {
        timeToLive: (n) => (n === 1 ? 0 : "10 seconds")
      })
      assert.deepStrictEqual(answers, [1, 4])
      assert.isFalse(yield* cache.has("x"))
      yield* TestClock.adjust("10001 millis")
      assert.isFalse(yield* cache.has("long"))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("an entry that does not decode heals: it is looked up and overwritten", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const cache = yield* Cache.make(backend)
      yield* backend.set("cachet:bad", "{not json", undefined)
      const { asked, lookupMany } = recording()
      assert.deepStrictEqual(yield* cache.getOrSetMany(["bad"], lookupMany), ["value:bad"])
      assert.deepStrictEqual(asked, [["bad"]])
      assert.deepStrictEqual(yield* cache.get("bad"), CacheResult.hit("value:bad"))
    })
  )

  it.scoped("a lookup that answers fewer or more values than asked fails typed, and nothing is stored", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      for (const answer of [["one"], ["one", "two", "three"]]) {
        const error = yield* Effect.flip(cache.getOrSetMany(["a", "b"], () => Effect.succeed(answer)))
        assert.deepInclude(error, {
          _tag: "CacheInvalidInputError",
          code: "INVALID_ARGUMENT",
          operation: "getOrSetMany"
        })
      }
      assert.isFalse(yield* cache.has("a"))
      // A failing lookup fails the call with its own error.
      assert.strictEqual(yield* Effect.flip(cache.getOrSetMany(["a"], () => Effect.fail("down" as const))), "down")
    }).pipe(Effect.provide(memory))
  )

  it.scoped(
    "a lookupMany that is not a function, or answers no Effect, fails typed; a hole in its answer is a value",
    () =>
      Effect.gen(function* () {
        const cache = yield* Cache.Cache
        const untyped = <T>(value: unknown): T => value as T
        const lookups: ReadonlyArray<unknown> = [
          null,
          5,
          (missing: ReadonlyArray<string>) => missing,
          (missing: ReadonlyArray<string>) => Promise.resolve(missing)
        ]
        for (const lookupMany of lookups) {
          const error = yield* Effect.flip(
            cache.getOrSetMany(
              ["a", "b"],
              untyped<(missing: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>>>(lookupMany)
            )
          )
          assert.deepInclude(error, {
            _tag: "CacheInvalidInputError",
            code: "INVALID_ARGUMENT",
            operation: "getOrSetMany"
          })
        }
        // `[, "b"]` answers `undefined` for "a", which the JSON codec refuses as it refuses an explicit `undefined`.
        const sparse: Array<string> = []
        sparse[1] = "value:b"
        const error = yield* Effect.flip(cache.getOrSetMany(["a", "b"], () => Effect.succeed(sparse)))
        assert.deepInclude(error, { _tag: "CacheEncodeError", operation: "getOrSetMany" })
        assert.deepStrictEqual(yield* cache.getMany(["a", "b"]), [CacheResult.miss, CacheResult.miss])
      }).pipe(Effect.provide(memory))
  )

  it.scoped("a key listed twice is looked up once and answered wherever it is listed", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      yield* cache.set("b", "cached:b")
      const { asked, lookupMany } = recording()
      const answers = yield* cache.getOrSetMany(["a", "b", "a", "c", "b"], lookupMany)
      assert.deepStrictEqual(answers, ["value:a", "cached:b", "value:a", "value:c", "cached:b"])
      assert.deepStrictEqual(asked, [["a", "c"]])
    }).pipe(Effect.provide(memory))
  )

  it.scoped("bad keys and bad options are refused before anything is read, looked up or written", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const { asked, lookupMany } = recording()
      const refused = [
        cache.getOrSetMany(["a", ""], lookupMany),
        cache.getOrSetMany(["a"], lookupMany, { timeToLive: -1 }),
        cache.getOrSetMany(["a"], lookupMany, { timeToLiveJitter: 2 }),
        cache.getOrSetMany(["a"], lookupMany, { onCacheError: "ignore" as "fail" })
      ]
      for (const call of refused) {
        const error = yield* Effect.flip(call)
        assert.deepInclude(error, { _tag: "CacheInvalidInputError", operation: "getOrSetMany" })
      }
      assert.deepStrictEqual(asked, [])
      assert.isFalse(yield* cache.has("a"))
    }).pipe(Effect.provide(memory))
  )

  it.scoped("the accessor, with a schema", () =>
    Effect.gen(function* () {
      const answers = yield* Cache.getOrSetMany(["n"], (missing) => Effect.succeed(missing.map(() => 7)), {
        timeToLive: "1 minute"
      })
      assert.deepStrictEqual(answers, [7])
    }).pipe(Effect.provide(memory))
  )
})
