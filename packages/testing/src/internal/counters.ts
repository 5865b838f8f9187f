/**
 * Counters: increment and decrement, atomic and exact in 64 bits, with Redis's integer rules.
 *
 * @internal
 */
import { assert, describe } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import {
  cacheError,
  expectHit,
  expectMiss,
  expectNeverExpires,
  expectRemaining,
  type Harness,
  hitValue,
  longTimeToLive
} from "./harness.js"

const int64Max = 2n ** 63n - 1n
const int64Min = -(2n ** 63n)

/** @internal */
export const counters = ({ test, prop }: Harness): void => {
  describe("increment / decrement", () => {
    test("increment creates an absent key at 0 and adds 1 by default", ({ ns }) =>
      Effect.gen(function* () {
        assert.strictEqual(yield* ns.increment("n"), 1n)
        assert.strictEqual(yield* ns.increment("n"), 2n)
        expectHit(yield* ns.get("n"), 2)
        expectNeverExpires(yield* ns.timeToLive("n"))
      }))

    test("increment by 0 creates the key at 0", ({ ns }) =>
      Effect.gen(function* () {
        assert.strictEqual(yield* ns.increment("n", 0), 0n)
        assert.isTrue(yield* ns.has("n"))
        expectHit(yield* ns.get("n"), 0)
      }))

    test("increment and decrement by n, negative n, and bigint n", ({ ns }) =>
      Effect.gen(function* () {
        assert.strictEqual(yield* ns.increment("n", 10), 10n)
        assert.strictEqual(yield* ns.increment("n", -15), -5n)
        assert.strictEqual(yield* ns.increment("n", 7n), 2n)
        assert.strictEqual(yield* ns.decrement("n"), 1n)
        assert.strictEqual(yield* ns.decrement("n", 4), -3n)
        assert.strictEqual(yield* ns.decrement("n", -6), 3n)
        assert.strictEqual(yield* ns.decrement("n", 3n), 0n)
        assert.strictEqual(yield* ns.decrement("absent"), -1n)
      }))

    test("increments a number written with set", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("n", 41)
        assert.strictEqual(yield* ns.increment("n"), 42n)
        yield* ns.set("negative", -7)
        assert.strictEqual(yield* ns.increment("negative", 2), -5n)
      }))

    test("is exact past 2^53", ({ ns }) =>
      Effect.gen(function* () {
        const big = 2n ** 53n
        assert.strictEqual(yield* ns.increment("n", big), big)
        assert.strictEqual(yield* ns.increment("n"), big + 1n)
        assert.strictEqual(yield* ns.increment("n", 2), big + 3n)
        assert.strictEqual(yield* ns.decrement("n", big), 3n)
        assert.strictEqual(yield* ns.increment("m", int64Max - 1n), int64Max - 1n)
        assert.strictEqual(yield* ns.increment("m"), int64Max)
        // No silent precision loss on the read either: the stored integer comes back exact.
        const read = hitValue(yield* ns.get("m"))
        assert.isTrue(
          (typeof read === "bigint" && read === int64Max) || (typeof read === "string" && read === `${int64Max}`),
          `get of an int64 counter lost precision: ${String(read)}`
        )
      }))

    test("reaches the int64 bounds and fails with OVERFLOW past them, leaving the value unchanged", ({ ns }) =>
      Effect.gen(function* () {
        assert.strictEqual(yield* ns.increment("max", int64Max), int64Max)
        yield* cacheError(ns.increment("max"), "CacheCommandError", ["OVERFLOW"])
        yield* cacheError(ns.decrement("max", -1), "CacheCommandError", ["OVERFLOW"])
        assert.strictEqual(yield* ns.increment("max", 0), int64Max)

        assert.strictEqual(yield* ns.increment("min", int64Min), int64Min)
        yield* cacheError(ns.decrement("min"), "CacheCommandError", ["OVERFLOW"])
        yield* cacheError(ns.increment("min", -1n), "CacheCommandError", ["OVERFLOW"])
        assert.strictEqual(yield* ns.increment("min", 0), int64Min)
      }))

    test("a non-integer value fails with NOT_INTEGER and is left unchanged", ({ ns, secret }) =>
      Effect.gen(function* () {
        const values: ReadonlyArray<readonly [string, unknown]> = [
          ["text", secret],
          ["float", 1.5],
          ["object", { secret, n: 1 }],
          ["array", [1]],
          ["null", null],
          ["boolean", true]
        ]
        yield* ns.setMany(values)
        for (const [key, value] of values) {
          yield* cacheError(ns.increment(key), "CacheCommandError", ["NOT_INTEGER"], [secret])
          yield* cacheError(ns.decrement(key, 2), "CacheCommandError", ["NOT_INTEGER"], [secret])
          expectHit(yield* ns.get(key), value, key)
        }
      }))

    test("an amount that is not an integer fails with CacheInvalidInputError and changes nothing", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("n", 5)
        for (const by of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64]) {
          yield* cacheError(ns.increment("n", by), "CacheInvalidInputError")
          yield* cacheError(ns.decrement("n", by), "CacheInvalidInputError")
        }
        yield* cacheError(ns.increment("absent", 0.5), "CacheInvalidInputError")
        expectHit(yield* ns.get("n"), 5)
        expectMiss(yield* ns.get("absent"))
      }))

    test("keeps the key's time-to-live", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("n", 1, { timeToLive: longTimeToLive })
        assert.strictEqual(yield* ns.increment("n"), 2n)
        assert.strictEqual(yield* ns.decrement("n", 5), -3n)
        expectRemaining(yield* ns.timeToLive("n"), longTimeToLive)
      }))

    test("concurrent increments are atomic", ({ ns }) =>
      Effect.gen(function* () {
        yield* Effect.forEach(Array.from({ length: 100 }), () => ns.increment("n"), { concurrency: "unbounded" })
        assert.strictEqual(yield* ns.increment("n", 0), 100n)
      }))

    prop(
      "a sequence of increments and decrements sums exactly",
      {
        steps: FastCheck.array(
          FastCheck.tuple(FastCheck.boolean(), FastCheck.bigInt({ min: -(2n ** 60n), max: 2n ** 60n })),
          { maxLength: 6 }
        )
      },
      ({ steps }, { ns }) =>
        Effect.gen(function* () {
          let expected = 0n
          for (const [up, by] of steps) {
            expected += up ? by : -by
            assert.strictEqual(yield* up ? ns.increment("n", by) : ns.decrement("n", by), expected)
          }
        })
    )
  })
}
