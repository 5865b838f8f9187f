/**
 * Reads and writes: get, getMany, set, setMany, add, delete, deleteMany, has, ping.
 *
 * @internal
 */
import { assert, describe } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import {
  cacheError,
  collectKeys,
  expectHit,
  expectMiss,
  expectNeverExpires,
  expectRemaining,
  type Harness,
  longTimeToLive
} from "./harness.js"

// The JSON codec reads an integer beyond 2^53 back as a bigint (so that counters stay exact): keep such numbers
// out of the round-trip property, which is about plain JSON data.
const hasUnsafeInteger = (value: unknown): boolean => {
  if (typeof value === "number") return Number.isInteger(value) && !Number.isSafeInteger(value)
  if (Array.isArray(value)) return value.some(hasUnsafeInteger)
  if (typeof value === "object" && value !== null) return Object.values(value).some(hasUnsafeInteger)
  return false
}

// The JSON codec refuses an own `__proto__` key (decoding drops such keys, so that stored data never sets a
// prototype): that refusal has a test of its own.
const hasPrototypeKey = (value: unknown): boolean => {
  if (Array.isArray(value)) return value.some(hasPrototypeKey)
  if (typeof value === "object" && value !== null) {
    return Object.hasOwn(value, "__proto__") || Object.values(value).some(hasPrototypeKey)
  }
  return false
}

const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

