/**
 * Time-to-live: timeToLive, expire, persist, expiry as time passes, the per-call rules
 * (zero, negative, NaN, sub-millisecond, infinity, jitter).
 *
 * @internal
 */

import type * as Cache from "@cachet/core/Cache"
import { assert, describe } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import {
  cacheError,
  collectKeys,
  expectHit,
  expectMiss,
  expectNeverExpires,
  expectRemaining,
  type Harness,
  longTimeToLive,
  margin,
  remainingMillis,
  shortTimeToLive,
  slack
} from "./harness.js"

const invalidTimeToLives: ReadonlyArray<readonly [string, Duration.DurationInput]> = [
  ["a negative number", -1],
  ["NaN", Number.NaN],
  ["a negative bigint", -1n],
  ["a negative [seconds, nanos] pair", [-1, 0]]
]

const zeroTimeToLives: ReadonlyArray<readonly [string, Duration.DurationInput]> = [
  ["0", 0],
  ["Duration.zero", Duration.zero],
  ['"0 millis"', "0 millis"],
  ["0n", 0n]
]

const invalidJitters: ReadonlyArray<number> = [-0.1, 1.5, Number.NaN]

/** @internal */
export const timeToLive = ({ test }: Harness): void => {
  describe("timeToLive", () => {
    test("is a miss for an absent key", ({ ns }) =>
      Effect.gen(function* () {
        expectMiss(yield* ns.timeToLive("absent"))
      }))

    test("is hit(none) for a key that never expires", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v")
        expectNeverExpires(yield* ns.timeToLive("k"))
      }))

    test("is hit(some(remaining)) for a key that expires, and counts down", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: 2_000 })
        expectRemaining(yield* ns.timeToLive("k"), 2_000)
        yield* advance(Duration.millis(500))
        expectRemaining(yield* ns.timeToLive("k"), 1_500)
      }))

    test("accepts Effect duration strings and Duration values", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("string", "v", { timeToLive: "1 minute" })
        yield* ns.set("duration", "v", { timeToLive: Duration.seconds(30) })
        yield* ns.set("bigint-nanos", "v", { timeToLive: 45_000_000_000n })
        expectRemaining(yield* ns.timeToLive("string"), 60_000, "string")
        expectRemaining(yield* ns.timeToLive("duration"), 30_000, "duration")
        expectRemaining(yield* ns.timeToLive("bigint-nanos"), 45_000, "bigint-nanos")
      }))
  })

  describe("expiry", () => {
    test("an entry is there before its time-to-live and gone after it", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: shortTimeToLive * 5 })
        yield* advance(Duration.millis(shortTimeToLive))
        expectHit(yield* ns.get("k"), "v")
        yield* advance(Duration.millis(shortTimeToLive * 4 + slack))
        expectMiss(yield* ns.get("k"))
        assert.isFalse(yield* ns.has("k"))
        expectMiss(yield* ns.timeToLive("k"))
      }))

    test("an expired entry is gone for every operation", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("gone", 41, { timeToLive: shortTimeToLive })
        yield* ns.set("stays", 1)
        yield* advance(Duration.millis(shortTimeToLive + slack))
        const [gone, stays] = yield* ns.getMany(["gone", "stays"])
        expectMiss(gone ?? assert.fail("no result"), "gone")
        expectHit(stays ?? assert.fail("no result"), 1, "stays")
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["stays"])
        assert.isFalse(yield* ns.delete("gone"))
        assert.isFalse(yield* ns.expire("gone", longTimeToLive))
        assert.isFalse(yield* ns.persist("gone"))
        assert.isTrue(yield* ns.add("gone", "again"))
        expectHit(yield* ns.get("gone"), "again")
        expectNeverExpires(yield* ns.timeToLive("gone"))
      }))

    test("an expired counter starts again from zero", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("n", 41, { timeToLive: shortTimeToLive })
        yield* advance(Duration.millis(shortTimeToLive + slack))
        assert.strictEqual(yield* ns.increment("n"), 1n)
      }))

    test("setMany entries expire together", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.setMany(
          [
            ["a", 1],
            ["b", 2]
          ],
          { timeToLive: shortTimeToLive }
        )
        yield* advance(Duration.millis(shortTimeToLive + slack))
        assert.strictEqual(yield* ns.deleteMany(["a", "b"]), 0)
      }))

    test("add writes again once the previous entry expired", ({ ns, advance }) =>
      Effect.gen(function* () {
        assert.isTrue(yield* ns.add("k", "first", { timeToLive: shortTimeToLive }))
        assert.isFalse(yield* ns.add("k", "second", { timeToLive: shortTimeToLive }))
        yield* advance(Duration.millis(shortTimeToLive + slack))
        assert.isTrue(yield* ns.add("k", "third"))
        expectHit(yield* ns.get("k"), "third")
      }))
  })

  describe("expire / persist", () => {
    test("expire answers false for an absent key and creates nothing", ({ ns }) =>
      Effect.gen(function* () {
        assert.isFalse(yield* ns.expire("absent", longTimeToLive))
        assert.isFalse(yield* ns.has("absent"))
      }))

    test("expire sets the time-to-live of a present key, which then expires", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v")
        assert.isTrue(yield* ns.expire("k", longTimeToLive))
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
        assert.isTrue(yield* ns.expire("k", shortTimeToLive))
        expectRemaining(yield* ns.timeToLive("k"), shortTimeToLive)
        expectHit(yield* ns.get("k"), "v")
        yield* advance(Duration.millis(shortTimeToLive + slack))
        assert.isFalse(yield* ns.has("k"))
      }))

    test("expire with zero deletes the key", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v")
        assert.isTrue(yield* ns.expire("k", 0))
        assert.isFalse(yield* ns.has("k"))
      }))

    test("expire with a negative or NaN time-to-live fails with INVALID_TIME_TO_LIVE and changes nothing", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: longTimeToLive })
        for (const [, input] of invalidTimeToLives) {
          yield* cacheError(ns.expire("k", input), "CacheInvalidInputError", ["INVALID_TIME_TO_LIVE"])
        }
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
      }))

    test("persist removes an expiry and answers true", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: shortTimeToLive })
        assert.isTrue(yield* ns.persist("k"))
        expectNeverExpires(yield* ns.timeToLive("k"))
        yield* advance(Duration.millis(shortTimeToLive + slack))
        expectHit(yield* ns.get("k"), "v")
      }))

    test("persist answers false for a key without expiry and for an absent key", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v")
        assert.isFalse(yield* ns.persist("k"))
        assert.isFalse(yield* ns.persist("absent"))
        assert.isFalse(yield* ns.has("absent"))
      }))
  })

  describe("time-to-live rules", () => {
    for (const [label, zero] of zeroTimeToLives) {
      test(`set with a zero time-to-live (${label}) stores nothing and removes an existing key`, ({ ns }) =>
        Effect.gen(function* () {
          yield* ns.set("fresh", "v", { timeToLive: zero })
          assert.isFalse(yield* ns.has("fresh"))
          yield* ns.set("existing", "old")
          yield* ns.set("existing", "new", { timeToLive: zero })
          expectMiss(yield* ns.get("existing"))
        }))
    }

    test("setMany with a zero time-to-live stores nothing and removes existing keys", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("existing", "old")
        yield* ns.setMany(
          [
            ["existing", "new"],
            ["fresh", "v"]
          ],
          { timeToLive: 0 }
        )
        assert.strictEqual(yield* ns.deleteMany(["existing", "fresh"]), 0)
      }))

    for (const [label, input] of invalidTimeToLives) {
      test(`${label} time-to-live fails with INVALID_TIME_TO_LIVE and writes nothing`, ({ ns }) =>
        Effect.gen(function* () {
          yield* ns.set("existing", "old")
          const options: Cache.Cache.SetOptions = { timeToLive: input }
          yield* cacheError(ns.set("k", "v", options), "CacheInvalidInputError", ["INVALID_TIME_TO_LIVE"])
          yield* cacheError(ns.set("existing", "new", options), "CacheInvalidInputError", ["INVALID_TIME_TO_LIVE"])
          yield* cacheError(ns.setMany([["many", "v"]], options), "CacheInvalidInputError", ["INVALID_TIME_TO_LIVE"])
          yield* cacheError(ns.add("added", "v", options), "CacheInvalidInputError", ["INVALID_TIME_TO_LIVE"])
          assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["existing"])
          expectHit(yield* ns.get("existing"), "old")
          expectNeverExpires(yield* ns.timeToLive("existing"))
        }))
    }

    test("a positive time-to-live below 1 ms is stored, as 1 ms", ({ ns, advance }) =>
      Effect.gen(function* () {
        assert.isTrue(yield* ns.add("added", "v", { timeToLive: 0.5 }), "add with 0.5 ms wrote nothing")
        yield* ns.set("set", "v", { timeToLive: Duration.micros(10n) })
        // A real server may already have expired a 1 ms entry; under TestClock it is there, with 1 ms left.
        for (const key of ["added", "set"]) {
          const result = yield* ns.timeToLive(key)
          if (result._tag === "CacheHit") {
            const millis = remainingMillis(result, key)
            // A real server answers 0 during the last millisecond.
            assert.isAtMost(millis, 1, key)
            assert.isAtLeast(millis, 0, key)
          }
        }
        yield* advance(Duration.millis(slack))
        assert.isFalse(yield* ns.has("added"))
        assert.isFalse(yield* ns.has("set"))
      }))

    test("Duration.infinity never expires, and removes an earlier expiry", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: shortTimeToLive })
        yield* ns.set("k", "w", { timeToLive: Duration.infinity })
        expectNeverExpires(yield* ns.timeToLive("k"))
        assert.isTrue(yield* ns.add("added", "v", { timeToLive: Duration.infinity }))
        expectNeverExpires(yield* ns.timeToLive("added"))
        yield* advance(Duration.millis(shortTimeToLive + slack))
        expectHit(yield* ns.get("k"), "w")
      }))

    test("jitter keeps every expiry within ±ratio and spreads them", ({ ns }) =>
      Effect.gen(function* () {
        const base = 20_000
        const ratio = 0.5
        const count = 20
        const keys = Array.from({ length: count }, (_, i) => `k${i}`)
        for (const key of keys) {
          yield* ns.set(key, "v", { timeToLive: base, timeToLiveJitter: ratio })
        }
        const remaining: Array<number> = []
        for (const key of keys) {
          remaining.push(
            expectRemaining(yield* ns.timeToLive(key), base * (1 - ratio), key, Math.ceil(base * (1 + ratio)))
          )
        }
        // Twenty uniform draws over ±10 s landing within one 2 s window would mean no jitter at all.
        assert.isAbove(Math.max(...remaining) - Math.min(...remaining), 2 * margin, "expiries are not spread")
      }))

    test("jitter applies to setMany and add too", ({ ns }) =>
      Effect.gen(function* () {
        const base = 20_000
        const options = { timeToLive: base, timeToLiveJitter: 0.25 }
        yield* ns.setMany(
          [
            ["a", 1],
            ["b", 2]
          ],
          options
        )
        assert.isTrue(yield* ns.add("c", 3, options))
        for (const key of ["a", "b", "c"]) {
          expectRemaining(yield* ns.timeToLive(key), base * 0.75, key, Math.ceil(base * 1.25))
        }
      }))

    test("jitter of zero keeps the exact time-to-live", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: longTimeToLive, timeToLiveJitter: 0 })
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
      }))

    for (const ratio of invalidJitters) {
      test(`jitter ${ratio} (outside 0–1) fails with CacheInvalidInputError and writes nothing`, ({ ns }) =>
        Effect.gen(function* () {
          const options = { timeToLive: longTimeToLive, timeToLiveJitter: ratio }
          const codes = ["INVALID_TIME_TO_LIVE", "INVALID_ARGUMENT"]
          yield* cacheError(ns.set("k", "v", options), "CacheInvalidInputError", codes)
          yield* cacheError(ns.setMany([["m", "v"]], options), "CacheInvalidInputError", codes)
          yield* cacheError(ns.add("a", "v", options), "CacheInvalidInputError", codes)
          assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
        }))
    }
  })
}
