import type { Backend } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import { CacheCommandError, CacheUnavailableError } from "@cachet/core/CacheError"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"

/** The stored key of a lock: no user key can name it, so these tests look at the backend. */
const lockOf = (full: string) => `${full}\u0000lock`

/** Two caches on one backend: two processes on one server, each with its own single-flight. */
const twoProcesses = (backend: Backend) =>
  Effect.all([Cache.make(backend, { prefix: "app:" }), Cache.make(backend, { prefix: "app:" })])

const counter = Effect.map(Ref.make(0), (runs) => ({
  runs,
  lookup: (value: string) =>
    Effect.as(
      Ref.update(runs, (n) => n + 1),
      value
    )
}))

const poll = Schedule.spaced("10 millis")

describe("getOrSet with lock", () => {
  it.live("two caches on one memory backend, 25 concurrent callers each, run the lookup once (lock: true)", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const [a, b] = yield* twoProcesses(backend)
      const { runs, lookup } = yield* counter
      const gate = yield* Deferred.make<void>()
      const slow = Effect.zipRight(Deferred.await(gate), lookup("once"))
      const callers = Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).getOrSet("k", slow, { lock: true }))
      const all = yield* Effect.fork(Effect.all(callers, { concurrency: "unbounded" }))
      yield* Effect.sleep("120 millis")
      yield* Deferred.succeed(gate, undefined)
      const answers = yield* Fiber.join(all)
      assert.deepStrictEqual(new Set(answers), new Set(["once"]))
      assert.strictEqual(yield* Ref.get(runs), 1)
      assert.isFalse(yield* backend.has(lockOf("app:k")))
    }).pipe(Effect.scoped)
  )

  it.live("without the lock, the same two caches each run the lookup (the test above would catch a no-op lock)", () =>
    Effect.gen(function* () {
      const [a, b] = yield* twoProcesses(yield* MemoryCache.makeBackend())
      const { runs, lookup } = yield* counter
      const gate = yield* Deferred.make<void>()
      const slow = Effect.zipRight(Deferred.await(gate), lookup("v"))
      const all = yield* Effect.fork(Effect.all([a.getOrSet("k", slow), b.getOrSet("k", slow)], { concurrency: 2 }))
      yield* Effect.sleep("20 millis")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(all)
      assert.strictEqual(yield* Ref.get(runs), 2)
    }).pipe(Effect.scoped)
  )

  it.scoped("the holder reads again after acquiring: a value stored between its miss and its lock is returned", () =>
    Effect.gen(function* () {
      const inner = yield* MemoryCache.makeBackend()
      // Another process stores the value and releases its lock just before this one acquires.
      const racing: Backend = {
        ...inner,
        add: (key, value, ttl) =>
          key === lockOf("app:k")
            ? Effect.zipRight(inner.set("app:k", JSON.stringify("theirs"), undefined), inner.add(key, value, ttl))
            : inner.add(key, value, ttl)
      }
      const cache = yield* Cache.make(racing, { prefix: "app:" })
      const { runs, lookup } = yield* counter
      assert.strictEqual(yield* cache.getOrSet("k", lookup("mine"), { lock: true }), "theirs")
      assert.strictEqual(yield* Ref.get(runs), 0)
      assert.isFalse(yield* inner.has(lockOf("app:k")), "the lock was not released")
    })
  )

  it.scoped("an interrupted holder releases its lock", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const cache = yield* Cache.make(backend)
      const started = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        cache.getOrSet("k", Effect.zipRight(Deferred.succeed(started, undefined), Effect.never), { lock: true })
      )
      yield* Deferred.await(started)
      assert.isTrue(yield* backend.has(lockOf("cachet:k")))
      yield* Fiber.interrupt(holder)
      assert.isFalse(yield* backend.has(lockOf("cachet:k")))
    })
  )

  it.scoped(
    "a failed release is logged at warning level, without the key, and counted in cachet_lock_release_failures_total",
    () =>
      Effect.gen(function* () {
        const inner = yield* MemoryCache.makeBackend()
        // The server refuses the release (an ACL without EVALSHA, a NOPERM from the script): the lock stays until it expires.
        const releaseRefused: Backend = {
          ...inner,
          deleteIfEquals: (key) =>
            Effect.fail(new CacheCommandError({ operation: "deleteIfEquals", key, code: "NO_PERMISSION" }))
        }
        const cache = (yield* Cache.make(releaseRefused, { prefix: "app:" })).namespace("users")
        const failures = Metric.value(
          Cache.metrics.lockReleaseFailures.pipe(
            Metric.tagged("backend", "memory"),
            Metric.tagged("namespace", "users")
          )
        )
        const before = (yield* failures).count
        const logs: Array<{ readonly level: string; readonly message: string }> = []
        const logger = Logger.make(({ logLevel, message }) => {
          logs.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message) })
        })
        const { runs, lookup } = yield* counter
        const value = yield* cache
          .getOrSet("private-user-key", lookup("looked up"), { lock: true })
          .pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
        assert.strictEqual(value, "looked up", "a failed release does not fail the call")
        assert.strictEqual(yield* Ref.get(runs), 1)
        assert.strictEqual((yield* failures).count - before, 1)
        const warnings = logs.filter((log) => log.level === "WARN")
        assert.strictEqual(warnings.length, 1, JSON.stringify(logs))
        assert.include(warnings[0]?.message, "NO_PERMISSION")
        assert.notInclude(warnings[0]?.message, "private-user-key")
        // The lock was really left behind: it is there until it expires.
        assert.isTrue(yield* inner.has(lockOf("app:users:private-user-key")))
      })
  )

  it.scoped("a lock command that fails: CacheUnavailableError for getOrSet, or under bypass the lookup runs", () =>
    Effect.gen(function* () {
      const inner = yield* MemoryCache.makeBackend()
      // Reads answer; taking the lock is refused, as when the server goes away between the read and the lock.
      const lockRefused: Backend = {
        ...inner,
        add: (key) => Effect.fail(new CacheUnavailableError({ operation: "add", key, code: "CONNECTION_REFUSED" }))
      }
      const cache = yield* Cache.make(lockRefused)
      const { runs, lookup } = yield* counter
      const error = yield* Effect.flip(cache.getOrSet("k", lookup("looked up"), { lock: true }))
      assert.deepInclude(error, { _tag: "CacheUnavailableError", operation: "getOrSet", key: "k" })
      assert.strictEqual(yield* Ref.get(runs), 0)
      const options = { lock: true, onCacheError: "bypass" } as const
      assert.strictEqual(yield* cache.getOrSet("k", lookup("looked up"), options), "looked up")
      assert.strictEqual(yield* Ref.get(runs), 1)
    })
  )

  it.scoped(
    "LOCK_TIMEOUT inside staleIfError serves the stale value; a waiter is counted in cachet_lock_waits_total",
    () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        const cache = yield* Cache.make(backend)
        const options = { timeToLive: "1 second", staleIfError: "1 minute" } as const
        yield* cache.getOrSet("k", Effect.succeed("stale"), options)
        yield* TestClock.adjust("2 seconds")
        assert.isTrue(yield* backend.add(lockOf("cachet:k"), "another process", 3_600_000))
        const waits = Metric.value(
          Cache.metrics.lockWaits.pipe(Metric.tagged("backend", "memory"), Metric.tagged("namespace", ""))
        )
        const before = (yield* waits).count
        const { runs, lookup } = yield* counter
        const waiter = yield* Effect.fork(
          cache.getOrSet("k", lookup("fresh"), { ...options, lock: { poll, wait: "100 millis" } })
        )
        yield* TestClock.adjust("200 millis")
        assert.strictEqual(yield* Fiber.join(waiter), "stale")
        assert.strictEqual(yield* Ref.get(runs), 0)
        assert.strictEqual((yield* waits).count - before, 1)
      })
  )

  it.live("Cache.cached passes its lock on: a held lock makes the call wait, then give up with LOCK_TIMEOUT", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const cache = yield* Cache.make(backend)
      const double = Cache.cached({ key: (n: number) => `double:${n}`, lock: { poll, wait: "50 millis" } })(
        (n: number) => Effect.succeed(n * 2)
      )
      assert.strictEqual(yield* Effect.provideService(double(1), Cache.Cache, cache), 2)
      assert.isTrue(yield* backend.add(lockOf("cachet:double:2"), "another process", 3_600_000))
      const error = yield* Effect.flip(Effect.provideService(double(2), Cache.Cache, cache))
      assert.deepInclude(error, { _tag: "CacheTimeoutError", code: "LOCK_TIMEOUT" })
    }).pipe(Effect.scoped)
  )
})
