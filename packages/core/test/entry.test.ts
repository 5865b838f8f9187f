/**
 * `entry(key)` beyond what the conformance suite checks: a handle is typed by the view it came from, a handle of a
 * view made from a bad argument fails with that view's error, and the module-level `Cache.entry` reaches the service
 * in context.
 */
import { Cache, CacheResult } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

describe("entry(key)", () => {
  it.effect("a typed view's handle takes and answers the schema's type", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const handle = cache.forSchema(Schema.Date).entry("d")
      // @ts-expect-error a handle of a Date view writes dates only
      const wrong = () => handle.set("not a date")
      assert.isFunction(wrong)
      yield* handle.set(new Date(0))
      const read: CacheResult.CacheResult<Date> = yield* handle.get()
      assert.deepStrictEqual(read, CacheResult.hit(new Date(0)))
      const looked: Date = yield* handle.getOrSet(Effect.succeed(new Date(1)))
      assert.deepStrictEqual(looked, new Date(0))
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.effect("a handle of a view made from a bad argument fails with that view's error", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const handle = cache.namespace("").entry("k")
      const error = yield* Effect.flip(handle.set("v"))
      assert.strictEqual(error._tag, "CacheInvalidInputError")
      assert.strictEqual(error.code, "INVALID_ARGUMENT")
      assert.strictEqual(error.operation, "set")
      assert.strictEqual((yield* Effect.flip(handle.get({ timeToLive: "1 minute" }))).operation, "get")
      assert.deepStrictEqual(yield* cache.get("k"), CacheResult.miss)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.effect("Cache.entry is the handle of the service in context", () =>
    Effect.gen(function* () {
      const handle = yield* Cache.entry("k")
      yield* handle.set(1, { timeToLive: "1 minute" })
      assert.deepStrictEqual(yield* Cache.get("k"), CacheResult.hit(1))
      assert.isTrue(yield* handle.persist())
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})
