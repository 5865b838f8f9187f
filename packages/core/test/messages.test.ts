import { Cache, Codec } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

describe("errors say what to do, and never quote a value", () => {
  it.scoped("a decode error names the schema path that failed", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      yield* cache.set("user", { name: "Ada", address: { zip: "private-zip" } })
      const typed = cache.forSchema(
        Schema.Struct({ name: Schema.String, address: Schema.Struct({ zip: Schema.Number }) })
      )
      const error = yield* Effect.flip(typed.get("user"))
      assert.strictEqual(error._tag, "CacheDecodeError")
      assert.include(error.message, "at address.zip")
      assert.notInclude(error.message, "private-zip")
      const many = yield* Effect.flip(typed.getMany(["user"]))
      assert.include(many.message, "at address.zip")
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("an encode error names the schema path, or the codec's reason", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const typed = cache.forSchema(Schema.Struct({ age: Schema.Number.pipe(Schema.positive()) }))
      const schemaError = yield* Effect.flip(typed.set("u", { age: -3 }))
      assert.strictEqual(schemaError.code, "SCHEMA_ENCODE_FAILED")
      assert.include(schemaError.message, "at age")
      assert.notInclude(schemaError.message, "-3")
      const undefinedError = yield* Effect.flip(cache.set("u", undefined))
      assert.strictEqual(undefinedError.code, "UNSUPPORTED_VALUE")
      assert.include(undefinedError.message, "store null, or use Codec.msgPack")
      assert.isFalse(yield* cache.has("u"))
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("increment under a codec other than JSON is refused, and nothing is written", () =>
    Effect.gen(function* () {
      const cache = yield* Cache.Cache
      const error = yield* Effect.flip(cache.increment("counter"))
      assert.strictEqual(error._tag, "CacheInvalidInputError")
      assert.include(error.message, "counters need the JSON codec")
      assert.include(error.message, "msgpack")
      assert.isFalse(yield* cache.has("counter"))
    }).pipe(Effect.provide(MemoryCache.layer({ codec: Codec.msgPack })))
  )
})
