/**
 * Cache-aside: getOrSet, its time-to-live, single-flight, failing and interrupted lookups, healing.
 *
 * @internal
 */

import type * as Cache from "@cachet/core/Cache"
import { assert, describe } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import {
  cacheError,
  eventually,
  exitWithin,
  expectHit,
  expectMiss,
  expectNeverExpires,
  expectRemaining,
  failure,
  type Harness,
  hitValue,
  longTimeToLive,
  settle
} from "./harness.js"

import { countingLookup, Entry, LookupFailed } from "./lookups.js"

/** @internal */
export const getOrSet = ({ test }: Harness): void => {
  describe("getOrSet", () => {
    test("a hit returns the cached value without running the lookup", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        yield* ns.set("k", "cached")
        assert.strictEqual(
          yield* ns.getOrSet(
            "k",
            countingLookup(runs, () => Effect.succeed("looked up"))
          ),
          "cached"
        )
        assert.strictEqual(yield* Ref.get(runs), 0)
      }))

    test("a cached null is a hit", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        yield* ns.set("k", null)
        assert.isNull(
          yield* ns.getOrSet(
            "k",
            countingLookup(runs, () => Effect.succeed("looked up"))
          )
        )
        assert.strictEqual(yield* Ref.get(runs), 0)
      }))

    test("a miss runs the lookup, stores and returns its value", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const lookup = countingLookup(runs, (run) => Effect.succeed({ run }))
        assert.deepStrictEqual(yield* ns.getOrSet("k", lookup), { run: 1 })
        expectHit(yield* ns.get("k"), { run: 1 })
        expectNeverExpires(yield* ns.timeToLive("k"))
        assert.deepStrictEqual(yield* ns.getOrSet("k", lookup), { run: 1 })
        assert.strictEqual(yield* Ref.get(runs), 1)
      }))

    test("stores with the given time-to-live, and looks up again once it expired", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const lookup = countingLookup(runs, (run) => Effect.succeed(run))
        assert.strictEqual(yield* ns.getOrSet("k", lookup, { timeToLive: 1_000 }), 1)
        expectRemaining(yield* ns.timeToLive("k"), 1_000)
        yield* advance("1100 millis")
        assert.strictEqual(yield* ns.getOrSet("k", lookup, { timeToLive: longTimeToLive }), 2)
        expectRemaining(yield* ns.timeToLive("k"), longTimeToLive)
      }))

    test("takes the time-to-live as a function of the value", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Entry)
        const seen: Array<string> = []
        const timeToLive = (entry: typeof Entry.Type) => {
          seen.push(entry.value)
          return entry.timeToLive
        }
        yield* view.getOrSet("short", Effect.succeed({ value: "short", timeToLive: 5_000 }), { timeToLive })
        yield* view.getOrSet("long", Effect.succeed({ value: "long", timeToLive: longTimeToLive }), { timeToLive })
        yield* view.getOrSet("never", Effect.succeed({ value: "never", timeToLive: 0 }), { timeToLive })
        assert.deepStrictEqual(seen, ["short", "long", "never"])
        expectRemaining(yield* view.timeToLive("short"), 5_000, "short")
        expectRemaining(yield* view.timeToLive("long"), longTimeToLive, "long")
        assert.isFalse(yield* view.has("never"))
      }))

    test("a zero time-to-live returns the value without storing it", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const lookup = countingLookup(runs, (run) => Effect.succeed(run))
        assert.strictEqual(yield* ns.getOrSet("k", lookup, { timeToLive: 0 }), 1)
        assert.isFalse(yield* ns.has("k"))
        assert.strictEqual(yield* ns.getOrSet("k", lookup, { timeToLive: () => "0 millis" }), 2)
        assert.isFalse(yield* ns.has("k"))
      }))

    test("applies jitter within ±ratio", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.getOrSet("k", Effect.succeed(1), { timeToLive: 20_000, timeToLiveJitter: 0.5 })
        expectRemaining(yield* ns.timeToLive("k"), 10_000, "k", 30_000)
      }))

    test("a negative time-to-live fails with INVALID_TIME_TO_LIVE and stores nothing", ({ ns }) =>
      Effect.gen(function* () {
        yield* cacheError(ns.getOrSet("k", Effect.succeed(1), { timeToLive: -1 }), "CacheInvalidInputError", [
          "INVALID_TIME_TO_LIVE"
        ])
        yield* cacheError(
          ns.getOrSet("f", Effect.succeed(1), { timeToLive: () => Number.NaN }),
          "CacheInvalidInputError",
          ["INVALID_TIME_TO_LIVE"]
        )
        assert.isFalse(yield* ns.has("k"))
        assert.isFalse(yield* ns.has("f"))
      }))

    test("a failing lookup fails with its own error and stores nothing", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const error = yield* failure(
          ns.getOrSet(
            "k",
            countingLookup(runs, (attempt) => Effect.fail(new LookupFailed({ attempt })))
          )
        )
        assert.instanceOf(error, LookupFailed)
        assert.isFalse(yield* ns.has("k"))
      }))

    test("a lookup that dies propagates the defect and stores nothing", ({ ns }) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(ns.getOrSet("k", Effect.die("boom")))
        assert.isTrue(Exit.isFailure(exit) && Option.isSome(Cause.dieOption(exit.cause)))
        assert.isFalse(yield* ns.has("k"))
        assert.strictEqual(yield* ns.getOrSet("k", Effect.succeed("ok")), "ok")
      }))

    test("a stored value that no longer decodes heals: it is a miss and is overwritten", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        yield* ns.set("k", { name: 42 })
        const view = ns.forSchema(Schema.Struct({ name: Schema.String }))
        const lookup = countingLookup(runs, () => Effect.succeed({ name: "Ada" }))
        assert.deepStrictEqual(yield* view.getOrSet("k", lookup, { timeToLive: longTimeToLive }), { name: "Ada" })
        assert.strictEqual(yield* Ref.get(runs), 1)
        expectHit(yield* view.get("k"), { name: "Ada" })
        expectRemaining(yield* view.timeToLive("k"), longTimeToLive)
        assert.deepStrictEqual(yield* view.getOrSet("k", lookup), { name: "Ada" })
        assert.strictEqual(yield* Ref.get(runs), 1)
      }))

    test("100 concurrent calls for one key run the lookup once", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const lookup = countingLookup(runs, (run) => Effect.succeed(`value ${run}`), gate)
        const all = yield* Effect.fork(
          Effect.forEach(Array.from({ length: 100 }), () => ns.getOrSet("k", lookup), { concurrency: "unbounded" })
        )
        yield* eventually(
          Effect.map(Ref.get(runs), (n) => n > 0),
          advance,
          "the lookup starts"
        )
        yield* settle(advance)
        yield* Deferred.succeed(gate, undefined)
        const results = yield* Fiber.join(all)
        assert.strictEqual(yield* Ref.get(runs), 1, "the lookup ran more than once")
        assert.deepStrictEqual(new Set(results), new Set(["value 1"]))
        expectHit(yield* ns.get("k"), "value 1")
      }))

    test("single-flight spans views of the same namespace", ({ root, ns, id, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const lookup = countingLookup(runs, () => Effect.succeed("v"), gate)
        // A view obtained per request, as `(yield* Cache.Cache).namespace("users")` in a handler does.
        const views: ReadonlyArray<Cache.Cache.View<unknown>> = Array.from({ length: 10 }, (_, i) =>
          i % 2 === 0 ? ns : root.namespace(id)
        )
        const all = yield* Effect.fork(
          Effect.forEach(views, (view) => view.getOrSet("k", lookup), { concurrency: "unbounded" })
        )
        yield* eventually(
          Effect.map(Ref.get(runs), (n) => n > 0),
          advance,
          "the lookup starts"
        )
        yield* settle(advance)
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(all)
        assert.strictEqual(yield* Ref.get(runs), 1, "the lookup ran more than once")
      }))

    test("concurrent calls for different keys do not wait for each other", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const lookup = countingLookup(runs, (run) => Effect.succeed(run), gate)
        const a = yield* Effect.fork(ns.getOrSet("a", lookup))
        const b = yield* Effect.fork(ns.getOrSet("b", lookup))
        yield* eventually(
          Effect.map(Ref.get(runs), (n) => n === 2),
          advance,
          "both lookups start"
        )
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(Fiber.zip(a, b))
        assert.isTrue(yield* ns.has("a"))
        assert.isTrue(yield* ns.has("b"))
      }))

    test("a failing lookup releases every waiter with its own error, stores nothing, and runs again next time", ({
      ns,
      advance
    }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const lookup = countingLookup(runs, (attempt) => Effect.fail(new LookupFailed({ attempt })), gate)
        const leader = yield* Effect.fork(ns.getOrSet("k", lookup))
        yield* eventually(
          Effect.map(Ref.get(runs), (n) => n > 0),
          advance,
          "the lookup starts"
        )
        const waiters = yield* Effect.forEach(Array.from({ length: 9 }), () => Effect.fork(ns.getOrSet("k", lookup)))
        yield* settle(advance)
        yield* Deferred.succeed(gate, undefined)
        for (const fiber of [leader, ...waiters]) {
          const exit = yield* exitWithin(Fiber.await(fiber), "a caller of a failing lookup")
          assert.isTrue(Exit.isFailure(exit), "a caller succeeded although the lookup failed")
          if (Exit.isFailure(exit)) {
            const error = Cause.failureOption(exit.cause)
            assert.isTrue(
              Option.isSome(error) && error.value instanceof LookupFailed && error.value.attempt === 1,
              `a caller did not get the lookup's error: ${Cause.pretty(exit.cause)}`
            )
          }
        }
        assert.strictEqual(yield* Ref.get(runs), 1, "the waiters ran the lookup again")
        assert.isFalse(yield* ns.has("k"))
        assert.strictEqual(yield* ns.getOrSet("k", Effect.succeed("recovered")), "recovered")
        expectHit(yield* ns.get("k"), "recovered")
      }))

    test("an interrupted lookup stores nothing, releases the waiters, and runs again next time", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const lookup = countingLookup(runs, () => Effect.interrupt, gate)
        const leader = yield* Effect.fork(ns.getOrSet("k", lookup))
        yield* eventually(
          Effect.map(Ref.get(runs), (n) => n > 0),
          advance,
          "the lookup starts"
        )
        const waiters = yield* Effect.forEach(Array.from({ length: 5 }), () => Effect.fork(ns.getOrSet("k", lookup)))
        yield* settle(advance)
        yield* Deferred.succeed(gate, undefined)
        for (const fiber of [leader, ...waiters]) {
          const exit = yield* exitWithin(Fiber.await(fiber), "a caller of an interrupted lookup")
          assert.isTrue(Exit.isFailure(exit), "a caller succeeded although every lookup is interrupted")
        }
        assert.isFalse(yield* ns.has("k"))
        const again = yield* Ref.make(0)
        assert.strictEqual(
          yield* ns.getOrSet(
            "k",
            countingLookup(again, () => Effect.succeed("fresh"))
          ),
          "fresh"
        )
        assert.strictEqual(yield* Ref.get(again), 1)
        expectHit(yield* ns.get("k"), "fresh")
      }))

    test("interrupting the caller that runs the lookup releases the other callers", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const lookup = countingLookup(runs, () => Effect.succeed("value"), gate)
        const leader = yield* Effect.fork(ns.getOrSet("k", lookup))
        yield* eventually(
          Effect.map(Ref.get(runs), (n) => n > 0),
          advance,
          "the lookup starts"
        )
        const waiters = yield* Effect.forEach(Array.from({ length: 5 }), () => Effect.fork(ns.getOrSet("k", lookup)))
        yield* settle(advance)
        yield* exitWithin(Effect.exit(Fiber.interrupt(leader)), "interrupting the caller")
        yield* Deferred.succeed(gate, undefined)
        for (const fiber of waiters) {
          const exit = yield* exitWithin(Fiber.await(fiber), "a waiter of an interrupted caller")
          // Released either way: with the value (the lookup went on, or a waiter took over) or with the interrupt.
          if (Exit.isSuccess(exit)) assert.strictEqual(exit.value, "value")
        }
        assert.strictEqual(yield* ns.getOrSet("k", Effect.succeed("value")), "value")
      }))

    test("the lookup does not run for an invalid key", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        yield* cacheError(
          ns.getOrSet(
            "",
            countingLookup(runs, () => Effect.succeed(1))
          ),
          "CacheInvalidInputError",
          ["INVALID_KEY"]
        )
        assert.strictEqual(yield* Ref.get(runs), 0)
      }))

    test("a miss through a typed view stores the encoded form", ({ ns }) =>
      Effect.gen(function* () {
        const view = ns.forSchema(Schema.Date)
        const date = yield* view.getOrSet("k", Effect.succeed(new Date(0)))
        assert.strictEqual(date.getTime(), 0)
        expectHit(yield* ns.get("k"), "1970-01-01T00:00:00.000Z")
        expectMiss(yield* view.get("other"))
        assert.strictEqual(hitValue(yield* view.get("k")).getTime(), 0)
      }))
  })
}
