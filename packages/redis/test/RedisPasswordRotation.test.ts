/**
 * A password rotation gone wrong, under traffic, on servers of our own: standalone (`requirepass`), through
 * Sentinel and on a three-master Cluster (an ACL user). From an admin connection the test changes the password on
 * every node the cache uses and drops the cache's connections; from then on every operation answers within its
 * bound with a typed, retryable `CacheError` (a `getOrSet` that bypasses the cache answers its lookup), nothing is
 * rejected unhandled, and neither password appears in any failure, cause, log line or console output. Once the old
 * password is back, the same cache, never rebuilt, reads and writes again by itself. No assertion is on timings.
 */
import type * as Cache from "@cachet/core/Cache"
import * as CacheError from "@cachet/core/CacheError"
import * as CacheResult from "@cachet/core/CacheResult"
import { admin, bounded, call, cluster, sentinel, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { failureText, watched } from "./capture.js"

const oldPassword = "rotation-old-Pa55-4417"
const newPassword = "rotation-new-Pa55-9923"

// Short command timeouts and a short cooldown, so that failures come fast and recovery is noticed soon.
const options = {
  commandTimeout: "500 millis",
  connectTimeout: "5 seconds",
  circuitBreaker: { failureThreshold: 5, cooldown: "500 millis" }
} as const

const keys = Array.from({ length: 16 }, (_, i) => `key-${i}`)

type Phase = "before" | "wrong" | "restored"

interface Outcome {
  readonly kind: "read or write" | "getOrSet bypassing the cache"
  /** The phase when the operation started, and when it ended. */
  readonly started: Phase
  readonly ended: Phase
  readonly exit: Exit.Exit<unknown, CacheError.CacheError>
  /** What a `getOrSet`'s lookup returned, when it ran. */
  readonly lookedUp: string | undefined
}

/**
 * Gets, sets, getMany and bypassing getOrSets from four fibers; `rotate` is run after a moment, the wrong password
 * stays long enough for several reconnection attempts, then `restore` runs and traffic goes on a little longer.
 * Every operation is bounded by ten times the command timeout.
 */
const rotation = (cache: Cache.Cache.Service, rotate: Effect.Effect<void>, restore: Effect.Effect<void>) =>
  Effect.gen(function* () {
    const outcomes: Array<Outcome> = []
    let phase: Phase = "before"
    let running = true
    const worker = (w: number) =>
      Effect.gen(function* () {
        for (let i = 0; running; i++) {
          const key = keys[(w * 5 + i) % keys.length] ?? "key-0"
          const started = phase
          if (i % 4 === 3) {
            const lookup = `looked-up-${w}-${i}`
            let lookedUp: string | undefined
            const exit = yield* bounded(
              Effect.exit(
                cache.getOrSet(
                  key,
                  Effect.sync(() => {
                    lookedUp = lookup
                    return lookup
                  }),
                  { onCacheError: "bypass" }
                )
              ),
              "5 seconds"
            )
            outcomes.push({ kind: "getOrSet bypassing the cache", started, ended: phase, exit, lookedUp })
          } else {
            const operation = i % 4 === 0 ? cache.set(key, i) : i % 4 === 1 ? cache.get(key) : cache.getMany(keys)
            const exit = yield* bounded(Effect.exit(operation), "5 seconds")
            outcomes.push({ kind: "read or write", started, ended: phase, exit, lookedUp: undefined })
          }
          yield* Effect.sleep("5 millis")
        }
      })
    const fibers = yield* Effect.forEach([0, 1, 2, 3], (w) => Effect.fork(worker(w)))
    yield* Effect.sleep("300 millis")
    yield* rotate
    phase = "wrong"
    // The reconnection delay starts at 50 ms: this is several refused logins.
    yield* Effect.sleep("1500 millis")
    phase = "restored"
    yield* restore
    yield* Effect.sleep("500 millis")
    running = false
    yield* Fiber.joinAll(fibers)
    return outcomes
  })

/** The failure of `exit`, when it failed with one (and not a defect or an interruption). */
const failureOf = (exit: Exit.Exit<unknown, CacheError.CacheError>): CacheError.CacheError | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/**
 * The same cache writes and reads every key again, tried until it does (within 30 seconds: the reconnection delay
 * grows to 2 seconds, then the circuit's cooldown).
 */
const recovers = (cache: Cache.Cache.Service) =>
  bounded(
    cache.setMany(keys.map((key) => [key, "after"] as const)).pipe(
      Effect.zipRight(cache.getMany(keys)),
      Effect.filterOrFail((results) => results.every((result) => CacheResult.isHit(result))),
      Effect.retry(Schedule.spaced("100 millis"))
    ),
    "30 seconds"
  )

/** Rejections nobody handled while the scope is open. */
const unhandledRejections: Effect.Effect<ReadonlyArray<unknown>, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => {
      const rejections: Array<unknown> = []
      const listener = (reason: unknown) => {
        rejections.push(reason)
      }
      process.on("unhandledRejection", listener)
      return { rejections, listener }
    }),
    ({ listener }) => Effect.sync(() => process.off("unhandledRejection", listener))
  ),
  ({ rejections }) => rejections
)

