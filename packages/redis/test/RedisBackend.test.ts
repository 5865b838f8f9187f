import type { Backend } from "@cachet/core/Backend"
import type { CacheError } from "@cachet/core/CacheError"
import { admin, anyServer, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const setup = (name: string) =>
  Effect.gen(function* () {
    const { url } = yield* anyServer
    const backend = yield* RedisCache.makeBackend({ url })
    const redis = yield* admin(url)
    const prefix = uniquePrefix(name)
    return { backend, redis, prefix, url }
  })

const scanAll = (backend: Backend, pattern: string) =>
  Stream.runCollect(backend.scan(pattern)).pipe(Effect.map((chunks) => Chunk.toReadonlyArray(chunks).flat().sort()))

describe("RedisCache backend", () => {
  it.scopedLive("reads, writes and expires with Redis semantics", () =>
    Effect.gen(function* () {
      const { backend, prefix } = yield* setup("basic")
      const k = (s: string) => `${prefix}${s}`
      expect(yield* backend.get(k("a"))).toBeUndefined()
      expect(yield* backend.getWithTimeToLive(k("a"))).toBeUndefined()
      yield* backend.set(k("a"), "1", undefined)
      yield* backend.set(k("b"), "two", 60_000)
      expect(yield* backend.get(k("a"))).toBe("1")
      expect(yield* backend.getWithTimeToLive(k("a"))).toEqual({ value: "1", timeToLive: -1 })
      const withTtl = yield* backend.getWithTimeToLive(k("b"))
      expect(withTtl?.value).toBe("two")
      expect(withTtl?.timeToLive).toBeGreaterThan(59_000)
      expect(yield* backend.getMany([k("a"), k("missing"), k("b")])).toEqual(["1", undefined, "two"])
      expect(yield* backend.getMany([])).toEqual([])
      expect(yield* backend.add(k("a"), "x", undefined)).toBe(false)
      expect(yield* backend.add(k("c"), "3", 60_000)).toBe(true)
      expect(yield* backend.timeToLive(k("c"))).toBeGreaterThan(59_000)
      expect(yield* backend.timeToLive(k("a"))).toBe(-1)
      expect(yield* backend.timeToLive(k("missing"))).toBe(-2)
      expect(yield* backend.has(k("a"))).toBe(true)
      expect(yield* backend.has(k("missing"))).toBe(false)
      expect(yield* backend.expire(k("a"), 60_000)).toBe(true)
      expect(yield* backend.expire(k("missing"), 60_000)).toBe(false)
      expect(yield* backend.persist(k("a"))).toBe(true)
      expect(yield* backend.persist(k("a"))).toBe(false)
      // SET without a time-to-live drops the previous expiry.
      yield* backend.set(k("b"), "two", undefined)
      expect(yield* backend.timeToLive(k("b"))).toBe(-1)
      yield* backend.setMany([
        { key: k("m1"), value: "x", timeToLive: undefined },
        { key: k("m2"), value: "y", timeToLive: 30_000 }
      ])
      expect(yield* backend.getMany([k("m1"), k("m2")])).toEqual(["x", "y"])
      expect(yield* backend.delete([k("a"), k("b"), k("missing")])).toBe(2)
      expect(yield* backend.delete([])).toBe(0)
      yield* backend.set(k("short"), "v", 1)
      yield* Effect.sleep("10 millis")
      expect(yield* backend.get(k("short"))).toBeUndefined()
      yield* backend.ping
      yield* backend.delete([k("c"), k("m1"), k("m2")])
    })
  )

  it.scopedLive("increments exactly in 64 bits", () =>
    Effect.gen(function* () {
      const { backend, redis, prefix } = yield* setup("int64")
      const key = `${prefix}counter`
      expect(yield* backend.increment(key, 1n)).toBe(1n)
      yield* Effect.promise(() => redis.set(key, "9007199254740991"))
      expect(yield* backend.increment(key, 2n)).toBe(9007199254740993n)
      expect(yield* backend.increment(key, -4n)).toBe(9007199254740989n)
      yield* Effect.promise(() => redis.set(key, "9223372036854775806"))
      expect(yield* backend.increment(key, 1n)).toBe(9223372036854775807n)
      const overflow = yield* Effect.flip(backend.increment(key, 1n))
      expect(overflow).toMatchObject({ _tag: "CacheCommandError", code: "OVERFLOW" })
      expect(yield* Effect.promise(() => redis.get(key))).toBe("9223372036854775807")
      yield* Effect.promise(() => redis.set(key, "-9223372036854775807"))
      expect(yield* backend.increment(key, -1n)).toBe(-9223372036854775808n)
      expect(yield* Effect.flip(backend.increment(key, -1n))).toMatchObject({ code: "OVERFLOW" })
      yield* Effect.promise(() => redis.set(key, "1.5"))
      expect(yield* Effect.flip(backend.increment(key, 1n))).toMatchObject({
        _tag: "CacheCommandError",
        code: "NOT_INTEGER"
      })
      // INCRBY keeps the time-to-live.
      yield* Effect.promise(() => redis.set(key, "5", "PX", 60_000))
      expect(yield* backend.increment(key, 10n)).toBe(15n)
      expect(yield* backend.timeToLive(key)).toBeGreaterThan(59_000)
      yield* Effect.promise(() => redis.del(key))
    })
  )

  it.scopedLive("a key of another type written by another client fails with WRONG_TYPE", () =>
    Effect.gen(function* () {
      const { backend, redis, prefix } = yield* setup("wrongtype")
      const key = `${prefix}list`
      yield* Effect.promise(() => redis.rpush(key, "a", "b"))
      yield* Effect.promise(() => redis.set(`${prefix}string`, "v"))
      const operations: ReadonlyArray<Effect.Effect<unknown, CacheError>> = [
        backend.get(key),
        backend.getWithTimeToLive(key),
        // As `get` of that key, where MGET would answer nil: among other keys, hits and misses alike.
        backend.getMany([key]),
        backend.getMany([`${prefix}string`, `${prefix}missing`, key]),
        backend.increment(key, 1n)
      ]
      for (const operation of operations) {
        const error = yield* Effect.flip(operation)
        expect(error).toMatchObject({ _tag: "CacheCommandError", code: "WRONG_TYPE" })
        expect(error.message).not.toContain("Operation against")
      }
      expect(yield* backend.has(key)).toBe(true)
      expect(yield* backend.delete([key, `${prefix}string`])).toBe(2)
    })
  )

  it.scopedLive("scan matches Redis globs and streams batches", () =>
    Effect.gen(function* () {
      const { backend, redis, prefix } = yield* setup("scan")
      const keys = Array.from({ length: 2500 }, (_, i) => `${prefix}k${i}`)
      yield* Effect.promise(() => redis.mset(...keys.flatMap((k) => [k, "v"])))
      const found = yield* scanAll(backend, `${prefix}k1*`)
      expect(found).toEqual(keys.filter((k) => k.startsWith(`${prefix}k1`)).sort())
      expect(yield* backend.getMany(keys)).toEqual(keys.map(() => "v"))
      const batches = yield* Stream.runCollect(backend.scan(`${prefix}*`))
      expect(Chunk.size(batches)).toBeGreaterThan(1)
      for (const batch of batches) expect(batch.length).toBeGreaterThan(0)
      expect(yield* backend.delete(keys)).toBe(2500)
      expect(yield* scanAll(backend, `${prefix}*`)).toEqual([])
    })
  )

  it.scopedLive("a driver error in cause carries no command argument", () =>
    Effect.gen(function* () {
      const { backend, redis, prefix } = yield* setup("cause")
      const key = `${prefix}secret-key-name`
      yield* Effect.promise(() => redis.rpush(key, "a"))
      const error = yield* Effect.flip(backend.get(key))
      expect(error.cause).toBeInstanceOf(Error)
      expect(error.cause).not.toHaveProperty("command")
      // The key belongs in the error's `key` field; the driver's copy of the command arguments goes nowhere.
      expect(`${JSON.stringify(error.cause)} ${String(error.cause)}`).not.toContain("secret-key-name")
      yield* Effect.promise(() => redis.del(key))
    })
  )
})
