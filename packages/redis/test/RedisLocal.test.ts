import type * as CacheResult from "@cachet/core/CacheResult"
import { admin, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"

const hitValue = <A>(result: CacheResult.CacheResult<A>): A | undefined =>
  result._tag === "CacheHit" ? result.value : undefined

/** Poll `read` until it answers `expected`, for at most `limit` ms: how long the change took to arrive. */
const arrives = <A>(read: Effect.Effect<A, unknown>, expected: A, limit = 100) =>
  Effect.gen(function* () {
    const start = performance.now()
    for (;;) {
      const value = yield* read
      if (JSON.stringify(value) === JSON.stringify(expected)) return performance.now() - start
      if (performance.now() - start > limit) return yield* Effect.die(new Error(`still ${JSON.stringify(value)}`))
      yield* Effect.sleep("2 millis")
    }
  })

const commandCalls = (info: string): number => {
  let total = 0
  for (const match of info.matchAll(/calls=(\d+)/g)) total += Number(match[1])
  return total
}

describe.each(["tracking", "bus"] as const)("RedisCache local tier (%s)", (invalidation) => {
  const local = { capacity: 1000, timeToLive: "1 minute", invalidation } as const

  it.scopedLive("a write by one instance reaches another's tier within 100 ms", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const prefix = uniquePrefix("local")
      const a = yield* RedisCache.make({ url: s.url, prefix, local })
      const b = yield* RedisCache.make({ url: s.url, prefix, local })
      yield* a.set("k", 1)
      expect(hitValue(yield* b.get("k"))).toBe(1)
      expect(hitValue(yield* b.get("k"))).toBe(1)
      yield* a.set("k", 2)
      yield* arrives(Effect.map(b.get("k"), hitValue), 2)
      yield* a.delete("k")
      yield* arrives(Effect.map(b.get("k"), hitValue), undefined)
      yield* a.set("n", 1)
      yield* b.get("n")
      yield* a.increment("n", 2)
      yield* arrives(Effect.map(b.get("n"), hitValue), 3)
      yield* b.get("n")
      yield* a.clear()
      yield* arrives(Effect.map(b.get("n"), hitValue), undefined)
    })
  )

  it.scopedLive("1,000 local hits of a hot key send nothing to Redis", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const cache = yield* RedisCache.make({ url: s.url, prefix: uniquePrefix("hot"), local })
      yield* cache.set("hot", { n: 1 })
      yield* cache.get("hot")
      const before = commandCalls(yield* Effect.promise(() => redis.info("commandstats")))
      for (let i = 0; i < 1000; i++) expect(hitValue(yield* cache.get("hot"))).toEqual({ n: 1 })
      const after = commandCalls(yield* Effect.promise(() => redis.info("commandstats")))
      // The two INFO calls themselves, and a heartbeat PING per second at most.
      expect(after - before).toBeLessThanOrEqual(4)
    })
  )
})

describe("RedisCache local tier (tracking) sees every writer", () => {
  const local = { capacity: 1000, timeToLive: "1 minute" } as const

  it.scopedLive("redis-cli SET and DEL under the prefix reach the tier; FLUSHDB empties it", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* admin(s.url)
      const prefix = uniquePrefix("foreign")
      const cache = yield* RedisCache.make({ url: s.url, prefix, local })
      yield* cache.set("k", "mine")
      expect(hitValue(yield* cache.get("k"))).toBe("mine")
      yield* Effect.promise(() => redis.set(`${prefix}k`, '"theirs"'))
      yield* arrives(Effect.map(cache.get("k"), hitValue), "theirs")
      yield* Effect.promise(() => redis.del(`${prefix}k`))
      yield* arrives(Effect.map(cache.get("k"), hitValue), undefined)
      yield* cache.set("f", 1)
      yield* cache.get("f")
      yield* Effect.promise(() => redis.flushdb())
      yield* arrives(Effect.map(cache.get("f"), hitValue), undefined)
    })
  )
})
