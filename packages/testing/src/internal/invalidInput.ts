/**
 * Bad arguments, as a JavaScript caller without types may pass them: every one fails with a typed
 * `CacheInvalidInputError` inside the Effect (never a synchronous throw, never a defect), and nothing is written.
 * Keys (and namespace names, patterns) must be non-empty, well-formed UTF-16 (a lone surrogate would become
 * U+FFFD on Redis, merging two keys) and free of U+0000, which the cache reserves for its own bookkeeping.
 *
 * @internal
 */

import type * as Cache from "@cachet/core/Cache"
import type * as CacheError from "@cachet/core/CacheError"
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { cacheError, collectKeys, expectHit, expectNeverExpires, type Harness, untypedKey } from "./harness.js"

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
  ["forSchema(...).set", (cache, key) => cache.forSchema(Schema.String).set(key, "v")],
  ["entry(...).get", (cache, key) => cache.entry(key).get({ timeToLive: 1_000 })],
  ["entry(...).set", (cache, key) => cache.entry(key).set("v", { keepTimeToLive: true })],
  ["entry(...).expire", (cache, key) => cache.entry(key).expire(1_000)],
  ["forSchema(...).entry(...).add", (cache, key) => cache.forSchema(Schema.String).entry(key).add("v")]
]

const badKeys: ReadonlyArray<readonly [string, string]> = [
  ["an empty string", ""],
  ["a number", untypedKey(42)],
  ["undefined", untypedKey(undefined)],
  ["null", untypedKey(null)],
  ["an object", untypedKey({ toString: () => "key" })],
  ["a key with U+0000", "a\u0000lock"],
  ["a key with a lone high surrogate", "a\uD800"],
  ["a key with a lone low surrogate", "\uDC00b"]
]

/** The typed failure of an operation that may also throw or die: both fail the test as "not a typed failure". */
const refused = <A>(
  call: () => Effect.Effect<A, CacheError.CacheError>,
  codes: ReadonlyArray<string>
): Effect.Effect<CacheError.CacheError> => cacheError(Effect.suspend(call), "CacheInvalidInputError", codes)

/** Arguments the types forbid, as untyped JavaScript passes them: the only place the suite bypasses the types. */
const untyped = <T>(value: unknown): T => value as T

