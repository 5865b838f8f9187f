import { Cache } from "@cachet/core"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Layer, Stream, TestClock } from "effect"
import { MemoryCache } from "../src/index.js"
import { Store, SWEEP_STEPS, weigh } from "../src/internal/store.js"

const unbounded = { capacity: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY }

const batches = (stream: Stream.Stream<ReadonlyArray<string>, unknown>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

describe("MemoryCache", () => {
  describe("least-recently-used eviction", () => {
    it.effect("by capacity: a write past capacity evicts the least recently used, and reads count as use", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend({ capacity: 3 })
        yield* backend.set("a", "1", undefined)
        yield* backend.set("b", "2", undefined)
        yield* backend.set("c", "3", undefined)
        expect(yield* backend.get("a")).toBe("1")
        yield* backend.set("d", "4", undefined)
        expect(yield* backend.getMany(["a", "b", "c", "d"])).toEqual(["1", undefined, "3", "4"])
        // getMany read a, c and d in that order: a is now the least recently used.
        yield* backend.set("e", "5", undefined)
        expect(yield* backend.has("a")).toBe(false)
        expect(yield* backend.getWithTimeToLive("c")).toEqual({ value: "3", timeToLive: -1 })
        yield* backend.set("f", "6", undefined)
        expect(yield* backend.getMany(["c", "d", "e", "f"])).toEqual(["3", undefined, "5", "6"])
      })
    )

    it.effect("by capacity: has, timeToLive, expire and persist do not count as use; overwrites do", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend({ capacity: 2 })
        yield* backend.set("a", "1", undefined)
        yield* backend.set("b", "2", undefined)
        expect(yield* backend.has("a")).toBe(true)
        expect(yield* backend.timeToLive("a")).toBe(-1)
        yield* backend.set("c", "3", undefined)
        expect(yield* backend.has("a")).toBe(false)
        yield* backend.set("b", "2b", undefined)
        yield* backend.set("d", "4", undefined)
        expect(yield* backend.getMany(["b", "c", "d"])).toEqual(["2b", undefined, "4"])
      })
    )

    it.effect("by maxBytes: evicts the least recently used until the entries fit", () =>
      Effect.gen(function* () {
        // Each entry weighs 2 × (2 + 8) = 20 bytes.
        const value = "x".repeat(8)
        expect(weigh("k1", value)).toBe(20)
        const backend = yield* MemoryCache.makeBackend({ maxBytes: 60 })
        yield* backend.set("k1", value, undefined)
        yield* backend.set("k2", value, undefined)
        yield* backend.set("k3", value, undefined)
        expect(yield* backend.get("k1")).toBe(value)
        yield* backend.set("k4", value, undefined)
        expect(yield* backend.getMany(["k1", "k2", "k3", "k4"])).toEqual([value, undefined, value, value])
        // A heavier value makes room by evicting as many as it needs.
        yield* backend.set("k5", "y".repeat(18), undefined)
        expect(yield* backend.getMany(["k1", "k3", "k4", "k5"])).toEqual([undefined, undefined, value, "y".repeat(18)])
      })
    )

    it.effect("by maxBytes: an entry heavier than maxBytes is not kept and evicts nothing else", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend({ maxBytes: 60 })
        yield* backend.set("a", "small", undefined)
        yield* backend.set("b", "old", undefined)
        yield* backend.set("b", "z".repeat(100), undefined)
        expect(yield* backend.getMany(["a", "b"])).toEqual(["small", undefined])
        expect(yield* backend.add("c", "z".repeat(100), undefined)).toBe(true)
        expect(yield* backend.has("c")).toBe(false)
        expect(yield* backend.get("a")).toBe("small")
      })
    )

    it.effect("keeps the byte count exact across overwrites, deletes and expiry", () =>
      Effect.gen(function* () {
        const store = new Store(yield* Effect.clock, { capacity: Number.POSITIVE_INFINITY, maxBytes: 1000 })
        store.set("a", "12345", undefined)
        store.set("b", "1", 10)
        store.set("a", "1", undefined)
        expect(store.bytes).toBe(weigh("a", "1") + weigh("b", "1"))
        store.delete(["a"])
        expect(store.bytes).toBe(weigh("b", "1"))
        yield* TestClock.adjust(11)
        expect(store.get("b")).toBeUndefined()
        expect(store.bytes).toBe(0)
      })
    )
  })

  describe("time-to-live", () => {
    it.effect("expires lazily on access when TestClock passes the deadline", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        yield* backend.set("k", "v", 1000)
        yield* TestClock.adjust(999)
        expect(yield* backend.get("k")).toBe("v")
        expect(yield* backend.timeToLive("k")).toBe(1)
        expect(yield* backend.getWithTimeToLive("k")).toEqual({ value: "v", timeToLive: 1 })
        // As in Redis, a key lives through its deadline's millisecond (PTTL 0) and is gone after it.
        yield* TestClock.adjust(1)
        expect(yield* backend.timeToLive("k")).toBe(0)
        expect(yield* backend.get("k")).toBe("v")
        yield* TestClock.adjust(1)
        expect(yield* backend.has("k")).toBe(false)
        expect(yield* backend.get("k")).toBeUndefined()
        expect(yield* backend.getWithTimeToLive("k")).toBeUndefined()
        expect(yield* backend.timeToLive("k")).toBe(-2)
        expect(yield* backend.delete(["k"])).toBe(0)
      })
    )

    it.effect("follows Redis: SET clears an expiry, SET NX, PEXPIRE and PERSIST", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        yield* backend.set("k", "1", 500)
        yield* backend.set("k", "2", undefined)
        expect(yield* backend.timeToLive("k")).toBe(-1)

        expect(yield* backend.add("k", "3", 100)).toBe(false)
        expect(yield* backend.get("k")).toBe("2")
        expect(yield* backend.add("n", "1", 100)).toBe(true)
        expect(yield* backend.timeToLive("n")).toBe(100)
        yield* TestClock.adjust(101)
        expect(yield* backend.add("n", "again", undefined)).toBe(true)
        expect(yield* backend.getWithTimeToLive("n")).toEqual({ value: "again", timeToLive: -1 })

        expect(yield* backend.expire("absent", 100)).toBe(false)
        expect(yield* backend.has("absent")).toBe(false)
        expect(yield* backend.persist("k")).toBe(false)
        expect(yield* backend.expire("k", 300)).toBe(true)
        expect(yield* backend.timeToLive("k")).toBe(300)
        expect(yield* backend.persist("k")).toBe(true)
        expect(yield* backend.persist("k")).toBe(false)
        expect(yield* backend.timeToLive("k")).toBe(-1)
        yield* TestClock.adjust(1000)
        expect(yield* backend.get("k")).toBe("2")
      })
    )

    it.effect("refuses a time-to-live that is not a whole number of milliseconds ≥ 1, writing nothing", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        for (const timeToLive of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          const error = yield* Effect.flip(backend.set("k", "v", timeToLive))
          expect(error).toMatchObject({ _tag: "CacheInvalidInputError", code: "INVALID_TIME_TO_LIVE" })
          expect(yield* Effect.flip(backend.add("k", "v", timeToLive))).toMatchObject({
            _tag: "CacheInvalidInputError"
          })
        }
        const error = yield* Effect.flip(
          backend.setMany([
            { key: "a", value: "1", timeToLive: 10 },
            { key: "b", value: "2", timeToLive: 0 }
          ])
        )
        expect(error).toMatchObject({ _tag: "CacheInvalidInputError", key: "b" })
        expect(yield* backend.getMany(["k", "a", "b"])).toEqual([undefined, undefined, undefined])
      })
    )

    it.effect("the sweep removes expired entries that are never read again, a few per write", () =>
      Effect.gen(function* () {
        const store = new Store(yield* Effect.clock, unbounded)
        for (let i = 0; i < 1000; i++) store.set(`short:${i}`, "v", 10)
        store.set("long", "v", 1_000_000)
        expect(store.size).toBe(1001)
        yield* TestClock.adjust(11)
        for (let i = 0; i < 100; i++) store.set(`other:${i}`, "v", undefined)
        // Each write examined SWEEP_STEPS expiring entries (one of them may be "long") and removed the expired.
        expect(store.size).toBeLessThanOrEqual(1001 - (100 * SWEEP_STEPS - 1) + 100)
        // One lap of the ring of 1001 expiring entries removes every expired one.
        const lap = Math.ceil(1001 / SWEEP_STEPS)
        for (let i = 100; i < lap; i++) store.set(`other:${i}`, "v", undefined)
        expect(store.size).toBe(1 + lap)
        expect(store.get("long")).toBe("v")
      })
    )

    it.effect("expired entries stay bounded under a steady stream of short-lived writes", () =>
      Effect.gen(function* () {
        const store = new Store(yield* Effect.clock, unbounded)
        let peak = 0
        for (let round = 0; round < 50; round++) {
          for (let i = 0; i < 100; i++) store.set(`r${round}:${i}`, "v", 5)
          peak = Math.max(peak, store.size)
          yield* TestClock.adjust(10)
        }
        // Without the sweep the store would hold all 5000 entries; with it, a small multiple of one round.
        expect(peak).toBeLessThanOrEqual(200)
      })
    )
  })

  describe("values", () => {
    it.scoped("are stored encoded: mutating an object after set does not change the cache", () =>
      Effect.gen(function* () {
        const cache = yield* MemoryCache.make({ prefix: "snap:" })
        const user = { name: "Ada", tags: ["a"] }
        yield* cache.set("user", user)
        user.name = "Grace"
        user.tags.push("b")
        const read = yield* cache.get("user")
        expect(read).toMatchObject({ _tag: "CacheHit", value: { name: "Ada", tags: ["a"] } })
        if (read._tag === "CacheHit") {
          const value = read.value
          if (typeof value === "object" && value !== null && "tags" in value && Array.isArray(value.tags)) {
            value.tags.push("c")
          }
        }
        expect(yield* cache.get("user")).toMatchObject({ value: { name: "Ada", tags: ["a"] } })
      })
    )

    it.effect("the backend keeps exactly the strings it is given", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        yield* backend.setMany([
          { key: "é", value: "\u0000 \uD800", timeToLive: undefined },
          { key: "", value: "", timeToLive: 5 }
        ])
        expect(yield* backend.getMany(["é", "", "missing"])).toEqual(["\u0000 \uD800", "", undefined])
        expect(yield* backend.delete(["é", "é", "", "missing"])).toBe(2)
      })
    )
  })

  describe("scan", () => {
    it.effect("streams live matching keys in batches of at most 1000", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        for (let i = 0; i < 2500; i++) yield* backend.set(`p:${i}`, "v", undefined)
        for (let i = 0; i < 10; i++) yield* backend.set(`q:${i}`, "v", undefined)
        yield* backend.set("p:expiring", "v", 5)
        yield* TestClock.adjust(6)
        const result = yield* batches(backend.scan("p:*"))
        expect(result.map((batch) => batch.length)).toEqual([1000, 1000, 500])
        const keys = result.flat()
        expect(new Set(keys).size).toBe(2500)
        expect(keys.every((key) => key.startsWith("p:") && key !== "p:expiring")).toBe(true)
        expect((yield* batches(backend.scan("q:[0-4]"))).flat().sort()).toEqual(["q:0", "q:1", "q:2", "q:3", "q:4"])
        expect(yield* batches(backend.scan("none:*"))).toEqual([])
      })
    )

    it.effect("is snapshot-based: deleting while streaming is safe, and deleted keys are not emitted later", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        for (let i = 0; i < 2500; i++) yield* backend.set(`d:${i}`, "v", undefined)
        let deleted = 0
        yield* Stream.runForEach(backend.scan("d:*"), (batch) =>
          Effect.map(backend.delete(batch), (n) => {
            deleted += n
          })
        )
        expect(deleted).toBe(2500)
        expect(yield* batches(backend.scan("*"))).toEqual([])

        for (let i = 0; i < 2500; i++) yield* backend.set(`e:${i}`, "v", undefined)
        const seen: Array<string> = []
        yield* Stream.runForEach(backend.scan("e:*"), (batch) =>
          Effect.gen(function* () {
            seen.push(...batch)
            if (seen.length === batch.length) {
              const everything = (yield* batches(backend.scan("*"))).flat()
              yield* backend.delete(everything)
            }
          })
        )
        expect(seen.length).toBe(1000)
      })
    )

    it.effect("follows SCAN's short-cut for the pattern * (the empty key included)", () =>
      Effect.gen(function* () {
        const backend = yield* MemoryCache.makeBackend()
        yield* backend.set("", "v", undefined)
        yield* backend.set("a", "v", undefined)
        expect((yield* batches(backend.scan("*"))).flat().sort()).toEqual(["", "a"])
        expect((yield* batches(backend.scan("**"))).flat()).toEqual(["a"])
      })
    )
  })

  describe("options", () => {
    const invalid = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]

    it.effect.each(invalid)("refuses capacity and maxBytes %s", (value) =>
      Effect.gen(function* () {
        const capacity = yield* Effect.flip(MemoryCache.makeBackend({ capacity: value }))
        expect(capacity).toMatchObject({ _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" })
        expect(capacity.message).toContain("capacity")
        const maxBytes = yield* Effect.flip(MemoryCache.makeBackend({ maxBytes: value }))
        expect(maxBytes).toMatchObject({ _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" })
        expect(maxBytes.message).toContain("maxBytes")
        const exit = yield* Effect.exit(Layer.build(MemoryCache.layer({ capacity: value })).pipe(Effect.scoped))
        expect(Exit.isFailure(exit)).toBe(true)
      })
    )

    it.effect(
      "options an untyped caller got wrong fail the layer typed: a null prefix, a getter or Proxy that throws",
      () =>
        Effect.gen(function* () {
          const untyped = <T>(value: unknown): T => value as T
          const throwing = (name: string) =>
            Object.defineProperty({}, name, {
              enumerable: true,
              get: () => {
                throw new Error("the getter broke")
              }
            })
          const hostile = new Proxy(
            {},
            {
              get: () => {
                throw new Error("the proxy broke")
              }
            }
          )
          const options = [{ prefix: null }, throwing("prefix"), throwing("capacity"), throwing("local"), hostile]
          for (const option of options) {
            const exit = yield* Effect.exit(Layer.build(MemoryCache.layer(untyped(option))).pipe(Effect.scoped))
            expect(exit).toMatchObject({
              _tag: "Failure",
              cause: { _tag: "Fail", error: { _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" } }
            })
          }
        })
    )

    it.effect("the layer provides a working Cache with the given prefix and capacity", () =>
      Effect.gen(function* () {
        yield* Cache.set("a", 1)
        yield* Cache.set("b", 2)
        yield* Cache.set("c", 3)
        const cache = yield* Cache.Cache
        expect(cache.backend).toBe("memory")
        expect(cache.prefix).toBe("layer:")
        expect(yield* Cache.has("a")).toBe(false)
        expect(yield* Cache.getMany(["b", "c"])).toMatchObject([{ value: 2 }, { value: 3 }])
        expect(yield* Cache.increment("n", 2)).toBe(2n)
      }).pipe(Effect.provide(MemoryCache.layer({ prefix: "layer:", capacity: 2 })))
    )
  })
})

describe("MemoryCache with a local tier", () => {
  const local = { capacity: 100, timeToLive: "1 minute" } as const
  const tag = (result: { readonly _tag: string }) => result._tag

  it.scoped("an entry the store evicts for its capacity leaves the tier too", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ capacity: 2, local })
      for (const key of ["a", "b", "c"]) yield* cache.set(key, key)
      expect(yield* cache.has("a")).toBe(false)
      expect(tag(yield* cache.get("a"))).toBe("CacheMiss")
      expect(tag(yield* cache.get("c"))).toBe("CacheHit")
    })
  )

  it.scoped("a write larger than maxBytes, which the store does not keep, is not served by the tier", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ maxBytes: 200, local })
      yield* cache.set("small", 1)
      yield* cache.set("big", "x".repeat(1000))
      expect(yield* cache.has("big")).toBe(false)
      expect(tag(yield* cache.get("big"))).toBe("CacheMiss")
      // A key held before, overwritten by a value too large to keep, is gone from both.
      yield* cache.set("small", "y".repeat(1000))
      expect(tag(yield* cache.get("small"))).toBe("CacheMiss")
    })
  )

  it.scoped("evictions under another prefix of the same store reach only that cache's tier", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend({ capacity: 2 })
      const one = yield* Cache.make(backend, { prefix: "one", local })
      const two = yield* Cache.make(backend, { prefix: "two", local })
      yield* one.set("a", 1)
      yield* two.set("b", 2)
      yield* two.set("c", 3)
      expect(tag(yield* one.get("a"))).toBe("CacheMiss")
      expect(tag(yield* two.get("b"))).toBe("CacheHit")
    })
  )
})
