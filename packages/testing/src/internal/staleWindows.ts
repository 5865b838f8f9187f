/**
 * Cache-aside past freshness: getOrSet with staleWhileRevalidate and staleIfError windows.
 *
 * @internal
 */

import { assert, describe } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import { cacheError, eventually, exitWithin, failure, type Harness, slack } from "./harness.js"

import { countingLookup, LookupFailed } from "./lookups.js"

/** @internal */
export const staleWindows = ({ test }: Harness): void => {
  describe("getOrSet with stale windows", () => {
    const fresh = 500
    const window = 500

    test("staleWhileRevalidate serves the stale value at once and refreshes it in one background fiber", ({
      ns,
      advance
    }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const gate = yield* Deferred.make<void>()
        const options = { timeToLive: fresh, staleWhileRevalidate: window }
        assert.strictEqual(
          yield* ns.getOrSet(
            "k",
            countingLookup(runs, (run) => Effect.succeed(run)),
            options
          ),
          1
        )
        yield* advance(Duration.millis(fresh / 2))
        assert.strictEqual(
          yield* ns.getOrSet(
            "k",
            countingLookup(runs, (run) => Effect.succeed(run)),
            options
          ),
          1
        )
        assert.strictEqual(yield* Ref.get(runs), 1, "a fresh value was looked up again")
        yield* advance(Duration.millis(fresh / 2 + slack))
        // Stale now: every caller gets the stale value without waiting for the (held) refresh.
        const refresh = countingLookup(runs, (run) => Effect.succeed(run), gate)
        const callers = yield* Effect.forEach(Array.from({ length: 10 }), () =>
          Effect.fork(ns.getOrSet("k", refresh, options))
        )
        for (const caller of callers) {
          const exit = yield* exitWithin(Fiber.await(caller), "a reader of a stale value")
          assert.isTrue(Exit.isSuccess(exit) && exit.value === 1, "a reader of a stale value did not get it")
        }
        yield* eventually(
          Effect.map(Ref.get(runs), (n) => n > 1),
          advance,
          "the refresh starts"
        )
        yield* Deferred.succeed(gate, undefined)
        yield* eventually(
          Effect.map(Effect.orDie(ns.get("k")), (result) => result._tag === "CacheHit" && result.value === 2),
          advance,
          "the refreshed value is stored"
        )
        assert.strictEqual(yield* Ref.get(runs), 2, "more than one refresh ran")
        assert.strictEqual(
          yield* ns.getOrSet(
            "k",
            countingLookup(runs, (run) => Effect.succeed(run)),
            options
          ),
          2
        )
        assert.strictEqual(yield* Ref.get(runs), 2)
      }))

    test("past the staleWhileRevalidate window the entry is a miss again", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const options = { timeToLive: fresh, staleWhileRevalidate: window }
        const lookup = countingLookup(runs, (run) => Effect.succeed(run))
        assert.strictEqual(yield* ns.getOrSet("k", lookup, options), 1)
        yield* advance(Duration.millis(fresh + window + slack))
        assert.strictEqual(yield* ns.getOrSet("k", lookup, options), 2)
      }))

    test("staleIfError serves the stale value when the lookup fails, and only within its window", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const options = { timeToLive: fresh, staleIfError: window }
        const failing = countingLookup(runs, (attempt) => Effect.fail(new LookupFailed({ attempt })))
        yield* ns.getOrSet("k", Effect.succeed("first"), options)
        assert.strictEqual(yield* ns.getOrSet("k", failing, options), "first")
        assert.strictEqual(yield* Ref.get(runs), 0, "a fresh value was looked up again")
        yield* advance(Duration.millis(fresh + slack))
        assert.strictEqual(yield* ns.getOrSet("k", failing, options), "first")
        assert.strictEqual(yield* Ref.get(runs), 1, "the stale value was served without trying the lookup")
        assert.strictEqual(yield* ns.getOrSet("k", Effect.succeed("second"), options), "second")
        yield* advance(Duration.millis(fresh + window + slack))
        const error = yield* failure(ns.getOrSet("k", failing, options))
        assert.instanceOf(error, LookupFailed)
      }))

    test("negative stale windows fail with INVALID_TIME_TO_LIVE", ({ ns }) =>
      Effect.gen(function* () {
        yield* cacheError(
          ns.getOrSet("k", Effect.succeed(1), { timeToLive: fresh, staleWhileRevalidate: -1 }),
          "CacheInvalidInputError",
          ["INVALID_TIME_TO_LIVE"]
        )
        yield* cacheError(
          ns.getOrSet("k", Effect.succeed(1), { timeToLive: fresh, staleIfError: Number.NaN }),
          "CacheInvalidInputError",
          ["INVALID_TIME_TO_LIVE"]
        )
        assert.isFalse(yield* ns.has("k"))
      }))
  })
}
