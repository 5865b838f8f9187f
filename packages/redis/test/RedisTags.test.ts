/**
 * Tags on real servers: across two connections (two processes, as far as Redis can tell) on one server and on a
 * three-master Cluster, where an entry, its record and its tag's index sit in different slots; the bookkeeping of
 * 100,000 expiring tagged entries; and the race of a write with an invalidation of its tag, forced at each step.
 */
import type { Backend } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import { admin, anyServer, call, startCluster, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { Redis } from "ioredis"

const local = await startCluster({ replicas: false })
afterAll(() => local.stop())

const fast = { commandTimeout: "2 seconds", connectTimeout: "5 seconds" } as const
const cluster = { cluster: { nodes: local.nodes }, ...fast } as const

/** The index of `tag` under `prefix`, as the cache names it. */
const indexOf = (prefix: string, tag: string) => `${prefix}\u0000tag{${encodeURIComponent(tag)}}index`

/** Every key under `prefix`, by SCAN. */
const scanAll = (redis: Redis, prefix: string) =>
  Effect.promise(async () => {
    const keys: Array<string> = []
    let cursor = "0"
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", "10000")
      cursor = next
      keys.push(...batch)
    } while (cursor !== "0")
    return keys
  })

const bookkeeping = (keys: ReadonlyArray<string>) => keys.filter((key) => key.includes("\u0000"))

const slotOf = (key: string) =>
  Effect.promise(() => call(local.ports[0] ?? 0, "CLUSTER", "KEYSLOT", key)).pipe(Effect.map(Number))

/** Two caches on the same key space, each with a connection of its own. */
const twoCaches = (options: Parameters<typeof RedisCache.make>[0]) =>
  Effect.all([RedisCache.make(options), RedisCache.make(options)])

const acrossConnections = (one: Cache.Cache.Service, two: Cache.Cache.Service) =>
  Effect.gen(function* () {
    const names = Array.from({ length: 30 }, (_, i) => `user-${i}`)
    yield* one.setMany(
      names.map((name) => [name, { name }] as const),
      { timeToLive: "1 minute", tags: ["users"] }
    )
    yield* one.set("plain", 1)
    yield* two.set("other", 2, { tags: ["admins"] })
    expect(yield* two.invalidateTags(["users"])).toBe(names.length)
    for (const result of yield* one.getMany(names)) expect(result._tag).toBe("CacheMiss")
    expect((yield* one.get("plain"))._tag).toBe("CacheHit")
    expect((yield* one.get("other"))._tag).toBe("CacheHit")
    yield* two.set("late", 3, { tags: ["users"] })
    expect((yield* one.get("late"))._tag).toBe("CacheHit")
    expect(yield* one.invalidateTags(["users", "admins"])).toBe(2)
    yield* one.clear()
  })

describe("tags on one server", () => {
  it.scopedLive("an invalidation by one connection removes what another wrote", () =>
    Effect.gen(function* () {
      const { url } = yield* anyServer
      const [one, two] = yield* twoCaches({ url, prefix: uniquePrefix("tags-two") })
      yield* acrossConnections(one, two)
    })
  )

  it.scopedLive("a write racing an invalidation of its tag does not survive it, at either step", () =>
    Effect.flatMap(anyServer, ({ url }) => race({ url }))
  )

  it.scopedLive(
    "the bookkeeping of 100,000 expiring tagged entries goes with them; clear() removes what is left",
    () =>
      Effect.gen(function* () {
        const { url } = yield* anyServer
        const prefix = uniquePrefix("tags-bound")
        const cache = yield* RedisCache.make({ url, prefix })
        const redis = yield* admin(url)
        const started = Date.now()
        // Long enough that none expires while they are written, on a busy machine too.
        const timeToLive = 20_000
        for (let batch = 0; batch < 100; batch++) {
          yield* cache.setMany(
            Array.from({ length: 1000 }, (_, i) => [`k-${batch}-${i}`, i] as const),
            { timeToLive, tags: ["t"] }
          )
        }
        const written = Date.now()
        yield* Effect.log(`100,000 tagged entries written in ${written - started} ms`)
        // One record per entry, and one index holding every entry.
        expect(yield* Effect.promise(() => redis.zcard(indexOf(prefix, "t")))).toBe(100_000)
        expect(bookkeeping(yield* scanAll(redis, prefix)).length).toBe(100_001)
        yield* Effect.sleep(written + timeToLive + 500 - Date.now())
        // The index expired with its last member, the records with their entries.
        expect(yield* scanAll(redis, prefix)).toEqual([])
        // A write sweeps what has expired: the index holds the live members only.
        yield* cache.set("short", 1, { timeToLive: "100 millis", tags: ["t"] })
        yield* Effect.sleep("200 millis")
        yield* cache.set("live", 1, { timeToLive: "1 minute", tags: ["t"] })
        expect(yield* Effect.promise(() => redis.zrange(indexOf(prefix, "t"), "0", "-1"))).toEqual([`${prefix}live`])
        yield* cache.invalidateTags(["u"])
        yield* cache.set("kept", 1, { tags: ["t", "u"] })
        expect(bookkeeping(yield* scanAll(redis, prefix)).length).toBeGreaterThan(0)
        yield* cache.clear()
        expect(yield* scanAll(redis, prefix)).toEqual([])
      }),
    120_000
  )
})

