/**
 * The cross-process lock of `getOrSet`. Another process is played by a view of the same key space with a
 * single-flight of its own, whose lookup holds the lock for as long as the test wants: no user key can name a
 * lock. Waiters poll in real time (a short live-clock schedule) while locks expire by the backend's clock, which
 * `advance` moves.
 *
 * @internal
 */

import type * as Cache from "@cachet/core/Cache"
import { assert, describe } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestServices from "effect/TestServices"
import {
  cacheError,
  collectKeys,
  exitWithin,
  expectHit,
  expectMiss,
  type Harness,
  longTimeToLive,
  settle,
  shortTimeToLive,
  slack
} from "./harness.js"

const poll = Schedule.spaced("10 millis")

/** `getOrSet` with a lock, its polling on the live clock so that it moves on a real server too. */
const lockedGetOrSet = <A, E>(
  view: Cache.Cache.View<unknown>,
  key: string,
  lookup: Effect.Effect<A, E>,
  lock: Cache.Cache.LockOptions = {}
) => TestServices.provideLive(view.getOrSet(key, lookup, { lock: { poll, ...lock } }))

/**
 * Another process on the same backend: a view of the same key space with a single-flight of its own (each
 * schema object has its own view), so that only the lock keeps the two apart.
 */
const anotherProcess = (view: Cache.Cache.Service): Cache.Cache.View<unknown> =>
  view.forSchema(Schema.Unknown.annotations({ description: "another process" }))

/**
 * Another process that holds `key`'s lock: its lookup runs until `finish` is completed (with a value it then
 * stores, or with a failure), and never ends otherwise, as a crashed holder's.
 */
const holdLock = (view: Cache.Cache.Service, key: string, lock: Cache.Cache.LockOptions = {}) =>
  Effect.gen(function* () {
    const started = yield* Deferred.make<void>()
    const finish = yield* Deferred.make<string, string>()
    const lookup = Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(finish))
    const holder = yield* Effect.fork(lockedGetOrSet(anotherProcess(view), key, lookup, lock))
    yield* Effect.flatten(exitWithin(Effect.exit(Deferred.await(started)), "the holder's lookup to start"))
    return { holder, finish }
  })

/** The lock of `key` is free: another process takes it at once and looks up, rather than waiting in vain. */
const expectLockFree = (view: Cache.Cache.Service, key: string, what: string) =>
  Effect.gen(function* () {
    const exit = yield* Effect.exit(
      lockedGetOrSet(anotherProcess(view), key, Effect.succeed("free"), { wait: "200 millis" })
    )
    assert.deepStrictEqual(exit, Exit.succeed("free"), what)
  })

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
        yield* ns.delete("k")
        yield* expectLockFree(ns, "k", "the lock outlived the lookup")
      }))

    test("a failing lookup releases the lock and stores nothing", ({ ns }) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(lockedGetOrSet(ns, "k", Effect.fail("lookup failed")))
        assert.deepStrictEqual(exit, Exit.fail("lookup failed"))
        expectMiss(yield* ns.get("k"))
        yield* expectLockFree(ns, "k", "a failed lookup kept the lock")
      }))

    test("while another process holds the lock, a waiter returns the value it stores without looking up", ({
      ns,
      advance
    }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const { finish } = yield* holdLock(ns, "k", { timeout: longTimeToLive })
        const waiter = yield* Effect.fork(lockedGetOrSet(ns, "k", counted(runs, "mine")))
        yield* settle(advance)
        assert.isNull(waiter.unsafePoll(), "the waiter did not wait for the holder")
        yield* Deferred.succeed(finish, "theirs")
        assert.strictEqual(yield* joinWithin(waiter, "the waiter"), "theirs")
        assert.strictEqual(yield* Ref.get(runs), 0, "the waiter looked up although the holder stored a value")
      }))

    test("a waiter takes over once the holder's lock expires after lock.timeout (a crashed holder)", ({
      ns,
      advance
    }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        yield* holdLock(ns, "k", { timeout: shortTimeToLive })
        const waiter = yield* Effect.fork(lockedGetOrSet(ns, "k", counted(runs, "mine")))
        yield* settle(advance)
        assert.strictEqual(yield* Ref.get(runs), 0, "the waiter looked up while the lock was held")
        yield* advance(shortTimeToLive + slack)
        assert.strictEqual(yield* joinWithin(waiter, "the waiter"), "mine")
        assert.strictEqual(yield* Ref.get(runs), 1)
        expectHit(yield* ns.get("k"), "mine")
        yield* ns.delete("k")
        yield* expectLockFree(ns, "k", "the waiter that took over kept the lock")
      }))

    test("a waiter takes over as soon as the holder releases the lock without a value", ({ ns, advance }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const { finish } = yield* holdLock(ns, "k", { timeout: longTimeToLive })
        const waiter = yield* Effect.fork(lockedGetOrSet(ns, "k", counted(runs, "mine")))
        yield* settle(advance)
        yield* Deferred.fail(finish, "the holder's lookup failed")
        assert.strictEqual(yield* joinWithin(waiter, "the waiter"), "mine")
        assert.strictEqual(yield* Ref.get(runs), 1)
      }))

    test("a waiter gives up after lock.wait with LOCK_TIMEOUT, runs nothing and leaves the holder's lock", ({ ns }) =>
      Effect.gen(function* () {
        const runs = yield* Ref.make(0)
        const { holder, finish } = yield* holdLock(ns, "k", { timeout: longTimeToLive })
        const giveUp = lockedGetOrSet(ns, "k", counted(runs, "mine"), { wait: "200 millis" })
        yield* cacheError(giveUp, "CacheTimeoutError", ["LOCK_TIMEOUT"])
        assert.strictEqual(yield* Ref.get(runs), 0)
        expectMiss(yield* ns.get("k"))
        // The lock is still held: the next waiter waits too, and the holder still finishes as the holder.
        yield* cacheError(giveUp, "CacheTimeoutError", ["LOCK_TIMEOUT"])
        assert.strictEqual(yield* Ref.get(runs), 0)
        yield* Deferred.succeed(finish, "theirs")
        assert.strictEqual(yield* joinWithin(holder, "the holder"), "theirs")
      }))

    test("locks are not entries: keys() does not list them", ({ ns }) =>
      Effect.gen(function* () {
        yield* ns.set("a", 1)
        yield* holdLock(ns, "b", { timeout: longTimeToLive })
        assert.deepStrictEqual(yield* collectKeys(ns.keys()), ["a"])
        assert.deepStrictEqual(yield* collectKeys(ns.keys("b*")), [])
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
