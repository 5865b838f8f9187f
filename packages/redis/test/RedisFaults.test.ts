/**
 * Faults on real servers. Every operation ends with a typed answer; the assertions are on `_tag` and `code`,
 * never on timings. These need servers of their own (they kill, pause and reconfigure them), so they do not run
 * against `REDIS_URL`.
 */
import { CacheResult } from "@cachet/core"
import type { Backend } from "@cachet/core/Backend"
import type { CacheError } from "@cachet/core/CacheError"
import { admin, bounded, externalUrl, freePort, server, silentServer } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"

const fast = { commandTimeout: "250 millis", connectTimeout: "2 seconds" } as const

const unavailableOrTimeout = (error: CacheError) =>
  expect(["CacheUnavailableError", "CacheTimeoutError"]).toContain(error._tag)

/** Ends within `limit` or the test fails with a defect: nothing may hang. */
const everyOperation = (backend: Backend, key: string): ReadonlyArray<Effect.Effect<unknown, CacheError>> => [
  backend.get(key),
  backend.getWithTimeToLive(key),
  backend.getMany([key]),
  backend.set(key, "v", undefined),
  backend.setMany([{ key, value: "v", timeToLive: 1000 }]),
  backend.add(key, "v", undefined),
  backend.deleteIfEquals(key, "v"),
  backend.delete([key]),
  backend.has(key),
  backend.timeToLive(key),
  backend.expire(key, 1000),
  backend.persist(key),
  backend.increment(key, 1n),
  backend.ping
]

