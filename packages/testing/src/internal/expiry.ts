/**
 * Expiry on the wire: sliding expiration (`get` with a time-to-live), `set` with `keepTimeToLive`, `setMany` entries
 * with options of their own, and the handles of `entry(key)`, with their bad input.
 *
 * @internal
 */

import { assert, describe } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import {
  cacheError,
  collectKeys,
  expectHit,
  expectMiss,
  expectNeverExpires,
  expectRemaining,
  type Harness,
  hitValue,
  longTimeToLive,
  shortTimeToLive,
  slack,
  untypedKey
} from "./harness.js"

/** Arguments the types forbid, as untyped JavaScript passes them. */
const untyped = <T>(value: unknown): T => value as T

const invalid = "CacheInvalidInputError"

/** @internal */
export const expiry = ({ test }: Harness): void => {
  describe("sliding expiration (get with timeToLive)", () => {
    test("a read resets the expiry, so an entry that is read keeps living", ({ ns, advance }) =>
      Effect.gen(function* () {
        const window = shortTimeToLive * 3
        yield* ns.set("k", "v", { timeToLive: window })
        yield* advance(Duration.millis(shortTimeToLive * 2))
        expectHit(yield* ns.get("k", { timeToLive: window }), "v")
        expectRemaining(yield* ns.timeToLive("k"), window)
        // Past the first expiry: only the read kept it.
        yield* advance(Duration.millis(shortTimeToLive * 2))
        expectHit(yield* ns.get("k"), "v")
        yield* advance(Duration.millis(shortTimeToLive + slack))
        expectMiss(yield* ns.get("k"))
      }))

    test("gives an entry without expiry one, and Duration.infinity removes it", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v")
        expectHit(yield* ns.get("k", { timeToLive: longTimeToLive }), "v")
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
        yield* ns.set("short", "w", { timeToLive: shortTimeToLive })
        expectHit(yield* ns.get("short", { timeToLive: Duration.infinity }), "w")
        expectNeverExpires(yield* ns.timeToLive("short"))
        yield* advance(Duration.millis(shortTimeToLive + slack))
        expectHit(yield* ns.get("short"), "w")
      }))

    test("an absent key is a miss and stays absent", ({ ns }) =>
      Effect.gen(function* () {
        expectMiss(yield* ns.get("absent", { timeToLive: longTimeToLive }))
        expectMiss(yield* ns.get("absent", { timeToLive: Duration.infinity }))
        expectMiss(yield* ns.get("absent", { timeToLive: 0 }))
        assert.isFalse(yield* ns.has("absent"))
      }))

    test("zero answers the value and removes the entry", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: longTimeToLive })
        yield* ns.set("forever", "w")
        expectHit(yield* ns.get("k", { timeToLive: 0 }), "v")
        expectHit(yield* ns.get("forever", { timeToLive: Duration.zero }), "w")
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))

    test("options without a time-to-live leave the expiry alone", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: longTimeToLive })
        expectHit(yield* ns.get("k", {}), "v")
        expectHit(yield* ns.get("k", { timeToLive: undefined }), "v")
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
      }))

    test("a typed view decodes what it reads and resets", ({ ns }) =>
      Effect.gen(function* () {
        const dates = ns.forSchema(Schema.Date)
        const date = new Date(86_400_000)
        yield* dates.set("d", date)
        assert.deepStrictEqual(hitValue(yield* dates.get("d", { timeToLive: longTimeToLive })), date)
        expectRemaining(yield* dates.timeToLive("d"), longTimeToLive)
      }))

    test("a bad time-to-live or options fail with CacheInvalidInputError and leave the entry as it was", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "v", { timeToLive: longTimeToLive })
        for (const timeToLive of [-1, Number.NaN, "soon", -1n, null]) {
          yield* cacheError(ns.get("k", untyped({ timeToLive })), invalid, ["INVALID_TIME_TO_LIVE"])
        }
        for (const options of [5, "1 minute", null, []]) {
          yield* cacheError(ns.get("k", untyped(options)), invalid, ["INVALID_ARGUMENT"])
        }
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
      }))
  })

  describe("set with keepTimeToLive", () => {
    test("keeps the entry's remaining expiry, which then ends as it would have", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "first", { timeToLive: shortTimeToLive * 3 })
        yield* advance(Duration.millis(shortTimeToLive))
        yield* ns.set("k", "second", { keepTimeToLive: true })
        expectHit(yield* ns.get("k"), "second")
        expectRemaining(yield* ns.timeToLive("k"), shortTimeToLive * 2)
        yield* advance(Duration.millis(shortTimeToLive * 2 + slack))
        expectMiss(yield* ns.get("k"))
      }))

    test("writes an absent key, or one without expiry, without expiry", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("absent", "v", { keepTimeToLive: true })
        expectHit(yield* ns.get("absent"), "v")
        expectNeverExpires(yield* ns.timeToLive("absent"))
        yield* ns.set("forever", "first")
        yield* ns.set("forever", "second", { keepTimeToLive: true })
        expectHit(yield* ns.get("forever"), "second")
        expectNeverExpires(yield* ns.timeToLive("forever"))
      }))

    test("keepTimeToLive: false is a plain set, which removes the expiry", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "first", { timeToLive: longTimeToLive })
        yield* ns.set("k", "second", { keepTimeToLive: false })
        expectNeverExpires(yield* ns.timeToLive("k"))
      }))

    test("with a timeToLive or jitter, or not a boolean, fails with INVALID_ARGUMENT and writes nothing", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("k", "old", { timeToLive: longTimeToLive })
        const bad: ReadonlyArray<unknown> = [
          { keepTimeToLive: true, timeToLive: longTimeToLive },
          { keepTimeToLive: true, timeToLive: 0 },
          { keepTimeToLive: true, timeToLive: Duration.infinity },
          { keepTimeToLive: true, timeToLiveJitter: 0.1 },
          { keepTimeToLive: "yes" },
          { keepTimeToLive: 1 }
        ]
        for (const options of bad) {
          yield* cacheError(ns.set("k", "new", untyped(options)), invalid, ["INVALID_ARGUMENT"])
          yield* cacheError(ns.set("fresh", "new", untyped(options)), invalid, ["INVALID_ARGUMENT"])
        }
        expectHit(yield* ns.get("k"), "old")
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["k"])
      }))

    test("add and setMany refuse keepTimeToLive with INVALID_ARGUMENT and write nothing", ({ ns }) =>
      Effect.gen(function* () {
        const keep = untyped<{ readonly timeToLive?: undefined }>({ keepTimeToLive: true })
        yield* cacheError(ns.add("a", "v", keep), invalid, ["INVALID_ARGUMENT"])
        yield* cacheError(ns.setMany([["b", "v"]], keep), invalid, ["INVALID_ARGUMENT"])
        yield* cacheError(
          ns.setMany([
            ["b", "v"],
            ["c", "v", keep]
          ]),
          invalid,
          ["INVALID_ARGUMENT"]
        )
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))
  })

  describe("setMany entries with options of their own", () => {
    test("each entry has its own time-to-live; an entry without options has the batch's", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany(
          [
            ["own", 1, { timeToLive: longTimeToLive }],
            ["batch", 2],
            ["undefined", 3, undefined],
            ["forever", 4, { timeToLive: Duration.infinity }]
          ],
          { timeToLive: longTimeToLive / 2 }
        )
        expectRemaining(yield* ns.timeToLive("own"), longTimeToLive, "own")
        expectRemaining(yield* ns.timeToLive("batch"), longTimeToLive / 2, "batch")
        expectRemaining(yield* ns.timeToLive("undefined"), longTimeToLive / 2, "undefined")
        expectNeverExpires(yield* ns.timeToLive("forever"), "forever")
        const values = yield* ns.getMany(["own", "batch", "undefined", "forever"])
        assert.deepStrictEqual(
          values.map((result) => hitValue(result)),
          [1, 2, 3, 4]
        )
      }))

    test("each option an entry leaves out is the batch's", ({ ns }) =>
      Effect.gen(function* () {
        const base = 20_000
        yield* ns.setMany(
          [
            ["exact", 1, { timeToLiveJitter: 0 }],
            ["jittered", 2, { timeToLive: base * 2 }]
          ],
          { timeToLive: base, timeToLiveJitter: 0.25 }
        )
        expectRemaining(yield* ns.timeToLive("exact"), base, "exact")
        expectRemaining(yield* ns.timeToLive("jittered"), base * 1.5, "jittered", base * 2.5)
      }))

    test("an entry expires on its own time-to-live", ({ ns, advance }) =>
      Effect.gen(function* () {
        yield* ns.setMany([
          ["short", 1, { timeToLive: shortTimeToLive }],
          ["long", 2, { timeToLive: longTimeToLive }]
        ])
        yield* advance(Duration.millis(shortTimeToLive + slack))
        expectMiss(yield* ns.get("short"))
        expectHit(yield* ns.get("long"), 2)
      }))

    test("an entry with a zero time-to-live removes its key; the others are written", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("old", "x")
        yield* ns.setMany([
          ["old", "y", { timeToLive: 0 }],
          ["new", "z"]
        ])
        expectMiss(yield* ns.get("old"))
        expectHit(yield* ns.get("new"), "z")
      }))

    test("a key listed twice ends as its last entry says", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany([
          ["gone", 1],
          ["kept", 1, { timeToLive: 0 }],
          ["gone", 2, { timeToLive: 0 }],
          ["kept", 2],
          ["other", 3]
        ])
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["kept", "other"])
        expectHit(yield* ns.get("kept"), 2)
      }))

    test("an entry's options that are not an object, or not valid, fail typed and write no entry", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("existing", "old")
        for (const options of [5, "1 minute", null, [], true]) {
          yield* cacheError(
            ns.setMany([
              ["a", 1],
              ["existing", 2, untyped(options)]
            ]),
            invalid,
            ["INVALID_ARGUMENT"]
          )
        }
        // `null` is a value given, refused as `set` refuses it, not an option left out for the batch's.
        const bad = [{ timeToLive: -1 }, { timeToLive: "soon" }, { timeToLiveJitter: 2 }, { timeToLive: null }]
        for (const options of [...bad, { timeToLive: "1 minute", timeToLiveJitter: null }]) {
          yield* cacheError(
            ns.setMany(
              [
                ["a", 1],
                ["existing", 2, untyped(options)]
              ],
              { timeToLive: "1 hour" }
            ),
            invalid,
            ["INVALID_TIME_TO_LIVE"]
          )
        }
        yield* cacheError(ns.setMany([untyped(["a", 1, {}, {}])]), invalid, ["INVALID_ARGUMENT"])
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["existing"])
        expectHit(yield* ns.get("existing"), "old")
        expectNeverExpires(yield* ns.timeToLive("existing"))
      }))
  })

  describe("entry(key)", () => {
    test("a handle does what its view does on its key", ({ ns }) =>
      Effect.gen(function* () {
        const handle = ns.entry("k")
        assert.strictEqual(handle.key, "k")
        yield* handle.set(1)
        expectHit(yield* handle.get(), 1)
        expectHit(yield* ns.get("k"), 1)
        assert.isTrue(yield* handle.has())
        assert.isFalse(yield* handle.add(2))
        expectNeverExpires(yield* handle.timeToLive())
        assert.isTrue(yield* handle.expire(longTimeToLive))
        expectRemaining(yield* handle.timeToLive(), longTimeToLive)
        assert.isTrue(yield* handle.persist())
        expectHit(yield* handle.get({ timeToLive: longTimeToLive }), 1)
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
        yield* handle.set(3, { keepTimeToLive: true })
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
        assert.strictEqual(yield* handle.getOrSet(Effect.succeed(9)), 3)
        assert.isTrue(yield* handle.delete())
        assert.isFalse(yield* handle.has())
        assert.strictEqual(yield* handle.getOrSet(Effect.succeed(9), { timeToLive: longTimeToLive }), 9)
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
        assert.isTrue(yield* handle.delete())
        assert.isTrue(yield* handle.add(4, { timeToLive: longTimeToLive }))
        expectHit(yield* ns.get("k"), 4)
      }))

    test("a namespace's handle lives under that namespace", ({ ns }) =>
      Effect.gen(function* () {
        const inner = ns.namespace("inner")
        yield* inner.entry("k").set("v")
        expectMiss(yield* ns.get("k"))
        expectHit(yield* inner.get("k"), "v")
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["inner:k"])
      }))

    test("a typed view's handle reads and writes the schema's type", ({ ns }) =>
      Effect.gen(function* () {
        const handle = ns.forSchema(Schema.Date).entry("d")
        const date = new Date(86_400_000)
        yield* handle.set(date)
        assert.deepStrictEqual(hitValue(yield* handle.get()), date)
        expectHit(yield* ns.get("d"), date.toISOString())
        assert.deepStrictEqual(yield* handle.getOrSet(Effect.succeed(new Date(0))), date)
      }))

    test("a handle on a bad key is a value whose operations fail with INVALID_KEY", ({ ns }) =>
      Effect.gen(function* () {
        for (const key of ["", untypedKey(42), "a\u0000b"]) {
          const handle = ns.entry(key)
          yield* cacheError(handle.set("v"), invalid, ["INVALID_KEY"])
          yield* cacheError(handle.get(), invalid, ["INVALID_KEY"])
          yield* cacheError(handle.get({ timeToLive: longTimeToLive }), invalid, ["INVALID_KEY"])
          yield* cacheError(handle.has(), invalid, ["INVALID_KEY"])
          yield* cacheError(handle.getOrSet(Effect.succeed("v")), invalid, ["INVALID_KEY"])
        }
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }))
  })
}
