/**
 * Bad keys of DESIGN 2.1: an empty or non-string key fails with `CacheInvalidInputError` code `INVALID_KEY`, and
 * nothing reaches the backend.
 *
 * @internal
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Cache from "../../Cache.js"
import type * as CacheError from "../../CacheError.js"
import { cacheError, collectKeys, expectHit, type Harness, untypedKey } from "./harness.js"

type Operation = (cache: Cache.Cache.Service, key: string) => Effect.Effect<unknown, CacheError.CacheError>

const operationsWithKey: ReadonlyArray<readonly [string, Operation]> = [
  ["get", (cache, key) => cache.get(key)],
  ["getMany", (cache, key) => cache.getMany(["valid", key])],
  ["set", (cache, key) => cache.set(key, "v")],
  [
    "setMany",
    (cache, key) =>
      cache.setMany([
        ["valid", "v"],
        [key, "v"]
      ])
  ],
  ["add", (cache, key) => cache.add(key, "v")],
  ["delete", (cache, key) => cache.delete(key)],
  ["deleteMany", (cache, key) => cache.deleteMany(["valid", key])],
  ["has", (cache, key) => cache.has(key)],
  ["timeToLive", (cache, key) => cache.timeToLive(key)],
  ["expire", (cache, key) => cache.expire(key, 1_000)],
  ["persist", (cache, key) => cache.persist(key)],
  ["increment", (cache, key) => cache.increment(key)],
  ["decrement", (cache, key) => cache.decrement(key, 2n)],
  ["getOrSet", (cache, key) => cache.getOrSet(key, Effect.succeed("v"))],
  ["forSchema(...).get", (cache, key) => cache.forSchema(Schema.String).get(key)],
  ["forSchema(...).set", (cache, key) => cache.forSchema(Schema.String).set(key, "v")]
]

const badKeys: ReadonlyArray<readonly [string, string]> = [
  ["an empty string", ""],
  ["a number", untypedKey(42)],
  ["undefined", untypedKey(undefined)],
  ["null", untypedKey(null)],
  ["an object", untypedKey({ toString: () => "key" })]
]

/** @internal */
export const invalidInput = ({ test }: Harness): void => {
  describe("invalid keys", () => {
    for (const [name, operation] of operationsWithKey) {
      test(`${name} refuses an empty or non-string key with INVALID_KEY and sends nothing`, ({ ns }) =>
        Effect.gen(function* () {
          // An empty key would be the namespace prefix itself: make sure it holds nothing before and after.
          yield* ns.set("valid", "before")
          for (const [label, key] of badKeys) {
            const error = yield* cacheError(operation(ns, key), "CacheInvalidInputError", ["INVALID_KEY"])
            assert.strictEqual(error.operation.length > 0, true, `operation of the error for ${label}`)
          }
          assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["valid"])
          expectHit(yield* ns.get("valid"), "before")
          assert.deepStrictEqual(yield* collectKeys(ns.namespace("child").keys()), [])
        }))
    }

    test("a bad key in the root view is refused too", ({ root }) =>
      Effect.gen(function* () {
        yield* cacheError(root.set("", "v"), "CacheInvalidInputError", ["INVALID_KEY"])
        yield* cacheError(root.get(untypedKey(7)), "CacheInvalidInputError", ["INVALID_KEY"])
        yield* cacheError(root.increment(""), "CacheInvalidInputError", ["INVALID_KEY"])
      }))
  })
}
