import { Cache, CacheResult } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

describe("Cache.refreshEvery", () => {
  it.scoped("refreshes on schedule and stops when its scope closes", () =>
    Effect.gen(function* () {
      const runs = yield* Ref.make(0)
      const lookup = Ref.updateAndGet(runs, (n) => n + 1)
      const scope = yield* Scope.make()
      yield* Cache.refreshEvery("rate", lookup, Schedule.spaced("1 minute"), { jitter: false }).pipe(
        Scope.extend(scope)
      )
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* Cache.get("rate"), CacheResult.hit(1))
      yield* TestClock.adjust("3 minutes")
      assert.strictEqual(yield* Ref.get(runs), 4)
      assert.deepStrictEqual(yield* Cache.get("rate"), CacheResult.hit(4))

      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(yield* Ref.get(runs), 4)
    }).pipe(Effect.provide(MemoryCache.layer()))
  )

  it.scoped("a failing lookup keeps the previous value and the schedule goes on; schema values round-trip", () =>
    Effect.gen(function* () {
      const runs = yield* Ref.make(0)
      const lookup = Effect.flatMap(
        Ref.updateAndGet(runs, (n) => n + 1),
        (n) => (n === 2 ? Effect.fail("upstream down") : Effect.succeed(new Date(n * 1000)))
      )
      yield* Cache.refreshEvery("at", lookup, Schedule.spaced("1 minute"), { schema: Schema.Date, jitter: false })
      yield* TestClock.adjust("1 millis")
      const view = yield* Cache.forSchema(Schema.Date)
      assert.deepStrictEqual(yield* view.get("at"), CacheResult.hit(new Date(1000)))
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* view.get("at"), CacheResult.hit(new Date(1000)))
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* view.get("at"), CacheResult.hit(new Date(3000)))
    }).pipe(Effect.provide(MemoryCache.layer()))
  )
})