/**
 * The whole scenario on the cache `make` builds (inside, so that its startup and release are watched too), then
 * what must hold of it.
 */
const rotationGoneWrong = (
  make: Effect.Effect<Cache.Cache.Service, CacheError.CacheError, Scope.Scope>,
  rotate: Effect.Effect<void>,
  restore: Effect.Effect<void>
) =>
  Effect.gen(function* () {
    const rejections = yield* unhandledRejections
    const { exit, logged, printed } = yield* watched(
      Effect.scoped(
        Effect.gen(function* () {
          const cache = yield* make
          yield* cache.setMany(keys.map((key) => [key, "before"] as const))
          const outcomes = yield* rotation(cache, rotate, restore)
          yield* recovers(cache)
          return outcomes
        })
      )
    )
    if (Exit.isFailure(exit)) return yield* Effect.dieMessage(`the scenario failed: ${Cause.pretty(exit.cause)}`)
    const outcomes = exit.value

    // Every failure, in every phase, is a typed CacheError a caller may retry.
    const failures = outcomes.filter((outcome) => Exit.isFailure(outcome.exit))
    for (const { exit } of failures) {
      expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause)).toBe(true)
      const error = failureOf(exit)
      expect(error !== undefined && CacheError.isCacheError(error) && CacheError.isRetryable(error)).toBe(true)
    }
    // While only the wrong password was in place, nothing reached the data, and getOrSet answered its lookup.
    const wrong = outcomes.filter((outcome) => outcome.started === "wrong" && outcome.ended === "wrong")
    expect(wrong.filter((outcome) => outcome.kind === "read or write").length).toBeGreaterThan(10)
    for (const outcome of wrong) {
      if (outcome.kind === "read or write") expect(Exit.isFailure(outcome.exit)).toBe(true)
      else expect(Exit.isSuccess(outcome.exit) && outcome.exit.value === outcome.lookedUp).toBe(true)
    }

    // Neither password anywhere: not in a failure or its causes, a log line (the outage is logged), the console.
    expect(logged.join("\n")).toContain("failing open")
    const everything = [...logged, ...printed, ...failures.map(({ exit }) => failureText(failureOf(exit)))].join("\n")
    for (const secret of [oldPassword, newPassword]) expect(everything).not.toContain(secret)
    expect(rejections).toEqual([])
  })

/** An ACL user `app` with `password` on every node at `ports`, from an admin connection of the test's own. */
const setAppPassword = (ports: ReadonlyArray<number>, password: string, create: boolean) =>
  Effect.forEach(
    ports,
    (port) =>
      Effect.promise(() =>
        call(port, "ACL", "SETUSER", "app", "on", "resetpass", `>${password}`, ...(create ? ["~*", "&*", "+@all"] : []))
      ),
    { discard: true }
  )