const throwingIterable: Iterable<never> = {
  [Symbol.iterator]: () => ({
    next: () => {
      throw new Error("the iterable broke")
    }
  })
}

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

    test("well-formed keys outside the BMP are fine, and stay apart from U+FFFD", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("a\uD83D\uDE00", "emoji")
        yield* ns.set("a\uFFFD", "replacement")
        expectHit(yield* ns.get("a\uD83D\uDE00"), "emoji")
        expectHit(yield* ns.get("a\uFFFD"), "replacement")
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["a\uD83D\uDE00", "a\uFFFD"].sort())
      }))

    test("a bad key in the root view is refused too", ({ root }) =>
      Effect.gen(function* () {
        yield* cacheError(root.set("", "v"), "CacheInvalidInputError", ["INVALID_KEY"])
        yield* cacheError(root.get(untypedKey(7)), "CacheInvalidInputError", ["INVALID_KEY"])
        yield* cacheError(root.increment(""), "CacheInvalidInputError", ["INVALID_KEY"])
      }))
  })

  describe("invalid arguments", () => {
    test("patterns that are not strings, or not valid in a key, are refused and delete nothing", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("valid", "before")
        for (const glob of ["\u0000*", "*\uD800", "\uDFFF"]) {
          yield* refused(() => ns.deletePattern(glob), ["INVALID_KEY"])
          yield* refused(() => Stream.runDrain(ns.keys(glob)), ["INVALID_KEY"])
        }
        for (const glob of [42, null, {}]) {
          yield* refused(() => ns.deletePattern(untyped(glob)), ["INVALID_ARGUMENT"])
          yield* refused(() => Stream.runDrain(ns.keys(untyped(glob))), ["INVALID_ARGUMENT"])
        }
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["valid"])
      }))

    test("bad namespace names give a view whose every operation fails, typed", ({ ns }) =>
      Effect.gen(function* () {
        const names: ReadonlyArray<readonly [unknown, string]> = [
          ["", "INVALID_ARGUMENT"],
          [123, "INVALID_ARGUMENT"],
          [undefined, "INVALID_ARGUMENT"],
          ["a\u0000b", "INVALID_KEY"],
          ["x\uDFFF", "INVALID_KEY"]
        ]
        for (const [name, code] of names) {
          const view = ns.namespace(untyped(name))
          yield* refused(() => view.set("k", "v"), [code])
          yield* refused(() => view.get("k"), [code])
          yield* refused(() => view.clear(), [code])
          yield* refused(() => view.increment("k"), [code])
          yield* refused(() => view.namespace("child").set("k", "v"), [code])
          yield* refused(() => view.forSchema(Schema.String).set("k", "v"), [code])
        }
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))

    test("forSchema of something that is not a Schema gives a view whose every operation fails, typed", ({ ns }) =>
      Effect.gen(function* () {
        for (const schema of [42, null, {}, "string"]) {
          const view = ns.forSchema(untyped<Schema.Schema<string>>(schema))
          yield* refused(() => view.set("k", "v"), ["INVALID_ARGUMENT"])
          yield* refused(() => view.get("k"), ["INVALID_ARGUMENT"])
          yield* refused(() => view.getOrSet("k", Effect.succeed("v")), ["INVALID_ARGUMENT"])
          yield* refused(() => view.namespace("child").set("k", "v"), ["INVALID_ARGUMENT"])
        }
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))

    test("getMany and deleteMany refuse what is not an iterable of keys, or an iterable that throws", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("valid", "before")
        for (const keys of [undefined, null, 123, "ab", {}, throwingIterable]) {
          yield* refused(() => ns.getMany(untyped(keys)), ["INVALID_ARGUMENT"])
          yield* refused(() => ns.deleteMany(untyped(keys)), ["INVALID_ARGUMENT"])
        }
        expectHit(yield* ns.get("valid"), "before")
      }))

    test("setMany refuses entries that are not [key, value] pairs, and writes none of them", ({ ns }) =>
      Effect.gen(function* () {
        const batches: ReadonlyArray<unknown> = [
          undefined,
          null,
          123,
          "ab",
          ["ab"],
          [["valid", 1], ["a"]],
          [
            ["valid", 1],
            ["a", "b", "c"]
          ],
          [["valid", 1], null],
          [["valid", 1], { 0: "a", 1: "b", length: 2 }],
          throwingIterable
        ]
        for (const entries of batches) {
          yield* refused(() => ns.setMany(untyped(entries)), ["INVALID_ARGUMENT"])
        }
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))

    test("options that are not objects are refused and write nothing", ({ ns }) =>
      Effect.gen(function* () {
        for (const options of ["1 minute", 5, null, [], () => {}]) {
          yield* refused(() => ns.set("k", "v", untyped(options)), ["INVALID_ARGUMENT"])
          yield* refused(() => ns.get("k", untyped(options)), ["INVALID_ARGUMENT"])
          yield* refused(() => ns.add("k", "v", untyped(options)), ["INVALID_ARGUMENT"])
          yield* refused(() => ns.setMany([["k", "v"]], untyped(options)), ["INVALID_ARGUMENT"])
          yield* refused(() => ns.getOrSet("k", Effect.succeed("v"), untyped(options)), ["INVALID_ARGUMENT"])
        }
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))

    test("arguments that throw when read (a getter, a Proxy) are refused inside the Effect and write nothing", ({
      ns
    }) =>
      Effect.gen(function* () {
        yield* ns.set("valid", "before")
        const getter = (name: string) =>
          Object.defineProperty({}, name, {
            enumerable: true,
            get: () => {
              throw new Error("the getter broke")
            }
          })
        const hostile = new Proxy(
          {},
          {
            get: () => {
              throw new Error("the proxy broke")
            },
            has: () => {
              throw new Error("the proxy broke")
            },
            ownKeys: () => {
              throw new Error("the proxy broke")
            }
          }
        )
        const brokenIndex = Object.defineProperty(["t"], 0, {
          get: () => {
            throw new Error("the index broke")
          }
        })
        const lookup = Effect.succeed("v")
        const calls: ReadonlyArray<() => Effect.Effect<unknown, CacheError.CacheError>> = [
          () => ns.get("valid", untyped(getter("timeToLive"))),
          () => ns.set("valid", "after", untyped(getter("timeToLive"))),
          () => ns.set("valid", "after", untyped(getter("tags"))),
          () => ns.set("valid", "after", untyped({ timeToLive: hostile })),
          () => ns.set("valid", "after", untyped({ tags: brokenIndex })),
          () => ns.add("fresh", "v", untyped(getter("timeToLive"))),
          () => ns.setMany(untyped([["valid", "after"], brokenIndex])),
          () => ns.setMany([["valid", "after", untyped(getter("timeToLive"))]]),
          () => ns.setMany([["valid", "after"]], untyped(hostile)),
          () => ns.getMany(untyped(hostile)),
          () =>
            ns.deleteMany(
              untyped(
                new Proxy(["valid"], {
                  get: () => {
                    throw new Error("the proxy broke")
                  }
                })
              )
            ),
          () => ns.expire("valid", untyped(hostile)),
          () => ns.invalidateTags(untyped(brokenIndex)),
          () => ns.getOrSet("fresh", lookup, untyped(getter("staleIfError"))),
          () => ns.getOrSetMany(["fresh"], () => Effect.succeed(["v"]), untyped(hostile)),
          () => ns.entry("valid").set("after", untyped(getter("timeToLive"))),
          () => ns.forSchema(untyped<Schema.Schema<string>>(hostile)).set("valid", "after"),
          () => ns.namespace(untyped(hostile)).set("valid", "after")
        ]
        for (const call of calls) yield* refused(call, ["INVALID_ARGUMENT", "INVALID_TIME_TO_LIVE"])
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["valid"])
        expectHit(yield* ns.get("valid"), "before")
        expectNeverExpires(yield* ns.timeToLive("valid"))
      }))

    test("getOrSet refuses a lookup that is not an Effect and bad options before it looks up", ({ ns }) =>
      Effect.gen(function* () {
        let lookups = 0
        const lookup = Effect.sync(() => {
          lookups++
          return "v"
        })
        yield* refused(
          () =>
            ns.getOrSet(
              "k",
              untyped(() => "v")
            ),
          ["INVALID_ARGUMENT"]
        )
        yield* refused(() => ns.getOrSet("k", untyped(undefined)), ["INVALID_ARGUMENT"])
        const bad: ReadonlyArray<readonly [unknown, string]> = [
          [{ onCacheError: "maybe" }, "INVALID_ARGUMENT"],
          [{ lock: null }, "INVALID_ARGUMENT"],
          [{ lock: 5 }, "INVALID_ARGUMENT"],
          [{ lock: { poll: 5 } }, "INVALID_ARGUMENT"],
          [{ timeToLive: -1 }, "INVALID_TIME_TO_LIVE"],
          [{ timeToLive: "soon" }, "INVALID_TIME_TO_LIVE"],
          [{ timeToLiveJitter: 2 }, "INVALID_TIME_TO_LIVE"],
          [{ staleIfError: Number.NaN }, "INVALID_TIME_TO_LIVE"]
        ]
        for (const [options, code] of bad) {
          yield* refused(() => ns.getOrSet("k", lookup, untyped(options)), [code])
        }
        assert.strictEqual(lookups, 0)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))

    test("increment and decrement refuse amounts that are not exact signed 64-bit integers", ({ ns }) =>
      Effect.gen(function* () {
        for (const by of [1.5, Number.NaN, Number.POSITIVE_INFINITY, "1", null, 2n ** 63n, 2 ** 53]) {
          yield* refused(() => ns.increment("n", untyped(by)), ["INVALID_ARGUMENT"])
        }
        yield* refused(() => ns.decrement("n", -(2n ** 63n)), ["INVALID_ARGUMENT"])
        assert.isFalse(yield* ns.has("n"))
      }))

    test("expire refuses a missing or invalid duration and leaves the entry as it was", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v")
        for (const duration of [undefined, null, -1, Number.NaN, "soon", {}]) {
          yield* refused(() => ns.expire("k", untyped(duration)), ["INVALID_TIME_TO_LIVE"])
        }
        expectNeverExpires(yield* ns.timeToLive("k"))
      }))
  })
}
