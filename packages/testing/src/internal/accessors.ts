/**
 * The module-level accessors (`Cache.get(key)` and the rest) and `Cache.cached`
 *
 * @internal
 */

import * as Cache from "@cachet/core/Cache"
import { assert, describe } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  collectKeys,
  expectHit,
  expectMiss,
  expectNeverExpires,
  expectRemaining,
  type Harness,
  hitValue,
  longTimeToLive
} from "./harness.js"

/** @internal */
export const accessors = ({ test }: Harness): void => {
  describe("module-level accessors", () => {
    test("reach the Cache in context", ({ ns }) =>
      Effect.gen(function* () {
        yield* Cache.set("a", 1)
        yield* Cache.setMany([
          ["b", 2],
          ["c", 3]
        ])
        assert.isTrue(yield* Cache.add("d", 4, { timeToLive: longTimeToLive }))
        assert.isFalse(yield* Cache.add("d", 5))
        expectHit(yield* Cache.get("a"), 1)
        assert.deepStrictEqual(
          (yield* Cache.getMany(["a", "missing"])).map((result) => result._tag),
          ["CacheHit", "CacheMiss"]
        )
        assert.isTrue(yield* Cache.has("b"))
        expectRemaining(yield* Cache.timeToLive("d"), longTimeToLive)
        assert.isTrue(yield* Cache.persist("d"))
        expectNeverExpires(yield* Cache.timeToLive("d"))
        assert.isTrue(yield* Cache.expire("d", longTimeToLive))
        assert.strictEqual(yield* Cache.increment("n"), 1n)
        assert.strictEqual(yield* Cache.increment("n", 10n), 11n)
        assert.strictEqual(yield* Cache.decrement("n"), 10n)
        assert.strictEqual(yield* Cache.decrement("n", 4), 6n)
        assert.deepStrictEqual(yield* collectKeys(Cache.keys()), ["a", "b", "c", "d", "n"])
        assert.deepStrictEqual(yield* collectKeys(Cache.keys("[ab]")), ["a", "b"])
        assert.isTrue(yield* Cache.delete("a"))
        assert.strictEqual(yield* Cache.deleteMany(["b", "missing"]), 1)
        assert.strictEqual(yield* Cache.deletePattern("[cd]"), 2)
        assert.isTrue(Duration.isFinite(yield* Cache.ping))
        const child = yield* Cache.namespace("child")
        assert.strictEqual(child.prefix, `${ns.prefix}child:`)
        yield* child.set("x", 1)
        const dates = yield* Cache.forSchema(Schema.Date)
        yield* dates.set("date", new Date(0))
        assert.strictEqual(hitValue(yield* dates.get("date")).getTime(), 0)
        assert.strictEqual(yield* Cache.clear(), 3)
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), [])
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("Cache.keys is a stream that can be consumed lazily", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.setMany(Array.from({ length: 50 }, (_, i) => [`k${i}`, i] as const))
        const first = yield* Stream.runHead(Cache.keys("k*"))
        assert.isTrue(Option.isSome(first) && first.value.startsWith("k"))
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("Cache.getOrSet without a schema: unknown values, cache-aside", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const lookup = Effect.as(
          Ref.update(runs, (n) => n + 1),
          { name: "Ada" }
        )
        assert.deepStrictEqual(yield* Cache.getOrSet("user", lookup, { timeToLive: longTimeToLive }), { name: "Ada" })
        assert.deepStrictEqual(yield* Cache.getOrSet("user", lookup), { name: "Ada" })
        assert.strictEqual(yield* Ref.get(runs), 1)
        expectRemaining(yield* ns.timeToLive("user"), longTimeToLive)
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("Cache.getOrSet with a schema: typed, decoded values", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const lookup = Effect.as(
          Ref.update(runs, (n) => n + 1),
          new Date(86_400_000)
        )
        const first = yield* Cache.getOrSet("date", lookup, { schema: Schema.Date, timeToLive: longTimeToLive })
        const second = yield* Cache.getOrSet("date", lookup, { schema: Schema.Date })
        assert.instanceOf(second, Date)
        assert.strictEqual(first.getTime(), 86_400_000)
        assert.strictEqual(second.getTime(), 86_400_000)
        assert.strictEqual(yield* Ref.get(runs), 1)
        expectHit(yield* ns.get("date"), "1970-01-02T00:00:00.000Z")
        expectMiss(yield* ns.get("other"))
      }).pipe(Effect.provideService(Cache.Cache, ns)))
  })

  describe("Cache.cached", () => {
    test("caches an Effect function per key, and invalidate drops one entry", ({ ns }) =>
      Effect.gen(function* () {
        const calls = yield* Ref.make<ReadonlyArray<number>>([])
        const getUser = Cache.cached({ key: (id: number) => `user:${id}`, timeToLive: longTimeToLive })((id: number) =>
          Effect.as(
            Ref.update(calls, (seen) => [...seen, id]),
            { id, name: `user ${id}` }
          )
        )
        assert.deepStrictEqual(yield* getUser(1), { id: 1, name: "user 1" })
        assert.deepStrictEqual(yield* getUser(1), { id: 1, name: "user 1" })
        assert.deepStrictEqual(yield* getUser(2), { id: 2, name: "user 2" })
        assert.deepStrictEqual(yield* Ref.get(calls), [1, 2])
        expectHit(yield* ns.get("user:1"), { id: 1, name: "user 1" })
        expectRemaining(yield* ns.timeToLive("user:2"), longTimeToLive)
        assert.isTrue(yield* getUser.invalidate(1))
        assert.isFalse(yield* getUser.invalidate(1))
        expectMiss(yield* ns.get("user:1"))
        expectHit(yield* ns.get("user:2"), { id: 2, name: "user 2" })
        yield* getUser(1)
        assert.deepStrictEqual(yield* Ref.get(calls), [1, 2, 1])
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("caches a plain (synchronous) function, with several arguments", ({ ns }) =>
      Effect.gen(function* () {
        let calls = 0
        const area = Cache.cached({ key: (w: number, h: number) => `area:${w}x${h}` })((w: number, h: number) => {
          calls++
          return w * h
        })
        assert.strictEqual(yield* area(3, 4), 12)
        assert.strictEqual(yield* area(3, 4), 12)
        assert.strictEqual(yield* area(4, 3), 12)
        assert.strictEqual(calls, 2)
        assert.deepStrictEqual(yield* collectKeys(ns.keys("area:*")), ["area:3x4", "area:4x3"])
        expectNeverExpires(yield* ns.timeToLive("area:3x4"))
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("with a schema, results are encoded and come back typed", ({ ns }) =>
      Effect.gen(function* () {
        let calls = 0
        const day = Cache.cached({ key: (n: number) => `day:${n}`, schema: Schema.Date })((n: number) => {
          calls++
          return new Date(n * 86_400_000)
        })
        assert.strictEqual((yield* day(1)).getTime(), 86_400_000)
        const again = yield* day(1)
        assert.instanceOf(again, Date)
        assert.strictEqual(again.getTime(), 86_400_000)
        assert.strictEqual(calls, 1)
        expectHit(yield* ns.get("day:1"), "1970-01-02T00:00:00.000Z")
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("a time-to-live of zero or a function of the result decides what is stored", ({ ns }) =>
      Effect.gen(function* () {
        const lookup = Cache.cached({
          key: (n: number) => `n:${n}`,
          // Without a schema the result is only known to be JSON, hence `unknown` here.
          timeToLive: (n: unknown) => (n === 0 ? 0 : 30_000)
        })((n: number) => Effect.succeed(n))
        assert.strictEqual(yield* lookup(0), 0)
        assert.strictEqual(yield* lookup(30), 30)
        assert.isFalse(yield* ns.has("n:0"))
        expectRemaining(yield* ns.timeToLive("n:30"), 30_000)
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("a failing function stores nothing and fails with its own error", ({ ns }) =>
      Effect.gen(function* () {
        const boom = Cache.cached({ key: (n: number) => `boom:${n}` })((n: number) =>
          n > 0 ? Effect.fail(`no ${n}` as const) : Effect.succeed(n)
        )
        const exit = yield* Effect.exit(boom(1))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          assert.deepStrictEqual(Option.getOrUndefined(Cause.failureOption(exit.cause)), "no 1")
        }
        assert.isFalse(yield* ns.has("boom:1"))
      }).pipe(Effect.provideService(Cache.Cache, ns)))

    test("bypass runs the function straight, neither reading nor writing", ({ ns }) =>
      Effect.gen(function* () {
        let calls = 0
        const f = Cache.cached({ key: (n: number) => `b:${n}`, bypass: (n: number) => n < 0 })((n: number) => {
          calls++
          return n
        })
        yield* ns.set("b:-1", 999)
        assert.strictEqual(yield* f(-1), -1)
        assert.strictEqual(yield* f(-1), -1)
        assert.strictEqual(calls, 2)
        expectHit(yield* ns.get("b:-1"), 999)
        assert.strictEqual(yield* f(1), 1)
        assert.strictEqual(yield* f(1), 1)
        assert.strictEqual(calls, 3)
      }).pipe(Effect.provideService(Cache.Cache, ns)))
  })
}