/**
 * The new password on every node, then the cache's connections dropped. `CLIENT KILL USER app` leaves the admin
 * connections (and a sentinel's own links to the master, normal clients too) alone.
 */
const rotateApp = (ports: ReadonlyArray<number>) =>
  Effect.zipRight(
    setAppPassword(ports, newPassword, false),
    Effect.forEach(ports, (port) => Effect.promise(() => call(port, "CLIENT", "KILL", "USER", "app")), {
      discard: true
    })
  )

describe("a wrong password under traffic", () => {
  it.scopedLive("once the server refuses the login, commands fail AUTH_FAILED, not merely NOT_CONNECTED", () =>
    Effect.gen(function* () {
      const s = yield* server(["--requirepass", oldPassword])
      const adminConnection = yield* admin(`redis://:${oldPassword}@127.0.0.1:${s.port}`)
      const cache = yield* RedisCache.make({
        url: s.url,
        password: Redacted.make(oldPassword),
        prefix: uniquePrefix("auth"),
        commandTimeout: "500 millis",
        circuitBreaker: false
      })
      yield* cache.set("k", "v")
      yield* Effect.promise(() => adminConnection.config("SET", "requirepass", newPassword))
      yield* Effect.promise(() => adminConnection.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
      // Right after the drop the connection is merely down; once a reconnection is refused, the error says why.
      const code = yield* bounded(
        Effect.retry(
          Effect.flatMap(Effect.flip(cache.get("k")), (error) =>
            error.code === "AUTH_FAILED" ? Effect.succeed(error.code) : Effect.fail(error)
          ),
          Schedule.spaced("100 millis")
        ),
        "10 seconds"
      )
      expect(code).toBe("AUTH_FAILED")
      yield* Effect.promise(() => adminConnection.config("SET", "requirepass", oldPassword))
    })
  )

  it.scopedLive("standalone: requirepass changed, connections dropped, then restored", () =>
    Effect.gen(function* () {
      const s = yield* server(["--requirepass", oldPassword])
      // Logged in before the change: an authenticated connection stays so.
      const control = yield* admin(`redis://:${oldPassword}@127.0.0.1:${s.port}`)
      yield* Effect.promise(() => control.ping())
      yield* rotationGoneWrong(
        RedisCache.make({
          url: Redacted.make(`redis://:${oldPassword}@127.0.0.1:${s.port}`),
          prefix: uniquePrefix("rotation"),
          ...options
        }),
        Effect.promise(async () => {
          await control.call("CONFIG", "SET", "requirepass", newPassword)
          await control.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        }),
        Effect.promise(() => control.call("CONFIG", "SET", "requirepass", oldPassword))
      )
    })
  )

  it.scopedLive("through Sentinel: the ACL user's password changed on the master and replica, then restored", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      yield* setAppPassword(group.ports, oldPassword, true)
      yield* rotationGoneWrong(
        RedisCache.make({
          sentinel: { sentinels: group.sentinels, name: group.name },
          username: "app",
          password: Redacted.make(oldPassword),
          prefix: uniquePrefix("rotation-sentinel"),
          ...options
        }),
        rotateApp(group.ports),
        setAppPassword(group.ports, oldPassword, false)
      )
    })
  )

  it.scopedLive(
    "on a three-master Cluster: the ACL user's password changed on every master, then restored",
    () =>
      Effect.gen(function* () {
        const local = yield* cluster({ replicas: false })
        yield* setAppPassword(local.ports, oldPassword, true)
        yield* rotationGoneWrong(
          RedisCache.make({
            cluster: { nodes: local.nodes },
            username: "app",
            password: Redacted.make(oldPassword),
            prefix: uniquePrefix("rotation-cluster"),
            ...options
          }),
          rotateApp(local.ports),
          setAppPassword(local.ports, oldPassword, false)
        )
      }),
    60_000
  )
})
