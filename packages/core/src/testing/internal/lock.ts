/**
 * The cross-process lock of `getOrSet` (DESIGN 2.4). Another process is played by writing its lock by hand: the
 * lock of key `k` is the entry `k\0lock` of the same view, and its holder is whoever wrote it. Waiters poll in
 * real time (a short live-clock schedule) while locks expire by the backend's clock, which `advance` moves.
 *
 * @internal
 */
import { assert, describe } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import type * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestServices from "effect/TestServices"
import type * as Cache from "../../Cache.js"
import * as CacheResult from "../../CacheResult.js"
import {
  cacheError,
  collectKeys,
  exitWithin,
  expectHit,
  expectMiss,
  expectRemaining,
  type Harness,
  longTimeToLive,
  settle,
  shortTimeToLive,
  slack
} from "./harness.js"

/** The stored key of `key`'s lock, as seen from its view. */
const lockOf = (key: string): string => `${key}\u0000lock`

const poll = Schedule.spaced("10 millis")

/** `getOrSet` with a lock, its polling on the live clock so that it moves on a real server too. */
const lockedGetOrSet = <A, E>(
  view: Cache.Cache.View<unknown>,
  key: string,
  lookup: Effect.Effect<A, E>,
  lock: Cache.Cache.LockOptions = {}
) => TestServices.provideLive(view.getOrSet(key, lookup, { lock: { poll, ...lock } }))

const counted = (runs: Ref.Ref<number>, value: string) =>
  Effect.as(
    Ref.update(runs, (n) => n + 1),
    value
  )

/** Joins a waiter within a real-time bound: a hang fails the test. */
const joinWithin = <A, E>(fiber: Fiber.Fiber<A, E>, what: string) =>
  Effect.flatten(exitWithin(Fiber.await(fiber), what, "10 seconds"))

/** @internal */
export const lock = ({ test }: Harness): void => {
  describe("getOrSet with lock", () => {
    test("a miss runs the lookup once, stores its value and releases the lock", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        assert.strictEqual(yield* lockedGetOrSet(ns, "k", counted(runs, "looked up")), "looked up")
        assert.strictEqual(yield* Ref.get(runs), 1)
        expectHit(yield* ns.get("k"), "looked up")
        assert.isFalse(yield* ns.has(lockOf("k")), "the lock outlived the lookup")
      }))

    test("the lock lives for lock.timeout while the lookup runs", ({ ns }) =>
      Effect.gen(function* () {
        const seen = yield* Ref.make<CacheResult.CacheResult<Option.Option<Duration.Duration>>>(CacheResult.miss)
        const lookup = Effect.as(
          Effect.flatMap(ns.timeToLive(lockOf("k")), (result) => Ref.set(seen, result)),
          "v"
        )
        yield* lockedGetOrSet(ns, "k", lookup, { timeout: longTimeToLive })
        expectRemaining(yield* Ref.get(seen), longTimeToLive, "the lock")
      }))

    test("a failing lookup releases the lock and stores nothing", ({ ns }) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(lockedGetOrSet(ns, "k", Effect.fail("lookup failed")))
        assert.deepStrictEqual(exit, Exit.fail("lookup failed"))
        expectMiss(yield* ns.get("k"))
        assert.isFalse(yield* ns.has(lockOf("k")), "a failed lookup kept the lock")
      }))

    test("while another process holds the lock, a waiter returns the value it stores without looking up", ({
      ns,
      advance
    }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        assert.isTrue(yield* ns.add(lockOf("k"), "another process", { timeToLive: longTimeToLive }))
        const waiter = yield* Effect.fork(lockedGetOrSet(ns, "k", counted(runs, "mine")))
        yield* settle(advance)
        assert.isNull(waiter.unsafePoll(), "the waiter did not wait for the holder")
        yield* ns.set("k", "theirs")
        assert.strictEqual(yield* joinWithin(waiter, "the waiter"), "theirs")
        assert.strictEqual(yield* Ref.get(runs), 0, "the waiter looked up although the holder stored a value")
        assert.isTrue(yield* ns.has(lockOf("k")), "the waiter removed the holder's lock")
      }))

    test("a waiter takes over once the holder's lock expires (a crashed holder)", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        assert.isTrue(yield* ns.add(lockOf("k"), "a crashed process", { timeToLive: shortTimeToLive }))
        const waiter = yield* Effect.fork(lockedGetOrSet(ns, "k", counted(runs, "mine")))
        yield* settle(advance)
        assert.strictEqual(yield* Ref.get(runs), 0, "the waiter looked up while the lock was held")
        yield* advance(shortTimeToLive + slack)
        assert.strictEqual(yield* joinWithin(waiter, "the waiter"), "mine")
        assert.strictEqual(yield* Ref.get(runs), 1)
        expectHit(yield* ns.get("k"), "mine")
        assert.isFalse(yield* ns.has(lockOf("k")))
      }))

    test("a waiter takes over as soon as the holder releases the lock without a value", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        assert.isTrue(yield* ns.add(lockOf("k"), "another process", { timeToLive: longTimeToLive }))
        const waiter = yield* Effect.fork(lockedGetOrSet(ns, "k", counted(runs, "mine")))
        yield* settle(advance)
        assert.isTrue(yield* ns.delete(lockOf("k")))
        assert.strictEqual(yield* joinWithin(waiter, "the waiter"), "mine")
        assert.strictEqual(yield* Ref.get(runs), 1)
      }))

    test("a waiter gives up after lock.wait with LOCK_TIMEOUT, runs nothing and leaves the holder's lock", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        assert.isTrue(yield* ns.add(lockOf("k"), "a slow process", { timeToLive: longTimeToLive }))
        yield* cacheError(lockedGetOrSet(ns, "k", counted(runs, "mine"), { wait: "200 millis" }), "CacheTimeoutError", [
          "LOCK_TIMEOUT"
        ])
        assert.strictEqual(yield* Ref.get(runs), 0)
        expectMiss(yield* ns.get("k"))
        assert.isTrue(yield* ns.has(lockOf("k")))
      }))

    test("locks are not entries: keys() does not list them", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("a", 1)
        assert.isTrue(yield* ns.add(lockOf("b"), "another process", { timeToLive: longTimeToLive }))
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["a"])
      }))

    test("invalid lock options fail with INVALID_ARGUMENT and run nothing", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const invalid: ReadonlyArray<Cache.Cache.LockOptions> = [
          { timeout: -1 },
          { timeout: 0 },
          { timeout: Duration.infinity },
          { wait: Number.NaN }
        ]
        for (const options of invalid) {
          yield* cacheError(ns.getOrSet("k", counted(runs, "mine"), { lock: options }), "CacheInvalidInputError", [
            "INVALID_ARGUMENT"
          ])
        }
        assert.strictEqual(yield* Ref.get(runs), 0)
      }))
  })
}
