/**
 * Traffic for fault tests, shared by the failover tests of every topology: versioned writes whose confirmed part
 * must survive a failover, and the checks that every outcome was typed and that no older version lands over a
 * newer one afterwards.
 */
import type * as Cache from "@cachet/core/Cache"
import * as CacheError from "@cachet/core/CacheError"
import { expect } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import { Redis } from "ioredis"
import { bounded } from "./harness.js"

/** Every failure is a `CacheError` (no defect, no interruption, nothing untyped). */
export const expectTyped = (outcomes: ReadonlyArray<Exit.Exit<unknown, CacheError.CacheError>>) => {
  expect(outcomes.length).toBeGreaterThan(0)
  for (const exit of outcomes) {
    if (Exit.isSuccess(exit)) continue
    expect(Cause.isFailType(exit.cause)).toBe(true)
    const failure = Cause.failureOption(exit.cause)
    expect(failure._tag === "Some" && CacheError.isCacheError(failure.value)).toBe(true)
  }
}

/**
 * Each of four fibers writes increasing versions (1, 2, ...) to three keys of its own until `fault` is over and
 * a little longer, every write bounded. Before the fault, `confirm` makes sure the replicas hold what was written
 * so far. Returns, per key, the version confirmed on a replica and the last one attempted, and every outcome.
 */
export const versions = (cache: Cache.Cache.Service, confirm: Effect.Effect<void>, fault: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const names = Array.from({ length: 12 }, (_, i) => `version-${i}`)
    const attempted = new Map<string, number>(names.map((name) => [name, 0]))
    const outcomes: Array<Exit.Exit<unknown, CacheError.CacheError>> = []
    let running = true
    const worker = (w: number) =>
      Effect.gen(function* () {
        for (let i = 0; running; i++) {
          const name = names[w * 3 + (i % 3)] ?? "version-0"
          const version = (attempted.get(name) ?? 0) + 1
          attempted.set(name, version)
          outcomes.push(yield* bounded(Effect.exit(cache.set(name, version)), "5 seconds"))
          yield* Effect.sleep("3 millis")
        }
      })
    // Three versions of every key, acknowledged, then confirmed on a replica.
    for (let round = 0; round < 3; round++) {
      yield* Effect.forEach(names, (name) => {
        const version = (attempted.get(name) ?? 0) + 1
        attempted.set(name, version)
        return cache.set(name, version)
      })
    }
    yield* confirm
    const confirmed = new Map(attempted)
    const fibers = yield* Effect.forEach([0, 1, 2, 3], (w) => Effect.fork(worker(w)))
    yield* Effect.sleep("300 millis")
    yield* fault
    yield* Effect.sleep("500 millis")
    running = false
    yield* Fiber.joinAll(fibers)
    return { names, confirmed, attempted, outcomes }
  })

/**
 * After the fault: every key holds a version at least the confirmed one and at most the last attempted one (a
 * failover may lose acknowledged writes the replica had not received). Then a last version of every key,
 * acknowledged, is what every key still holds seconds later: no write Cachet answered lands afterwards.
 */
export const expectVersions = (cache: Cache.Cache.Service, run: Effect.Effect.Success<ReturnType<typeof versions>>) =>
  Effect.gen(function* () {
    expectTyped(run.outcomes)
    const read = yield* bounded(
      cache.getMany(run.names).pipe(Effect.retry(Schedule.spaced("100 millis"))),
      "30 seconds"
    )
    read.forEach((result, i) => {
      const name = run.names[i] ?? ""
      expect(result._tag).toBe("CacheHit")
      const value = result._tag === "CacheHit" ? Number(result.value) : 0
      expect(value).toBeGreaterThanOrEqual(run.confirmed.get(name) ?? Number.POSITIVE_INFINITY)
      expect(value).toBeLessThanOrEqual(run.attempted.get(name) ?? 0)
    })
    const last = run.names.map((name) => (run.attempted.get(name) ?? 0) + 1)
    yield* bounded(
      Effect.forEach(run.names, (name, i) => cache.set(name, last[i]), { discard: true }).pipe(
        Effect.retry(Schedule.spaced("100 millis"))
      ),
      "30 seconds"
    )
    // Longer than ioredis goes on retrying a command (16 redirections or retries, 100 ms apart).
    yield* Effect.sleep("2500 millis")
    const after = yield* bounded(cache.getMany(run.names), "5 seconds")
    expect(after.map((result) => (result._tag === "CacheHit" ? Number(result.value) : undefined))).toEqual(last)
  })

/** A write on each master's connection, then WAIT for one replica: everything written before is on a replica. */
export const confirmOnReplicas = (masters: ReadonlyArray<number>, marker: (port: number) => string) =>
  Effect.promise(() =>
    Promise.all(
      masters.map(async (port) => {
        const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 })
        redis.on("error", () => {})
        try {
          await redis.connect()
          await redis.set(marker(port), "1")
          const acknowledged = await redis.wait(1, 5000)
          if (acknowledged < 1) throw new Error(`no replica of ${port} acknowledged within 5 seconds`)
        } finally {
          redis.disconnect()
        }
      })
    )
  )