/**
 * A backend whose first `setMany` runs `interleave` before (`"before"`) or after (`"after"`) it writes: an
 * invalidation forced between the write's steps.
 */
const interleaved = (backend: Backend, when: "before" | "after", interleave: Effect.Effect<unknown, unknown>) => {
  let armed = true
  const once = Effect.suspend(() => {
    if (!armed) return Effect.void
    armed = false
    return Effect.orDie(interleave)
  })
  const wrapped: Backend = {
    ...backend,
    setMany: (entries) =>
      when === "before"
        ? Effect.zipRight(once, backend.setMany(entries))
        : Effect.zipLeft(backend.setMany(entries), once)
  }
  return wrapped
}

/** The race of a write with an invalidation of its tag, forced before and after the write lands, on `connection`. */
const race = (connection: Parameters<typeof RedisCache.make>[0]) =>
  Effect.gen(function* () {
    const prefix = uniquePrefix("tags-race")
    const other = yield* RedisCache.make({ ...connection, prefix })
    const raw = yield* RedisCache.makeBackend(connection)
    let removed = -1
    const invalidation = Effect.map(other.invalidateTags(["t"]), (n) => {
      removed = n
    })
    for (const when of ["before", "after"] as const) {
      const writer = yield* Cache.make(interleaved(yield* RedisCache.makeBackend(connection), when, invalidation), {
        prefix
      })
      yield* writer.set(`k-${when}`, 1, { timeToLive: "1 minute", tags: ["t"] })
      // Before the write landed the invalidation found nothing to delete: the writer saw the new epoch and took
      // its value back. After it, the invalidation deleted it.
      expect(removed).toBe(when === "before" ? 0 : 1)
      expect((yield* writer.get(`k-${when}`))._tag).toBe("CacheMiss")
      expect((yield* other.get(`k-${when}`))._tag).toBe("CacheMiss")
      expect(yield* raw.has(`${prefix}k-${when}\u0000tags`)).toBe(false)
    }
    // An invalidation that ran before the write began leaves it: the write is newer.
    yield* other.invalidateTags(["t"])
    const writer = yield* RedisCache.make({ ...connection, prefix })
    yield* writer.set("newer", 1, { timeToLive: "1 minute", tags: ["t"] })
    expect((yield* other.get("newer"))._tag).toBe("CacheHit")
    expect(yield* other.invalidateTags(["t"])).toBe(1)
    yield* other.clear()
  })

describe("tags on a Cluster", () => {
  it.scopedLive("entries, records and tag indexes in different slots; two connections", () =>
    Effect.gen(function* () {
      const prefix = uniquePrefix("tags-cluster")
      const [one, two] = yield* twoCaches({ ...cluster, prefix })
      const slots = new Set(
        yield* Effect.forEach([`${prefix}user-0`, `${prefix}user-0\u0000tags`, indexOf(prefix, "users")], slotOf)
      )
      expect(slots.size).toBe(3)
      yield* acrossConnections(one, two)
    })
  )

  it.scopedLive("a write racing an invalidation of its tag does not survive it, at either step", () => race(cluster))
})
