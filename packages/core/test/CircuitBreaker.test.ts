import { Cache, CircuitBreaker } from "@cachet/core"
import type { CacheError } from "@cachet/core/CacheError"
import { CacheCommandError, CacheTimeoutError, CacheUnavailableError } from "@cachet/core/CacheError"
import { MemoryCache } from "@cachet/memory"
import { assert, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { faulty, makeFaults } from "./helpers.js"

const down: CacheError = new CacheUnavailableError({ operation: "get", code: "CONNECTION_REFUSED" })
const timedOut: CacheError = new CacheTimeoutError({ operation: "get", code: "COMMAND_TIMEOUT" })
const answered: CacheError = new CacheCommandError({ operation: "get", code: "WRONG_TYPE" })

const breakerOf = (options: CircuitBreaker.Options) =>
  Effect.flatMap(CircuitBreaker.settings(options), CircuitBreaker.make)

describe("CircuitBreaker.settings", () => {
  it("fills in the defaults and refuses what cannot work", () => {
    const defaults = CircuitBreaker.settings()
    assert.isTrue(Either.isRight(defaults))
    if (Either.isRight(defaults)) {
      assert.strictEqual(defaults.right.failureThreshold, 5)
      assert.strictEqual(Duration.toMillis(defaults.right.cooldown), 2000)
    }
    for (const options of [
      { failureThreshold: 0 },
      { failureThreshold: 1.5 },
      { cooldown: 0 },
      { cooldown: Duration.infinity },
      { cooldown: "soon" as Duration.DurationInput }
    ]) {
      const refused = CircuitBreaker.settings(options)
      expect(Either.isLeft(refused) && refused.left).toMatchObject({
        _tag: "CacheInvalidInputError",
        code: "INVALID_ARGUMENT"
      })
    }
  })
})

describe("CircuitBreaker.make", () => {
  it.effect("opens at the threshold, admits one probe after the cooldown, and re-opens on a failed probe", () =>
    Effect.gen(function* () {
      const breaker = yield* breakerOf({ failureThreshold: 2, cooldown: 100 })
      expect(breaker.admit("get", "k")).toBeUndefined()
      breaker.onFailure(down)
      breaker.onFailure(answered) // the server answered: the count starts again
      breaker.onFailure(down)
      expect(breaker.admit("get", "k")).toBeUndefined()
      breaker.onFailure(down)
      expect(breaker.admit("get", "k")).toMatchObject({ _tag: "CacheUnavailableError", code: "CIRCUIT_OPEN", key: "k" })
      yield* TestClock.adjust(100)
      expect(breaker.admit("get", "k")).toBeUndefined() // the probe
      expect(breaker.admit("get", "k")).toMatchObject({ code: "CIRCUIT_OPEN" }) // one probe at a time
      breaker.onFailure(down)
      yield* TestClock.adjust(50)
      expect(breaker.admit("get", "k")).toMatchObject({ code: "CIRCUIT_OPEN" })
      yield* TestClock.adjust(50)
      expect(breaker.admit("get", "k")).toBeUndefined()
      breaker.onSuccess()
      expect(breaker.admit("get", "k")).toBeUndefined()
      expect(breaker.admit("get", "k")).toBeUndefined()
    })
  )

  it.effect("fails fast with CIRCUIT_OPEN on the operation and key asked; timeouts count, answers do not", () =>
    Effect.gen(function* () {
      const breaker = yield* breakerOf({ failureThreshold: 3, cooldown: "1 second" })
      breaker.onFailure(timedOut)
      breaker.onFailure(down)
      breaker.onFailure(answered)
      breaker.onFailure(down)
      breaker.onFailure(timedOut)
      assert.isTrue(breaker.allow())
      // Another breaker's refusal says nothing of this server: the count starts again.
      breaker.onFailure(new CacheUnavailableError({ operation: "get", code: "CIRCUIT_OPEN" }))
      breaker.onFailure(timedOut)
      breaker.onFailure(down)
      assert.isTrue(breaker.allow())
      breaker.onFailure(timedOut)
      assert.isFalse(breaker.allow())
      expect(breaker.admit("increment", "counter")).toMatchObject({
        _tag: "CacheUnavailableError",
        code: "CIRCUIT_OPEN",
        operation: "increment",
        key: "counter"
      })
    })
  )

  it.effect("a probe without an outcome (interrupted) passes its turn to the next command", () =>
    Effect.gen(function* () {
      const breaker = yield* breakerOf({ failureThreshold: 1, cooldown: 100 })
      breaker.onFailure(down)
      yield* TestClock.adjust(100)
      assert.isTrue(breaker.allow())
      assert.isFalse(breaker.allow())
      breaker.onInterrupt()
      assert.isTrue(breaker.allow())
      breaker.onSuccess()
      assert.isTrue(breaker.allow())
    })
  )

  it.effect("keyed: one breaker per key, made on first use; disabled never opens", () =>
    Effect.gen(function* () {
      const breakers = yield* Effect.flatMap(CircuitBreaker.settings({ failureThreshold: 1 }), CircuitBreaker.keyed)
      assert.strictEqual(breakers("a:1"), breakers("a:1"))
      breakers("a:1").onFailure(down)
      assert.isFalse(breakers("a:1").allow())
      assert.isTrue(breakers("b:2").allow())
      for (let i = 0; i < 10; i++) CircuitBreaker.disabled.onFailure(down)
      assert.isTrue(CircuitBreaker.disabled.allow())
      expect(CircuitBreaker.disabled.admit("get", "k")).toBeUndefined()
    })
  )
})

describe("CircuitBreaker.wrap", () => {
  it.scoped("on any backend: fails fast once open, without calling it, and a probe closes it again", () =>
    Effect.gen(function* () {
      const faults = makeFaults()
      const inner = faulty(yield* MemoryCache.makeBackend(), faults)
      const backend = yield* CircuitBreaker.wrap(inner, { failureThreshold: 3, cooldown: "1 second" })
      yield* backend.set("k", "v", undefined)
      faults.down = true
      for (let i = 0; i < 3; i++) {
        expect(yield* Effect.flip(backend.get("k"))).toMatchObject({ code: "CONNECTION_REFUSED" })
      }
      const sent = faults.calls.get("get")
      for (const operation of [backend.get("k"), backend.has("k"), backend.delete(["k"]), backend.ping]) {
        expect(yield* Effect.flip(operation)).toMatchObject({ _tag: "CacheUnavailableError", code: "CIRCUIT_OPEN" })
      }
      expect(yield* Effect.flip(Stream.runCollect(backend.scan("*")))).toMatchObject({ code: "CIRCUIT_OPEN" })
      assert.strictEqual(faults.calls.get("get"), sent)
      assert.strictEqual(faults.calls.get("has"), undefined)

      yield* TestClock.adjust("1 second")
      expect(yield* Effect.flip(backend.get("k"))).toMatchObject({ code: "CONNECTION_REFUSED" }) // a failed probe
      expect(yield* Effect.flip(backend.get("k"))).toMatchObject({ code: "CIRCUIT_OPEN" })
      faults.down = false
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* backend.get("k"), "v") // the probe closes the circuit
      assert.isTrue(yield* backend.has("k"))
      assert.strictEqual(yield* backend.delete(["k"]), 1)
    })
  )

  it.scoped("an error that proves the backend answered keeps the circuit closed; so does a finished scan", () =>
    Effect.gen(function* () {
      const faults = makeFaults()
      const backend = yield* CircuitBreaker.wrap(faulty(yield* MemoryCache.makeBackend(), faults), {
        failureThreshold: 2
      })
      yield* backend.set("text", "not a number", undefined)
      faults.failNext = 1
      yield* Effect.flip(backend.ping)
      expect(yield* Effect.flip(backend.increment("text", 1n))).toMatchObject({ code: "NOT_INTEGER" })
      faults.failNext = 1
      yield* Effect.flip(backend.ping)
      assert.deepStrictEqual([...(yield* Stream.runCollect(backend.scan("t*")))], [["text"]])
      faults.failNext = 1
      yield* Effect.flip(backend.ping)
      assert.strictEqual(yield* backend.get("text"), "not a number")
    })
  )

  it.scoped("an interrupted probe leaves the next command to probe", () =>
    Effect.gen(function* () {
      const faults = makeFaults()
      const inner = faulty(yield* MemoryCache.makeBackend(), faults)
      const hanging = { ...inner, get: () => Effect.never }
      const backend = yield* CircuitBreaker.wrap(hanging, { failureThreshold: 1, cooldown: "1 second" })
      faults.down = true
      yield* Effect.flip(backend.ping)
      yield* TestClock.adjust("1 second")
      const probe = yield* Effect.fork(backend.get("k"))
      yield* Effect.yieldNow()
      expect(yield* Effect.flip(backend.has("k"))).toMatchObject({ code: "CIRCUIT_OPEN" })
      yield* Fiber.interrupt(probe)
      faults.down = false
      assert.isFalse(yield* backend.has("k"))
    })
  )

  it.scoped("through Cache.make, an open circuit is the cache's CacheUnavailableError", () =>
    Effect.gen(function* () {
      const faults = makeFaults()
      const backend = yield* CircuitBreaker.wrap(faulty(yield* MemoryCache.makeBackend(), faults), {
        failureThreshold: 1
      })
      const cache = yield* Cache.make(backend)
      faults.down = true
      yield* Effect.flip(cache.get("k"))
      expect(yield* Effect.flip(cache.get("k"))).toMatchObject({
        _tag: "CacheUnavailableError",
        code: "CIRCUIT_OPEN",
        operation: "get",
        key: "k"
      })
      expect(yield* Effect.flip(CircuitBreaker.wrap(backend, { cooldown: -1 }))).toMatchObject({
        _tag: "CacheInvalidInputError"
      })
    })
  )
})