/** @internal */
export const operations = ({ test, prop }: Harness): void => {
  describe("get / set", () => {
    test("get of an absent key is a miss", ({ ns }) =>
      Effect.gen(function* () {
        expectMiss(yield* ns.get("absent"))
      }))

    test("set then get returns the value", ({ ns }) =>
      Effect.gen(function* () {
        const value = { name: "Ada", tags: ["a", "b"], nested: { n: 1.5, ok: true, nothing: null } }
        yield* ns.set("user", value)
        expectHit(yield* ns.get("user"), value)
      }))

    test("set overwrites the previous value", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "first")
        yield* ns.set("k", "second")
        expectHit(yield* ns.get("k"), "second")
      }))

    test("a cached null is a hit, and so are other falsy values", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("null", null)
        yield* ns.set("zero", 0)
        yield* ns.set("false", false)
        yield* ns.set("empty", "")
        expectHit(yield* ns.get("null"), null, "null")
        expectHit(yield* ns.get("zero"), 0, "zero")
        expectHit(yield* ns.get("false"), false, "false")
        expectHit(yield* ns.get("empty"), "", "empty")
        assert.isTrue(yield* ns.has("null"))
      }))

    test("set without a time-to-live never expires and removes an earlier expiry", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", 1)
        expectNeverExpires(yield* ns.timeToLive("k"))
        yield* ns.set("k", 2, { timeToLive: longTimeToLive })
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
        yield* ns.set("k", 3)
        expectNeverExpires(yield* ns.timeToLive("k"))
      }))

    test("set with a time-to-live replaces the earlier one", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", 1, { timeToLive: longTimeToLive })
        yield* ns.set("k", 2, { timeToLive: longTimeToLive / 2 })
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive / 2)
      }))

    test("unicode values and keys round-trip", ({ ns }) =>
      Effect.gen(function* () {
        const value = 'héllo wörld — 日本語 🎉 \u0000 \n "quoted" \\'
        yield* ns.set("ключ-🔑", value)
        expectHit(yield* ns.get("ключ-🔑"), value)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["ключ-🔑"])
      }))

    prop(
      "any JSON value round-trips through set and get",
      { value: FastCheck.jsonValue().filter((value) => !hasUnsafeInteger(value) && !hasPrototypeKey(value)) },
      ({ value }, { ns }) =>
        Effect.gen(function* () {
          yield* ns.set("k", value)
          expectHit(yield* ns.get("k"), viaJson(value))
        })
    )

    prop(
      "any non-empty key round-trips and is listed as given",
      { key: FastCheck.string({ unit: "grapheme", minLength: 1, maxLength: 16 }) },
      ({ key }, { ns }) =>
        Effect.gen(function* () {
          yield* ns.set(key, key)
          expectHit(yield* ns.get(key), key)
          assert.isTrue(yield* ns.has(key))
          assert.deepStrictEqual(yield* collectKeys(ns.keys()), [key])
          assert.isTrue(yield* ns.delete(key))
          expectMiss(yield* ns.get(key))
        })
    )
  })

  describe("getMany", () => {
    test("answers in the order of the keys, with misses in place", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("a", "A")
        yield* ns.set("c", null)
        const results = yield* ns.getMany(["c", "b", "a", "absent", "a"])
        assert.strictEqual(results.length, 5)
        const [c, b, a, absent, again] = results
        expectHit(c ?? assert.fail("no result for c"), null, "c")
        expectMiss(b ?? assert.fail("no result for b"), "b")
        expectHit(a ?? assert.fail("no result for a"), "A", "a")
        expectMiss(absent ?? assert.fail("no result for absent"), "absent")
        expectHit(again ?? assert.fail("no result for a (again)"), "A", "a (again)")
      }))

    test("takes any iterable, and answers [] for no keys", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("a", 1)
        yield* ns.set("b", 2)
        const fromSet = yield* ns.getMany(new Set(["a", "b"]))
        assert.deepStrictEqual(
          fromSet.map((result) => result._tag),
          ["CacheHit", "CacheHit"]
        )
        assert.deepStrictEqual(yield* ns.getMany([]), [])
      }))
  })

  describe("setMany", () => {
    test("writes every entry", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany([
          ["a", 1],
          ["b", { two: 2 }],
          ["c", null]
        ])
        const [a, b, c] = yield* ns.getMany(["a", "b", "c"])
        expectHit(a ?? assert.fail("no result"), 1)
        expectHit(b ?? assert.fail("no result"), { two: 2 })
        expectHit(c ?? assert.fail("no result"), null)
        expectNeverExpires(yield* ns.timeToLive("a"))
      }))

    test("takes any iterable, a Map included; an empty one is a no-op", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany(
          new Map<string, unknown>([
            ["a", 1],
            ["b", 2]
          ])
        )
        expectHit(yield* ns.get("b"), 2)
        yield* ns.setMany([])
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["a", "b"])
      }))

    test("applies the time-to-live to every entry", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany(
          [
            ["a", 1],
            ["b", 2]
          ],
          { timeToLive: longTimeToLive }
        )
        expectRemaining(yield* ns.timeToLive("a"), longTimeToLive, "a")
        expectRemaining(yield* ns.timeToLive("b"), longTimeToLive, "b")
      }))

    test("is all or nothing: one unencodable value writes nothing", ({ ns, secret }) =>
      Effect.gen(function* () {
        yield* ns.set("kept", "before")
        yield* cacheError(
          ns.setMany([
            ["fresh", 1],
            ["kept", "after"],
            ["bad", { secret, big: 1n }],
            ["late", 3]
          ]),
          "CacheEncodeError",
          ["UNSUPPORTED_VALUE"],
          [secret]
        )
        assert.isFalse(yield* ns.has("fresh"))
        assert.isFalse(yield* ns.has("bad"))
        assert.isFalse(yield* ns.has("late"))
        expectHit(yield* ns.get("kept"), "before")
      }))
  })

  describe("add", () => {
    test("writes an absent key and answers true", ({ ns }) =>
      Effect.gen(function* () {
        assert.isTrue(yield* ns.add("k", "first"))
        expectHit(yield* ns.get("k"), "first")
        expectNeverExpires(yield* ns.timeToLive("k"))
      }))

    test("leaves a present key, its value and its time-to-live alone, and answers false", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "first", { timeToLive: longTimeToLive })
        assert.isFalse(yield* ns.add("k", "second"))
        assert.isFalse(yield* ns.add("k", "third", { timeToLive: longTimeToLive / 4 }))
        expectHit(yield* ns.get("k"), "first")
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
      }))

    test("a present null counts as present", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", null)
        assert.isFalse(yield* ns.add("k", "other"))
        expectHit(yield* ns.get("k"), null)
      }))

    test("writes the time-to-live with the value", ({ ns }) =>
      Effect.gen(function* () {
        assert.isTrue(yield* ns.add("k", "v", { timeToLive: longTimeToLive }))
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
      }))

    test("an unencodable value fails with CacheEncodeError and writes nothing", ({ ns, secret }) =>
      Effect.gen(function* () {
        yield* cacheError(ns.add("k", { secret, big: 1n }), "CacheEncodeError", ["UNSUPPORTED_VALUE"], [secret])
        assert.isFalse(yield* ns.has("k"))
      }))
  })

  describe("delete / deleteMany / has", () => {
    test("delete answers whether the key existed", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", null)
        assert.isTrue(yield* ns.has("k"))
        assert.isTrue(yield* ns.delete("k"))
        assert.isFalse(yield* ns.has("k"))
        expectMiss(yield* ns.get("k"))
        assert.isFalse(yield* ns.delete("k"))
      }))

    test("deleteMany answers how many existed", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany([
          ["a", 1],
          ["b", 2],
          ["c", 3]
        ])
        assert.strictEqual(yield* ns.deleteMany(["a", "absent", "c"]), 2)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["b"])
        assert.strictEqual(yield* ns.deleteMany(["a", "c"]), 0)
        assert.strictEqual(yield* ns.deleteMany([]), 0)
        assert.strictEqual(yield* ns.deleteMany(new Set(["b"])), 1)
        assert.isFalse(yield* ns.has("b"))
      }))

    test("has does not see a key of another view with the same name", ({ root, ns, rootKey }) =>
      Effect.gen(function* () {
        const key = rootKey("shared-name")
        yield* root.set(key, "root")
        assert.isFalse(yield* ns.has(key))
        assert.isFalse(yield* ns.namespace("child").has(key))
        assert.isTrue(yield* root.has(key))
      }))
  })

  describe("ping", () => {
    test("answers a round-trip time", ({ ns, root }) =>
      Effect.gen(function* () {
        const rootTime = yield* root.ping
        assert.isTrue(Duration.isDuration(rootTime))
        assert.isAtLeast(Duration.toMillis(rootTime), 0)
        assert.isTrue(Duration.isFinite(rootTime))
        assert.isTrue(Duration.isDuration(yield* ns.ping))
      }))
  })
}