describe.skipIf(externalUrl !== undefined)("RedisCache faults", () => {
  it.scopedLive("connection refused at startup: the layer fails with CacheUnavailableError", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const error = yield* Effect.flip(bounded(RedisCache.makeBackend({ port, host: "127.0.0.1", ...fast })))
      expect(error).toMatchObject({ _tag: "CacheUnavailableError", code: "CONNECTION_REFUSED" })
      const viaLayer = yield* bounded(
        Effect.exit(Effect.provide(Effect.void, RedisCache.layer({ url: `redis://127.0.0.1:${port}`, ...fast })))
      )
      expect(Exit.isFailure(viaLayer)).toBe(true)
    })
  )

  it.scopedLive("a server that accepts and never answers: the layer fails instead of hanging", () =>
    Effect.gen(function* () {
      const { port } = yield* silentServer
      const error = yield* Effect.flip(
        bounded(RedisCache.makeBackend({ port, host: "127.0.0.1", connectTimeout: "300 millis" }))
      )
      expect(error).toMatchObject({ _tag: "CacheTimeoutError", code: "CONNECT_TIMEOUT" })
    })
  )

  it.scopedLive("server killed mid-traffic: every operation ends typed", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const backend = yield* RedisCache.makeBackend({ url: s.url, ...fast, circuitBreaker: false })
      const outcomes: Array<Exit.Exit<unknown, CacheError>> = []
      const traffic = Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (worker) =>
          Effect.forEach(
            Array.from({ length: 30 }, (_, i) => i),
            (i) =>
              Effect.exit(
                i % 2 === 0 ? backend.set(`kill:${worker}:${i}`, "v", 60_000) : backend.get(`kill:${worker}:${i - 1}`)
              ).pipe(
                Effect.tap((exit) => outcomes.push(exit)),
                Effect.zipLeft(Effect.sleep("5 millis"))
              ),
            { discard: true }
          ),
        { concurrency: "unbounded", discard: true }
      )
      yield* bounded(
        Effect.zipRight(
          Effect.fork(
            Effect.zipRight(
              Effect.sleep("40 millis"),
              Effect.promise(() => s.kill())
            )
          ),
          traffic
        ),
        "20 seconds"
      )
      expect(outcomes.some(Exit.isSuccess)).toBe(true)
      const failures = outcomes.filter(Exit.isFailure)
      expect(failures.length).toBeGreaterThan(0)
      for (const exit of failures) {
        const failure = Cause.failureOption(exit.cause)
        expect(failure._tag).toBe("Some")
        if (failure._tag === "Some") unavailableOrTimeout(failure.value)
      }
      for (const operation of everyOperation(backend, "after-kill")) {
        unavailableOrTimeout(yield* Effect.flip(bounded(operation)))
      }
    })
  )

  it.scopedLive("CLIENT PAUSE longer than the command timeout: CacheTimeoutError, then recovery", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const backend = yield* RedisCache.makeBackend({ url: s.url, ...fast, circuitBreaker: false })
      const redis = yield* admin(s.url)
      yield* backend.set("paused", "v", undefined)
      yield* Effect.promise(() => redis.call("CLIENT", "PAUSE", "1000", "ALL"))
      expect(yield* Effect.flip(bounded(backend.get("paused")))).toMatchObject({
        _tag: "CacheTimeoutError",
        code: "COMMAND_TIMEOUT"
      })
      expect(yield* Effect.flip(bounded(backend.set("paused", "w", undefined)))).toMatchObject({
        _tag: "CacheTimeoutError"
      })
      yield* Effect.promise(() => redis.call("CLIENT", "UNPAUSE"))
      // The late replies of the timed-out commands are consumed in order; later replies match their commands.
      expect(yield* bounded(backend.get("paused"))).toBe("w")
      expect(yield* bounded(backend.getMany(["paused", "nothing"]))).toEqual(["w", undefined])
    })
  )

  it.scopedLive("retry carries a get through a short outage and never re-sends an increment or an add", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const cache = yield* RedisCache.make({
        url: s.url,
        prefix: "retry:",
        ...fast,
        circuitBreaker: false,
        retry: Schedule.spaced("100 millis").pipe(Schedule.compose(Schedule.recurs(10)))
      })
      const redis = yield* admin(s.url)
      yield* cache.set("r", "v")
      // Load the increment script, so that the paused EVALSHA below would run (not answer NOSCRIPT) on resume.
      yield* cache.increment("warm")
      yield* Effect.promise(() => redis.call("CLIENT", "PAUSE", "600", "ALL"))
      // Paused for longer than a command timeout: the read is tried again until the pause ends.
      expect(yield* bounded(cache.get("r"), "5 seconds")).toEqual(CacheResult.hit("v"))
      yield* Effect.promise(() => redis.call("CLIENT", "PAUSE", "600", "ALL"))
      // An increment may be applied before its reply is lost: it times out and is not sent again.
      expect(yield* Effect.flip(bounded(cache.increment("n")))).toMatchObject({ _tag: "CacheTimeoutError" })
      expect(yield* Effect.flip(bounded(cache.add("a", "v")))).toMatchObject({ _tag: "CacheTimeoutError" })
      yield* Effect.promise(() => redis.call("CLIENT", "UNPAUSE"))
      // The paused server ran each queued command once: one INCRBY, one SET NX.
      expect(yield* bounded(cache.increment("n", 0))).toBe(1n)
      expect(yield* bounded(cache.get("a"))).toEqual(CacheResult.hit("v"))
    })
  )

  it.scopedLive("a user's client without a command timeout is bounded by the commandTimeout option", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const own = yield* admin(s.url)
      const redis = yield* admin(s.url)
      const backend = yield* RedisCache.makeBackendFromClient(own, {
        commandTimeout: "200 millis",
        circuitBreaker: false
      })
      yield* backend.set("k", "v", undefined)
      yield* Effect.promise(() => redis.call("CLIENT", "PAUSE", "600", "ALL"))
      expect(yield* Effect.flip(bounded(backend.get("k")))).toMatchObject({
        _tag: "CacheTimeoutError",
        code: "COMMAND_TIMEOUT"
      })
      yield* Effect.promise(() => redis.call("CLIENT", "UNPAUSE"))
      expect(yield* bounded(backend.get("k"))).toBe("v")
    })
  )

  it.scopedLive("closing the scope closes the connection; auto-pipelining works", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const connected = Effect.promise(() => redis.call("CLIENT", "LIST")).pipe(
        Effect.map((list) => String(list).trim().split("\n").length)
      )
      const before = yield* connected
      yield* Effect.scoped(
        Effect.gen(function* () {
          const backend = yield* RedisCache.makeBackend({ url: s.url, autoPipelining: true })
          expect(yield* connected).toBe(before + 1)
          yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => backend.set(`p${i}`, String(i), undefined),
            { concurrency: "unbounded" }
          )
          const values = yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => backend.get(`p${i}`),
            { concurrency: "unbounded" }
          )
          expect(values).toEqual(Array.from({ length: 100 }, (_, i) => String(i)))
        })
      )
      yield* Effect.sleep("50 millis")
      expect(yield* connected).toBe(before)
    })
  )

  it.scopedLive("the server restarted empty: the same backend recovers", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const backend = yield* RedisCache.makeBackend({
        url: s.url,
        ...fast,
        circuitBreaker: { failureThreshold: 3, cooldown: "200 millis" }
      })
      yield* backend.set("before", "v", undefined)
      yield* Effect.promise(() => s.kill())
      unavailableOrTimeout(yield* Effect.flip(bounded(backend.get("before"))))
      yield* Effect.promise(() => s.restart())
      const after = yield* bounded(
        backend.get("before").pipe(Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 60 })),
        "10 seconds"
      )
      expect(after).toBeUndefined()
      yield* backend.set("after", "w", undefined)
      expect(yield* backend.get("after")).toBe("w")
      // Scripts are cached again after the restart emptied the script cache.
      expect(yield* backend.getWithTimeToLive("after")).toEqual({ value: "w", timeToLive: -1 })
      expect(yield* backend.increment("counter", 5n)).toBe(5n)
    })
  )

  it.scopedLive("wrong password: AUTH_FAILED, and the password appears nowhere", () =>
    Effect.gen(function* () {
      const s = yield* server(["--requirepass", "right-password-42"])
      const secret = "wrong-password-9876"
      for (const options of [
        { url: s.url, password: Redacted.make(secret) },
        { url: `redis://default:${secret}@127.0.0.1:${s.port}` },
        { url: s.url, username: "nobody", password: Redacted.make(secret) }
      ]) {
        const exit = yield* bounded(Effect.exit(RedisCache.makeBackend({ ...options, ...fast })))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          const error = Cause.failureOption(exit.cause)
          expect(error._tag).toBe("Some")
          if (error._tag === "Some") {
            expect(error.value).toMatchObject({ _tag: "CacheUnavailableError", code: "AUTH_FAILED" })
            expect(error.value.message).toContain("authentication failed")
          }
          const everything = [
            Cause.pretty(exit.cause),
            JSON.stringify(exit),
            JSON.stringify(exit.cause),
            String(error._tag === "Some" ? error.value : ""),
            JSON.stringify(error._tag === "Some" ? error.value.cause : ""),
            error._tag === "Some" && error.value.cause instanceof Error ? String(error.value.cause.stack) : ""
          ].join("\n")
          expect(everything).not.toContain(secret)
          expect(everything).not.toContain("right-password-42")
        }
      }
      // No password at all.
      expect(yield* Effect.flip(bounded(RedisCache.makeBackend({ url: s.url, ...fast })))).toMatchObject({
        _tag: "CacheUnavailableError",
        code: "AUTH_FAILED"
      })
      const backend = yield* RedisCache.makeBackend({ url: s.url, password: Redacted.make("right-password-42") })
      yield* backend.ping
    })
  )

  it.scopedLive("maxmemory with noeviction: writes fail OUT_OF_MEMORY, reads and deletes work", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const backend = yield* RedisCache.makeBackend({ url: s.url, ...fast })
      const redis = yield* admin(s.url)
      yield* backend.set("kept", "v", 60_000)
      yield* backend.set("counter", "1", undefined)
      yield* Effect.promise(() => redis.set("ballast", "x".repeat(2 * 1024 * 1024)))
      yield* Effect.promise(() => redis.config("SET", "maxmemory", "1mb"))
      yield* Effect.promise(() => redis.config("SET", "maxmemory-policy", "noeviction"))
      const oom = { _tag: "CacheCommandError", code: "OUT_OF_MEMORY" }
      expect(yield* Effect.flip(backend.set("new", "v", undefined))).toMatchObject(oom)
      expect(yield* Effect.flip(backend.add("new", "v", 1000))).toMatchObject(oom)
      expect(
        yield* Effect.flip(
          backend.setMany([
            { key: "n1", value: "v", timeToLive: undefined },
            { key: "n2", value: "v", timeToLive: undefined }
          ])
        )
      ).toMatchObject(oom)
      expect(yield* Effect.flip(backend.increment("counter", 1n))).toMatchObject(oom)
      expect(yield* backend.get("kept")).toBe("v")
      expect((yield* backend.getWithTimeToLive("kept"))?.value).toBe("v")
      expect(yield* backend.getMany(["kept", "new"])).toEqual(["v", undefined])
      expect(yield* backend.has("kept")).toBe(true)
      expect(yield* backend.timeToLive("kept")).toBeGreaterThan(0)
      expect(yield* backend.delete(["kept"])).toBe(1)
      expect(yield* backend.delete(["ballast"])).toBe(1)
      yield* backend.ping
    })
  )

  it.scopedLive("the circuit breaker opens after consecutive failures and closes after a good probe", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const backend = yield* RedisCache.makeBackend({
        url: s.url,
        ...fast,
        circuitBreaker: { failureThreshold: 3, cooldown: "300 millis" }
      })
      yield* backend.set("k", "v", undefined)
      yield* Effect.promise(() => s.kill())
      for (let i = 0; i < 3; i++) {
        const error = yield* Effect.flip(bounded(backend.get("k")))
        unavailableOrTimeout(error)
        expect(error).not.toMatchObject({ code: "CIRCUIT_OPEN" })
      }
      for (const operation of everyOperation(backend, "k")) {
        expect(yield* Effect.flip(operation)).toMatchObject({ _tag: "CacheUnavailableError", code: "CIRCUIT_OPEN" })
      }
      yield* Effect.promise(() => s.restart())
      const value = yield* bounded(
        backend.get("k").pipe(Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 })),
        "15 seconds"
      )
      expect(value).toBeUndefined()
      yield* backend.set("k", "again", undefined)
      expect(yield* backend.get("k")).toBe("again")
    })
  )
})
