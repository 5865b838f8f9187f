import * as Cache from "@cachet/core/Cache"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const keysOf = (cache: Cache.Cache.View<unknown>) =>
  Effect.map(Stream.runCollect(cache.keys()), (keys) => Chunk.toReadonlyArray(keys).slice().sort())

describe("key spaces on one memory backend", () => {
  it.scoped("prefix tenant1 stores under tenant1:, so its clear leaves tenant10's keys", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const tenant1 = yield* Cache.make(backend, { prefix: "tenant1" })
      const tenant10 = yield* Cache.make(backend, { prefix: "tenant10" })
      assert.strictEqual(tenant1.prefix, "tenant1:")
      yield* tenant1.set("x", 1)
      yield* tenant10.set("x", 10)
      assert.strictEqual(yield* backend.get("tenant1:x"), "1")
      assert.strictEqual(yield* tenant1.clear(), 1)
      assert.strictEqual(yield* backend.get("tenant10:x"), "10")
    })
  )

  it.scoped("an empty prefix refuses deletePattern, keys and clear alike, and deletes nothing", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      yield* backend.set("foreign", "kept", undefined)
      const bare = yield* Cache.make(backend, { prefix: "" })
      yield* bare.set("mine", 1)
      for (const refused of [bare.deletePattern("*"), bare.clear(), Stream.runDrain(bare.keys())]) {
        const error = yield* Effect.flip(refused)
        assert.deepInclude(error, { _tag: "CacheInvalidInputError", code: "EMPTY_PREFIX" })
      }
      assert.strictEqual(yield* backend.get("foreign"), "kept")
    })
  )

  it.scoped("keys() hides exactly the bookkeeping keys (those with U+0000), not user keys ending in lock", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const cache = yield* Cache.make(backend, { prefix: "app:" })
      yield* cache.setMany([
        ["lock", 1],
        ["block", 2],
        ["a:lock", 3]
      ])
      yield* backend.set("app:a\u0000lock", "token", undefined)
      yield* backend.set("app:a\u0000tag", "bookkeeping", undefined)
      assert.deepStrictEqual(yield* keysOf(cache), ["a:lock", "block", "lock"])
    })
  )

  it.effect("a key with a lone surrogate is refused before it reaches the backend", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const cache = yield* Effect.scoped(Cache.make(backend, { prefix: "app:" }))
      yield* cache.set("a\uFFFD", 1)
      const error = yield* Effect.flip(cache.set("a\uD800", 2))
      assert.deepInclude(error, { _tag: "CacheInvalidInputError", code: "INVALID_KEY" })
      assert.deepStrictEqual(yield* keysOf(cache), ["a\uFFFD"])
    })
  )
})
