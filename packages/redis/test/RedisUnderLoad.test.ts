/**
 * Faults under concurrent load on real servers: a connection dropped under many in-flight transactions, and a
 * restart while many fibers retry in a tight loop. Every call must end with a typed answer, no promise may reject
 * unhandled, and the layer must come back soon after the server does.
 */
import { CacheResult } from "@cachet/core"
import type { CacheError } from "@cachet/core/CacheError"
import * as CircuitBreaker from "@cachet/core/CircuitBreaker"
import { admin, bounded, externalUrl, server } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as internalBackend from "../src/internal/backend.js"
import type { Client } from "../src/internal/commands.js"

const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

/** Unhandled rejections seen while the scope is open. */
const unhandledRejections = Effect.acquireRelease(
  Effect.sync(() => {
    const seen: Array<unknown> = []
    const listener = (reason: unknown) => {
      seen.push(reason)
    }
    process.on("unhandledRejection", listener)
    return { seen, listener }
  }),
  ({ listener }) => Effect.sync(() => process.off("unhandledRejection", listener))
).pipe(Effect.map(({ seen }) => seen))

describe.skipIf(externalUrl !== undefined)("RedisCache under load", () => {
  it.scopedLive("200 setMany in flight when CLIENT KILL drops the connection: every call answers typed", () =>
    Effect.gen(function* () {
      const rejections = yield* unhandledRejections
      const s = yield* server()
      const backend = yield* RedisCache.makeBackend({
        url: s.url,
        commandTimeout: "1 second",
        circuitBreaker: false,
        batching: false
      })
      const redis = yield* admin(s.url)
      yield* backend.ping
      // Writes wait on the server while it is paused: the transactions are certainly in flight at the kill.
      yield* Effect.promise(() => redis.call("CLIENT", "PAUSE", "5000", "WRITE"))
      const calls = yield* Effect.fork(
        Effect.forEach(
          range(200),
          (i) =>
            Effect.exit(
              backend.setMany(range(10).map((j) => ({ key: `many:${i}:${j}`, value: "v", timeToLive: 60_000 })))
            ),
          { concurrency: "unbounded" }
        )
      )
      yield* Effect.sleep("200 millis")
      yield* Effect.promise(() => redis.call("CLIENT", "KILL", "TYPE", "normal"))
      yield* Effect.promise(() => redis.call("CLIENT", "UNPAUSE"))
      const exits = yield* bounded(Fiber.join(calls), "10 seconds")
      expect(exits).toHaveLength(200)
      for (const exit of exits) {
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const failure = Cause.failureOption(exit.cause)
          expect(failure._tag).toBe("Some")
          if (failure._tag === "Some")
            expect(["CacheUnavailableError", "CacheTimeoutError"]).toContain(failure.value._tag)
        }
      }
      // Give a late rejection a chance to surface before looking.
      yield* Effect.sleep("100 millis")
      expect(rejections).toEqual([])
      // The same backend works again once it has reconnected.
      yield* bounded(
        Effect.retry(backend.set("after", "v", undefined), { schedule: Schedule.spaced("100 millis"), times: 50 }),
        "10 seconds"
      )
    })
  )

  it.scopedLive("64 fibers retrying in a tight loop through a restart: the layer answers soon after", () =>
    Effect.gen(function* () {
      const rejections = yield* unhandledRejections
      const s = yield* server()
      const cache = yield* RedisCache.make({ url: s.url, prefix: "loop:", commandTimeout: "500 millis" })
      yield* cache.set("k", "v")
      const state = { stop: false, successes: 0, failures: 0 }
      const worker = Effect.gen(function* () {
        while (!state.stop) {
          const exit = yield* Effect.exit(cache.get("k"))
          if (Exit.isSuccess(exit)) state.successes++
          else state.failures++
        }
      })
      const workers = yield* Effect.fork(
        Effect.all(
          range(64).map(() => worker),
          { concurrency: "unbounded" }
        )
      )
      yield* Effect.promise(() => s.kill())
      // Let the breaker open and the loop spin on instant failures.
      yield* Effect.sleep("1 second")
      expect(state.failures).toBeGreaterThan(0)
      yield* Effect.promise(() => s.restart())
      const restarted = Date.now()
      // Cut well before a starved loop would recover by chance; a healthy one answers within the reconnection delay
      // (at most 2 s of backoff) and the breaker's cooldown (2 s).
      const answer = yield* bounded(
        Effect.gen(function* () {
          for (;;) {
            const exit = yield* Effect.exit(cache.get("k"))
            if (Exit.isSuccess(exit)) return exit.value
            yield* Effect.sleep("20 millis")
          }
        }),
        "10 seconds"
      )
      const recovery = Date.now() - restarted
      state.stop = true
      yield* bounded(Fiber.join(workers), "5 seconds")
      expect(answer).toEqual(CacheResult.miss)
      expect(rejections).toEqual([])
      yield* Effect.log(`recovered ${recovery} ms after the restart`)
    })
  )
})

