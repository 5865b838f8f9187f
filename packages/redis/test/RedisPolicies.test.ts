/**
 * The failure policies of the core (fail-open, bypass, the loud default) against a real server that stops.
 */
import { Cache, CacheResult } from "@cachet/core"
import { bounded, externalUrl, server } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"

const fast = { commandTimeout: "300 millis", connectTimeout: "2 seconds", prefix: "policies:" } as const

/** Ends within `limit` or the test fails with a defect: nothing may hang. */
describe.skipIf(externalUrl !== undefined)("failure policies with the server stopped", () => {
  it.scopedLive("the default surfaces CacheUnavailableError; failOpen reads miss; bypass runs the lookup", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const quiet = Cache.failOpen(yield* RedisCache.make({ ...fast, url: s.url }))
      const lookups = yield* Ref.make(0)
      const lookup = Effect.as(
        Ref.update(lookups, (n) => n + 1),
        "from the database"
      )
      yield* quiet.set("k", "cached")
      expect(yield* quiet.get("k")).toEqual(CacheResult.hit("cached"))

      yield* Effect.promise(() => s.kill())

      // Loud by default: a layer built now fails typed, within the connect timeout.
      const direct = yield* RedisCache.make({ ...fast, url: s.url }).pipe(Effect.flip, bounded)
      expect(direct._tag).toBe("CacheUnavailableError")

      // failOpen: reads are misses, writes are no-ops, each within the timeout.
      expect(yield* bounded(quiet.get("k"))).toEqual(CacheResult.miss)
      expect(yield* bounded(quiet.getMany(["k", "j"]))).toEqual([CacheResult.miss, CacheResult.miss])
      yield* bounded(quiet.set("k", "new"))
      expect(yield* bounded(quiet.delete("k"))).toBe(false)
      // getOrSet under failOpen runs the lookup.
      expect(yield* bounded(quiet.getOrSet("k", lookup))).toBe("from the database")
      expect(yield* Ref.get(lookups)).toBe(1)
      // ping still tells the truth.
      expect((yield* bounded(Effect.flip(quiet.ping)))._tag).toMatch(/CacheUnavailableError|CacheTimeoutError/)
    })
  )

  it.scopedLive("on a service made before the outage: default fails, bypass runs the lookup, then recovery", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const cache = yield* RedisCache.make({ ...fast, url: s.url, circuitBreaker: false })
      const lookups = yield* Ref.make(0)
      const lookup = Effect.as(
        Ref.update(lookups, (n) => n + 1),
        "fresh"
      )
      yield* Effect.promise(() => s.kill())

      const error = yield* bounded(Effect.flip(cache.getOrSet("k", lookup)))
      expect(["CacheUnavailableError", "CacheTimeoutError"]).toContain(error._tag)
      expect(yield* Ref.get(lookups)).toBe(0)

      expect(yield* bounded(cache.getOrSet("k", lookup, { onCacheError: "bypass" }))).toBe("fresh")
      expect(yield* Ref.get(lookups)).toBe(1)

      // The same service serves again once the server is back (empty).
      yield* Effect.promise(() => s.restart())
      const back = yield* bounded(
        Effect.retry(cache.getOrSet("k", lookup), Schedule.spaced("100 millis").pipe(Schedule.upTo("8 seconds"))).pipe(
          Effect.catchAll(() => Effect.succeed("still down"))
        ),
        "10 seconds"
      )
      expect(back).toBe("fresh")
      expect(yield* cache.get("k")).toEqual(CacheResult.hit("fresh"))
    })
  )
})
