/**
 * Time-to-live plans on their own: the default and the caller's durations, validation, and jitter, which alone makes
 * a plan an Effect (it reads `Random`); every other plan is already its `Exit`, so synchronous writes stay one step.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Planner from "../src/internal/plan.js"

describe("time-to-live plans", () => {
  it("without jitter a plan is its Exit: the default, the caller's duration, zero, no expiry", () => {
    const planner = Planner.make(60_000, undefined)
    assert.deepStrictEqual(planner.options("set", "k", undefined), Exit.succeed(60_000))
    assert.deepStrictEqual(planner.options("set", "k", {}), Exit.succeed(60_000))
    assert.deepStrictEqual(planner.options("set", "k", { timeToLive: "2 seconds" }), Exit.succeed(2_000))
    assert.deepStrictEqual(planner.options("set", "k", { timeToLive: 0 }), Exit.succeed(0))
    assert.deepStrictEqual(planner.options("set", "k", { timeToLive: 0.2 }), Exit.succeed(1))
    assert.deepStrictEqual(Planner.make(undefined, undefined).options("set", "k", undefined), Exit.succeed(undefined))
  })

  it("a bad duration or ratio fails with the operation and key", () => {
    const planner = Planner.make(undefined, undefined)
    for (const options of [{ timeToLive: -1 }, { timeToLive: Number.NaN }, { timeToLiveJitter: 2 }]) {
      const plan = planner.options("add", "k", options)
      assert.isTrue(Exit.isExit(plan) && Exit.isFailure(plan))
      const error = Effect.runSync(Effect.flip(plan))
      assert.deepInclude(error, { _tag: "CacheInvalidInputError", operation: "add", key: "k" })
    }
  })

  it.effect("jitter spreads the time-to-live within ±ratio, per run; zero and no expiry are never spread", () =>
    Effect.gen(function* () {
      const planner = Planner.make(10_000, 0.2)
      const plan = planner.options("set", "k", undefined)
      assert.isFalse(Exit.isExit(plan))
      const drawn = new Set<number>()
      for (let i = 0; i < 200; i++) {
        const ttl = yield* plan
        assert.isNumber(ttl)
        assert.isAtLeast(ttl ?? 0, 8_000)
        assert.isAtMost(ttl ?? 0, 12_000)
        drawn.add(ttl ?? 0)
      }
      assert.isAbove(drawn.size, 1)
      assert.deepStrictEqual(planner.options("set", "k", { timeToLive: 0 }), Exit.succeed(0))
      assert.deepStrictEqual(planner.options("set", "k", { timeToLive: Duration.infinity }), Exit.succeed(undefined))
      // A call's own ratio overrides the default, zero included.
      assert.deepStrictEqual(planner.options("set", "k", { timeToLiveJitter: 0 }), Exit.succeed(10_000))
    })
  )
})