/** A client whose every command answers with `answer()`, and that claims to enforce a command timeout. */
const fakeClient = (answer: () => Promise<never>): Client => ({
  get: answer,
  getWithTimeToLive: answer,
  getMany: answer,
  bytes: { get: answer, getWithTimeToLive: answer, getMany: answer, getAndExpire: answer },
  set: answer,
  setIfAbsent: answer,
  setKeepingTimeToLive: answer,
  getAndExpire: answer,
  setMany: answer,
  deleteIfEquals: answer,
  unlink: answer,
  exists: answer,
  pttl: answer,
  pexpire: answer,
  tagAdd: answer,
  tagTake: answer,
  persist: answer,
  incrementBy: answer,
  scanners: () => [answer],
  ping: answer,
  commandTimeout: 100
})

const failureOf = <A>(effect: Effect.Effect<A, CacheError>) =>
  Effect.map(bounded(Effect.exit(effect), "5 seconds"), (exit) =>
    Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
  )

describe("per-command runner", () => {
  it.scopedLive(
    "a driver that never answers, though it claims a command timeout: CacheTimeoutError at the deadline",
    () =>
      Effect.gen(function* () {
        const backend = internalBackend.make(
          fakeClient(() => new Promise<never>(() => {})),
          { commandTimeout: 100, circuit: CircuitBreaker.disabled }
        )
        const failures = yield* Effect.forEach(
          [backend.get("k"), backend.setMany([{ key: "k", value: "v", timeToLive: undefined }]), backend.ping],
          failureOf,
          { concurrency: "unbounded" }
        )
        for (const failure of failures) {
          expect(failure).toMatchObject({ _tag: "Some", value: { _tag: "CacheTimeoutError", code: "COMMAND_TIMEOUT" } })
        }
      })
  )

  it.scopedLive("a driver that rejects with a hostile value: a typed failure, no unhandled rejection", () =>
    Effect.gen(function* () {
      const rejections = yield* unhandledRejections
      const hostile = new Proxy(
        {},
        {
          get: () => {
            throw new Error("get trap")
          },
          getPrototypeOf: () => {
            throw new Error("getPrototypeOf trap")
          }
        }
      )
      const closed = new Error("Connection is closed.")
      Object.assign(closed, { previousErrors: [closed] })
      for (const reason of [hostile, closed]) {
        const backend = internalBackend.make(
          fakeClient(() => Promise.reject(reason)),
          { commandTimeout: 1000, circuit: CircuitBreaker.disabled }
        )
        const failure = yield* failureOf(backend.setMany([{ key: "k", value: "v", timeToLive: undefined }]))
        expect(failure).toMatchObject({ _tag: "Some", value: { _tag: "CacheUnavailableError" } })
      }
      yield* Effect.sleep("50 millis")
      expect(rejections).toEqual([])
    })
  )
})
