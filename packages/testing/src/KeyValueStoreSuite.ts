/**
 * The `KeyValueStore` contract for the `@effect/platform` bridge, run on any cache layer: Redis as a
 * `KeyValueStore` must behave as `KeyValueStore` users expect.
 *
 * @since 0.1.0
 */

import * as Cache from "@cachet/core/Cache"
import * as CacheKeyValueStore from "@cachet/core/CacheKeyValueStore"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * Register the `KeyValueStore` contract (get, set, remove, has, isEmpty, size, clear, modify, forSchema, bytes)
 * for `CacheKeyValueStore.layer` on top of a cache layer, as `@effect/vitest` tests.
 *
 * @example
 * ```ts
 * import { KeyValueStoreSuite } from "@cachet/testing"
 * import { MemoryCache } from "@cachet/memory"
 *
 * KeyValueStoreSuite.run("CacheKeyValueStore on MemoryCache", MemoryCache.layer())
 * ```
 *
 * @since 0.1.0
 * @category tests
 */
export const run = <E>(name: string, layer: Layer.Layer<Cache.Cache, E>): void => {
  describe(name, () => {
    // A namespace of its own per run, so that runs sharing one server do not see each other's keys.
    const namespace = `kv-${Math.random().toString(36).slice(2, 10)}`
    const store = CacheKeyValueStore.layer({ namespace }).pipe(Layer.provideMerge(layer))

    it.scoped("get, set, remove, has, isEmpty, size, clear", () =>
      Effect.gen(function* () {
        const kv = yield* KeyValueStore.KeyValueStore
        yield* kv.clear
        assert.isTrue(yield* kv.isEmpty)
        assert.deepStrictEqual(yield* kv.get("a"), Option.none())
        yield* kv.set("a", "1")
        yield* kv.set("b", "")
        assert.deepStrictEqual(yield* kv.get("a"), Option.some("1"))
        assert.deepStrictEqual(yield* kv.get("b"), Option.some(""))
        assert.isTrue(yield* kv.has("a"))
        assert.strictEqual(yield* kv.size, 2)
        yield* kv.remove("a")
        yield* kv.remove("never-there")
        assert.isFalse(yield* kv.has("a"))
        assert.strictEqual(yield* kv.size, 1)

        // clear is scoped to the store's namespace: the cache's other keys survive.
        yield* Cache.set("outside", "keep")
        yield* kv.clear
        assert.strictEqual(yield* kv.size, 0)
        assert.isTrue(yield* Cache.has("outside"))
        yield* Cache.delete("outside")
      }).pipe(Effect.provide(store))
    )

    it.scoped("Uint8Array values, and strings read as bytes", () =>
      Effect.gen(function* () {
        const kv = yield* KeyValueStore.KeyValueStore
        const bytes = new Uint8Array([0, 1, 2, 255, 128])
        yield* kv.set("bin", bytes)
        assert.deepStrictEqual(yield* kv.getUint8Array("bin"), Option.some(bytes))
        yield* kv.set("text", "héllo")
        assert.deepStrictEqual(yield* kv.getUint8Array("text"), Option.some(new TextEncoder().encode("héllo")))
        assert.deepStrictEqual(yield* kv.get("bin"), Option.some(new TextDecoder().decode(bytes)))
        yield* kv.clear
      }).pipe(Effect.provide(store))
    )

    it.scoped("modify and forSchema", () =>
      Effect.gen(function* () {
        const kv = yield* KeyValueStore.KeyValueStore
        yield* kv.set("n", "1")
        assert.deepStrictEqual(yield* kv.modify("n", (v) => `${v}1`), Option.some("11"))
        assert.deepStrictEqual(yield* kv.modify("absent", (v) => v), Option.none())
        const users = kv.forSchema(Schema.Struct({ name: Schema.String, joined: Schema.Date }))
        yield* users.set("ada", { name: "Ada", joined: new Date(0) })
        assert.deepStrictEqual(yield* users.get("ada"), Option.some({ name: "Ada", joined: new Date(0) }))
        yield* kv.clear
      }).pipe(Effect.provide(store))
    )
  })
}
