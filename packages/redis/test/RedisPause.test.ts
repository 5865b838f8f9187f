/**
 * Reads while writes are paused (`CLIENT PAUSE WRITE`, what operators and FAILOVER do) and on a read-only replica,
 * on servers of our own: standalone, a three-master Cluster and through Sentinel, with batching on and off. Every
 * read answers its hit within the command timeout; a write during the pause ends (typed, or done after the
 * unpause) instead of hanging. The pause is issued and lifted on connections of the test's own.
 */
import type * as Cache from "@cachet/core/Cache"
import * as CacheError from "@cachet/core/CacheError"
import * as CacheResult from "@cachet/core/CacheResult"
import { bounded, call, sentinel, server, startCluster, uniquePrefix, until } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"

const keys = Array.from({ length: 32 }, (_, i) => `k${i}`)
const hits = keys.map((key) => CacheResult.hit(key))
const hour = { timeToLive: "1 hour" } as const

const seed = (cache: Cache.Cache.Service) =>
  cache.setMany(
    keys.map((key) => [key, key] as const),
    hour
  )

/** Writes paused on `ports` for far longer than the reads take, lifted when the scope closes. */
const pauseWrites = (ports: ReadonlyArray<number>) =>
  Effect.acquireRelease(
    Effect.forEach(ports, (port) => Effect.promise(() => call(port, "CLIENT", "PAUSE", "5000", "WRITE"))),
    () => Effect.forEach(ports, (port) => Effect.promise(() => call(port, "CLIENT", "UNPAUSE")))
  )

const all = <A, E>(effects: ReadonlyArray<Effect.Effect<A, E>>) =>
  bounded(Effect.all(effects, { concurrency: "unbounded" }), "5 seconds")

const noLookup = Effect.dieMessage("the lookup ran although the value is cached")

/** Every kind of read of the seeded keys, 32 at once: each answers its hit (a timeout would fail it). */
const readsAnswer = (cache: Cache.Cache.Service) =>
  Effect.gen(function* () {
    expect(yield* all(keys.map((key) => cache.get(key)))).toEqual(hits)
    expect(yield* bounded(cache.getMany(keys))).toEqual(hits)
    expect(yield* all(keys.map((key) => cache.getOrSet(key, noLookup, hour)))).toEqual(keys)
    const stale = { ...hour, staleWhileRevalidate: "1 minute" } as const
    expect(yield* all(keys.map((key) => cache.getOrSet(key, noLookup, stale)))).toEqual(keys)
    expect(yield* all(keys.map((key) => cache.has(key)))).toEqual(keys.map(() => true))
    const remaining = yield* all(keys.map((key) => cache.timeToLive(key)))
    expect(remaining.every((r) => CacheResult.isHit(r) && Option.isSome(r.value))).toBe(true)
    // Another batch of gets after all those: nothing was held up behind a paused command.
    expect(yield* all(keys.map((key) => cache.get(key)))).toEqual(hits)
  })

/** A write during the pause fails typed or completes; it never hangs. */
const writeEnds = (cache: Cache.Cache.Service) =>
  Effect.gen(function* () {
    const exit = yield* bounded(Effect.exit(cache.set("written", 1)), "10 seconds")
    if (Exit.isFailure(exit)) {
      const failure = Cause.failureOption(exit.cause)
      expect(Option.isSome(failure) && CacheError.isCacheError(failure.value)).toBe(true)
    }
  })

const modes = [true, false] as const

describe("reads while writes are paused", () => {
  for (const batching of modes) {
    it.scopedLive(`standalone, batching ${batching ? "on" : "off"}`, () =>
      Effect.gen(function* () {
        const s = yield* server()
        const cache = yield* RedisCache.make({ url: s.url, prefix: uniquePrefix("pause"), batching })
        yield* seed(cache)
        yield* pauseWrites([s.port])
        yield* readsAnswer(cache)
        yield* writeEnds(cache)
      })
    )
  }

  it.scopedLive("through Sentinel, batching on and off", () =>
    Effect.gen(function* () {
      const group = yield* sentinel
      const master = yield* Effect.promise(() => group.master())
      const prefix = uniquePrefix("pause-sentinel")
      const caches = yield* Effect.forEach(modes, (batching) =>
        RedisCache.make({ sentinel: { sentinels: group.sentinels, name: group.name }, prefix, batching })
      )
      yield* Effect.forEach(caches, seed)
      yield* pauseWrites([master])
      yield* Effect.forEach(caches, readsAnswer)
      yield* Effect.forEach(caches, writeEnds)
    })
  )

  it.scopedLive("on a Cluster with every master paused (a Cluster never batches)", () =>
    Effect.gen(function* () {
      const local = yield* Effect.acquireRelease(
        Effect.promise(() => startCluster({ replicas: false })),
        (c) => Effect.promise(() => c.stop())
      )
      const cache = yield* RedisCache.make({
        cluster: { nodes: local.nodes },
        prefix: uniquePrefix("pause-cluster"),
        commandTimeout: "2 seconds"
      })
      yield* seed(cache)
      yield* pauseWrites(local.ports)
      yield* readsAnswer(cache)
      yield* writeEnds(cache)
    })
  )
})

describe("reads on a read-only replica", () => {
  it.scopedLive("answer, batching on and off", () =>
    Effect.gen(function* () {
      const primary = yield* server(["--repl-diskless-sync-delay", "0"])
      const replica = yield* server([
        "--replicaof",
        "127.0.0.1",
        String(primary.port),
        // Load the first sync straight into memory: no RDB file left in the working directory.
        "--repl-diskless-load",
        "on-empty-db"
      ])
      const prefix = uniquePrefix("replica")
      yield* seed(yield* RedisCache.make({ url: primary.url, prefix }))
      const last = `${prefix}${keys.at(-1)}`
      yield* Effect.promise(() =>
        until("the replica has the keys", async () => (await call(replica.port, "GET", last)) !== null)
      )
      for (const batching of modes) {
        yield* readsAnswer(yield* RedisCache.make({ url: replica.url, prefix, batching }))
      }
    })
  )
})
