/**
 * Tags on the memory backend: the bookkeeping of 100,000 expiring tagged entries under `TestClock`, bookkeeping
 * beside a capacity, and the race of a write with an invalidation of its tag, forced at each step.
 */
import type { Backend } from "@cachet/core/Backend"
import * as Cache from "@cachet/core/Cache"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream, TestClock } from "effect"
import { MemoryCache } from "../src/index.js"
import * as MemoryBackend from "../src/internal/backend.js"
import { Store } from "../src/internal/store.js"

const unbounded = { capacity: Number.POSITIVE_INFINITY, maxBytes: Number.POSITIVE_INFINITY }

describe("MemoryCache tags", () => {
  it.scoped("the bookkeeping of 100,000 expiring tagged entries goes with them", () =>
    Effect.gen(function* () {
      const store = new Store(yield* Effect.clock, unbounded)
      const backend = MemoryBackend.make(store)
      const cache = yield* Cache.make(backend, { prefix: "app" })
      for (let batch = 0; batch < 100; batch++) {
        yield* cache.setMany(
          Array.from({ length: 1000 }, (_, i) => [`k-${batch}-${i}`, i] as const),
          { timeToLive: "1 minute", tags: ["t"] }
        )
      }
      // Entries, one record each, one index.
      expect(store.size).toBe(200_001)
      yield* TestClock.adjust("2 minutes")
      expect(Chunk.size(yield* Stream.runCollect(cache.keys()))).toBe(0)
      // Nothing is left behind: the scan above met every expired node and removed it.
      expect(store.size).toBe(0)
      yield* cache.set("live", 1, { tags: ["t"] })
      expect(store.size).toBe(3)
      expect(yield* cache.invalidateTags(["t"])).toBe(1)
      // The epoch stays, for racing writers, until it expires.
      expect(store.size).toBe(1)
      yield* TestClock.adjust("1 hour")
      yield* Stream.runDrain(backend.scan("*"))
      expect(store.size).toBe(0)
    })
  )

  it.scoped("with a capacity, tag indexes are never evicted: invalidation still finds what is left", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ capacity: 10 })
      for (let i = 0; i < 30; i++) yield* cache.set(`k${i}`, i, { tags: ["t"] })
      const present = Chunk.size(yield* Stream.runCollect(cache.keys()))
      expect(present).toBeGreaterThan(0)
      expect(yield* cache.invalidateTags(["t"])).toBe(present)
      expect(Chunk.size(yield* Stream.runCollect(cache.keys()))).toBe(0)
    })
  )

  it.scoped("a tagged entry takes one place of the capacity, as an untagged one does; a lock takes none", () =>
    Effect.gen(function* () {
      const cache = yield* MemoryCache.make({ capacity: 3 })
      for (const key of ["a", "b", "c"]) yield* cache.set(key, key, { tags: ["t"] })
      expect(yield* Effect.forEach(["a", "b", "c"], (key) => cache.has(key))).toEqual([true, true, true])
      // A lookup holding the lock of a fourth key (the lock is bookkeeping too) evicts only the oldest entry.
      expect(yield* cache.getOrSet("d", Effect.succeed("d"), { lock: true, tags: ["t"] })).toBe("d")
      expect(yield* Effect.forEach(["a", "b", "c", "d"], (key) => cache.has(key))).toEqual([false, true, true, true])
      expect(yield* cache.invalidateTags(["t"])).toBe(3)
    })
  )

  /** A backend whose first `setMany` runs `interleave` before or after it writes. */
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

  it.scoped("a write racing an invalidation of its tag does not survive it, at either step", () =>
    Effect.gen(function* () {
      const backend = yield* MemoryCache.makeBackend()
      const other = yield* Cache.make(backend, { prefix: "app" })
      let removed = -1
      const invalidation = Effect.map(other.invalidateTags(["t"]), (n) => {
        removed = n
      })
      for (const when of ["before", "after"] as const) {
        const writer = yield* Cache.make(interleaved(backend, when, invalidation), { prefix: "app" })
        yield* writer.set(`k-${when}`, 1, { tags: ["t"] })
        expect(removed).toBe(when === "before" ? 0 : 1)
        expect((yield* other.get(`k-${when}`))._tag).toBe("CacheMiss")
        expect(yield* backend.has(`app:k-${when}\u0000tags`)).toBe(false)
      }
      yield* other.invalidateTags(["t"])
      yield* other.set("newer", 1, { tags: ["t"] })
      expect(yield* other.invalidateTags(["t"])).toBe(1)
    })
  )
})
