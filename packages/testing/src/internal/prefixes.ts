/**
 * Caches with different prefixes on one storage: a prefix without the separator gets one, so `tenant1` never
 * reaches `tenant10`'s keys; the empty prefix reads and writes, but refuses what would list or delete by pattern
 * across the whole backend. Runs only when the backend gives the suite a way to build another cache on the same
 * storage (`withPrefix`).
 *
 * @internal
 */

import * as Cache from "@cachet/core/Cache"
import type { CacheError } from "@cachet/core/CacheError"
import { assert, describe } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { cacheError, collectKeys, expectHit, type Harness } from "./harness.js"

/** A cache on the same storage under `prefix`, its keys cleared when the test ends (when it has a prefix). */
const cacheUnder = (withPrefix: (prefix: string) => Layer.Layer<Cache.Cache, CacheError>, prefix: string) =>
  Effect.gen(function* () {
    const cache = Context.get(yield* Layer.build(withPrefix(prefix)), Cache.Cache)
    if (cache.prefix.length > 0) yield* Effect.addFinalizer(() => Effect.ignore(cache.clear()))
    return cache
  })

/** @internal */
export const prefixes = (
  { test }: Harness,
  withPrefix: ((prefix: string) => Layer.Layer<Cache.Cache, CacheError>) | undefined
): void => {
  if (withPrefix === undefined) return
  describe("prefixes on one storage", () => {
    test("a prefix without the separator gets one: clear and deletePattern of tenant1 leave tenant10's keys", ({
      root,
      id
    }) =>
      Effect.gen(function* () {
        const base = `${root.prefix}${id}-tenant1`
        const tenant1 = yield* cacheUnder(withPrefix, base)
        const tenant10 = yield* cacheUnder(withPrefix, `${base}0`)
        assert.strictEqual(tenant1.prefix, `${base}:`)
        assert.strictEqual(tenant10.prefix, `${base}0:`)
        yield* tenant1.setMany([
          ["x", "tenant1"],
          ["y", "tenant1"]
        ])
        yield* tenant10.setMany([
          ["x", "tenant10"],
          ["y", "tenant10"]
        ])
        assert.deepStrictEqual(yield* collectKeys(tenant1.keys()), ["x", "y"])
        assert.strictEqual(yield* tenant1.deletePattern("x*"), 1)
        assert.strictEqual(yield* tenant1.clear(), 1)
        assert.deepStrictEqual(yield* collectKeys(tenant10.keys()), ["x", "y"])
        expectHit(yield* tenant10.get("x"), "tenant10")
        // A prefix that already ends in the separator is kept as it is.
        const exact = yield* cacheUnder(withPrefix, `${base}0:`)
        assert.strictEqual(exact.prefix, `${base}0:`)
        expectHit(yield* exact.get("y"), "tenant10")
      }))

    test("an empty prefix reads and writes, and refuses keys, deletePattern and clear with EMPTY_PREFIX", ({
      root,
      rootKey
    }) =>
      Effect.gen(function* () {
        const bare = yield* cacheUnder(withPrefix, "")
        assert.strictEqual(bare.prefix, "")
        const key = rootKey("bare")
        yield* bare.set(`${root.prefix}${key}`, "written without a prefix")
        expectHit(yield* bare.get(`${root.prefix}${key}`), "written without a prefix")
        yield* cacheError(bare.deletePattern("*"), "CacheInvalidInputError", ["EMPTY_PREFIX"])
        yield* cacheError(bare.deletePattern(`${root.prefix}*`), "CacheInvalidInputError", ["EMPTY_PREFIX"])
        yield* cacheError(Stream.runDrain(bare.keys()), "CacheInvalidInputError", ["EMPTY_PREFIX"])
        yield* cacheError(Stream.runDrain(bare.keys("*")), "CacheInvalidInputError", ["EMPTY_PREFIX"])
        yield* cacheError(bare.clear(), "CacheInvalidInputError", ["EMPTY_PREFIX"])
        expectHit(yield* root.get(key), "written without a prefix")
        // A namespace of it has a prefix of its own again.
        const inside = bare.namespace(`${root.prefix}${key}-ns`)
        yield* inside.set("k", 1)
        assert.deepStrictEqual(yield* collectKeys(inside.keys()), ["k"])
        assert.strictEqual(yield* inside.clear(), 1)
      }))

    test("a prefix with U+0000 or a lone surrogate is refused with INVALID_KEY", ({ root, id }) =>
      Effect.gen(function* () {
        for (const prefix of [`${root.prefix}${id}\u0000`, `${root.prefix}${id}\uD800:`]) {
          const error = yield* Effect.flip(cacheUnder(withPrefix, prefix))
          assert.deepInclude(error, { _tag: "CacheInvalidInputError", code: "INVALID_KEY" })
        }
      }))
  })
}
