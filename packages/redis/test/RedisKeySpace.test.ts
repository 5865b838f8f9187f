import { admin, externalUrl, server } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

// These fill a server with foreign keys and count them: never on a shared one given by REDIS_URL.
const ownServerOnly = externalUrl !== undefined

const refusal = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.flip(effect)

describe("RedisCache key spaces", () => {
  it.scopedLive.skipIf(ownServerOnly)(
    "with an empty prefix, keys, deletePattern and clear are refused and another program's keys survive",
    () =>
      Effect.gen(function* () {
        const s = yield* server()
        const redis = yield* admin(s.url)
        const foreign = ["session:1", "session:2", "queue", "a\u0000lock", "*"]
        yield* Effect.promise(() => redis.mset(...foreign.flatMap((key) => [key, "foreign"])))
        const cache = yield* RedisCache.make({ url: s.url, prefix: "" })
        yield* cache.set("mine", 1)
        expect(yield* refusal(cache.deletePattern("*"))).toMatchObject({ code: "EMPTY_PREFIX" })
        expect(yield* refusal(cache.deletePattern("session:*"))).toMatchObject({ code: "EMPTY_PREFIX" })
        expect(yield* refusal(cache.clear())).toMatchObject({ code: "EMPTY_PREFIX" })
        expect(yield* refusal(Stream.runDrain(cache.keys()))).toMatchObject({ code: "EMPTY_PREFIX" })
        expect(yield* Effect.promise(() => redis.dbsize())).toBe(foreign.length + 1)
        expect(yield* Effect.promise(() => redis.mget(...foreign))).toEqual(foreign.map(() => "foreign"))
      })
  )

  it.scopedLive.skipIf(ownServerOnly)(
    "prefix tenant1 stores under tenant1: and its clear leaves tenant10:*, whoever wrote them",
    () =>
      Effect.gen(function* () {
        const s = yield* server()
        const redis = yield* admin(s.url)
        const foreign = ["tenant10:x", "tenant10:y", "tenant1", "tenant1x", "tenant1;x"]
        yield* Effect.promise(() => redis.mset(...foreign.flatMap((key) => [key, "foreign"])))
        const tenant1 = yield* RedisCache.make({ url: s.url, prefix: "tenant1" })
        expect(tenant1.prefix).toBe("tenant1:")
        yield* tenant1.set("x", "mine")
        expect(yield* Effect.promise(() => redis.get("tenant1:x"))).toBe('"mine"')
        expect(yield* Stream.runCollect(tenant1.keys()).pipe(Effect.map((keys) => [...keys]))).toEqual(["x"])
        expect(yield* tenant1.deletePattern("*")).toBe(1)
        yield* tenant1.set("x", "mine")
        expect(yield* tenant1.clear()).toBe(1)
        expect(yield* Effect.promise(() => redis.dbsize())).toBe(foreign.length)
        expect(yield* Effect.promise(() => redis.mget(...foreign))).toEqual(foreign.map(() => "foreign"))
      })
  )

  it.scopedLive.skipIf(ownServerOnly)(
    "keys that UTF-8 would merge are refused: a lone surrogate never reaches the server",
    () =>
      Effect.gen(function* () {
        const s = yield* server()
        const redis = yield* admin(s.url)
        const cache = yield* RedisCache.make({ url: s.url, prefix: "app:" })
        yield* cache.set("a\uFFFD", "replacement")
        expect(yield* refusal(cache.set("a\uD800", "surrogate"))).toMatchObject({ code: "INVALID_KEY" })
        expect(yield* refusal(cache.get("a\uD800"))).toMatchObject({ code: "INVALID_KEY" })
        expect(yield* refusal(cache.delete("a\uD800"))).toMatchObject({ code: "INVALID_KEY" })
        expect(yield* Effect.promise(() => redis.get("app:a\uFFFD"))).toBe('"replacement"')
        expect(yield* Stream.runCollect(cache.keys()).pipe(Effect.map((keys) => [...keys]))).toEqual(["a\uFFFD"])
      })
  )
})
