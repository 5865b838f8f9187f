/**
 * ioredis 6.1 moves a RESP3 connection to a new socket when the server announces a maintenance (MOVING), with no
 * event: CLIENT TRACKING, which the server keeps per connection, would end unseen and the local tier would stop
 * hearing of writes. Cachet's own connections never take part. A client the user owns that may: without a mode the
 * layer says so once at warning level and keeps the tier coherent by the bus; with `invalidation: "tracking"` asked
 * explicitly it fails saying what to set. A client that cannot move is tracked.
 */

import * as Cache from "@cachet/core/Cache"
import { CacheInvalidInputError } from "@cachet/core/CacheError"
import { call, server, uniquePrefix } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis, type RedisOptions } from "ioredis"
import { arrives, hitValue, type LogLine, logged } from "./localTier.js"

const local = { capacity: 100, timeToLive: "1 minute" } as const

/** A client the test owns, quit with the scope. */
const ownClient = (port: number, options: Pick<RedisOptions, "protocol" | "maintNotifications"> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis({ host: "127.0.0.1", port, ...options })),
    (redis) => Effect.promise(() => redis.quit().catch(() => undefined))
  )

/** The cache of `layerFromClient`, built in the scope, with every line it logged meanwhile. */
const fromClient = (redis: Redis, options: RedisCache.RedisCacheClientOptions) =>
  logged(
    Effect.map(Layer.build(RedisCache.layerFromClient(redis, options)), (context) => Context.get(context, Cache.Cache))
  )

/** The tier of `cache` hears of a write by another client (`redis-cli`, say): only tracking tells it. */
const tracked = (cache: Cache.Cache.Service, port: number, prefix: string) =>
  Effect.gen(function* () {
    yield* cache.set("k", 1)
    expect(hitValue(yield* cache.get("k"))).toBe(1)
    yield* Effect.promise(() => call(port, "SET", `${prefix}k`, "2"))
    yield* arrives(Effect.map(cache.get("k"), hitValue), 2)
  })

const handoffWarnings = (lines: ReadonlyArray<LogLine>) =>
  lines.filter((line) => line.level === "WARN" && line.message.includes("maintNotifications"))

describe("a client ioredis may move on a maintenance notice", () => {
  it.scopedLive("a default client (RESP3, maintNotifications on): the bus, with one warning", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const prefix = uniquePrefix("handoff-bus")
      const [a, lines] = yield* fromClient(yield* ownClient(s.port), { prefix, local })
      const [b] = yield* fromClient(yield* ownClient(s.port), { prefix, local })
      expect(handoffWarnings(lines)).toHaveLength(1)
      // Cachet's own writers reach the other process's tier through the bus.
      yield* a.set("k", 1)
      expect(hitValue(yield* b.get("k"))).toBe(1)
      yield* a.set("k", 2)
      yield* arrives(Effect.map(b.get("k"), hitValue), 2)
    })
  )

  it.scopedLive("tracking asked explicitly fails the layer, saying what to set", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const redis = yield* ownClient(s.port)
      const error = yield* Effect.flip(
        fromClient(redis, { prefix: uniquePrefix("handoff"), local: { ...local, invalidation: "tracking" } })
      )
      expect(error).toBeInstanceOf(CacheInvalidInputError)
      expect(error.message).toContain('maintNotifications: "disabled"')
      expect(error.message).toContain('"bus"')
    })
  )

  it.scopedLive(
    "a client with maintNotifications disabled, or on RESP2, is tracked: a foreign SET reaches the tier",
    () =>
      Effect.gen(function* () {
        const s = yield* server()
        for (const options of [{ maintNotifications: "disabled" }, { protocol: 2 }] as const) {
          const prefix = uniquePrefix("handoff-tracked")
          const [cache, lines] = yield* fromClient(yield* ownClient(s.port, options), {
            prefix,
            local: { ...local, invalidation: "tracking" }
          })
          expect(handoffWarnings(lines)).toHaveLength(0)
          yield* tracked(cache, s.port, prefix)
        }
      })
  )

  it.scopedLive("Cachet's own connection is tracked without a warning", () =>
    Effect.gen(function* () {
      const s = yield* server()
      const prefix = uniquePrefix("handoff-own")
      const [cache, lines] = yield* logged(RedisCache.make({ url: s.url, prefix, local }))
      expect(handoffWarnings(lines)).toHaveLength(0)
      yield* tracked(cache, s.port, prefix)
    })
  )
})
