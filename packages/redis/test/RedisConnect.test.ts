/**
 * A standalone connection pointed at a Cluster node: refused at startup with the way out, and, through a client the
 * user built, a MOVED reply is a mistake to fix rather than an outage to retry.
 */
import { Cache } from "@cachet/core"
import { bounded, cluster, externalUrl } from "@cachet/dev"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Redis } from "ioredis"

const fast = { connectTimeout: "2 seconds", commandTimeout: "1 second" } as const

describe.skipIf(externalUrl !== undefined)("a standalone connection to a Cluster node", () => {
  it.scopedLive("fails at startup naming cluster: { nodes }, and MOVED is not retryable", () =>
    Effect.gen(function* () {
      const c = yield* cluster({ replicas: false })
      const [node] = c.nodes
      if (node === undefined) return yield* Effect.dieMessage("no node")
      for (const options of [{ url: `redis://${node.host}:${node.port}` }, { host: node.host, port: node.port }]) {
        const error = yield* Effect.flip(bounded(Layer.build(RedisCache.layer({ ...options, ...fast })), "10 seconds"))
        expect(error).toMatchObject({ _tag: "CacheInvalidInputError", code: "INVALID_ARGUMENT" })
        expect(error.message).toContain("cluster: { nodes }")
        expect(error.message).toContain("REDIS_CLUSTER_NODES")
      }
      // The same node as a Cluster works.
      const cache = Context.get(
        yield* Layer.build(RedisCache.layer({ cluster: { nodes: [node] }, ...fast })),
        Cache.Cache
      )
      yield* cache.set("k", "v")

      const redis = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0 })
      redis.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.sync(() => redis.disconnect()))
      const own = Context.get(yield* Layer.build(RedisCache.layerFromClient(redis, fast)), Cache.Cache)
      // Keys over every master's slots: some answer MOVED on this one node.
      const outcomes = yield* Effect.forEach(["a", "b", "c", "d", "e", "f", "g", "h"], (key) =>
        Effect.either(own.get(key))
      )
      const failures = outcomes.flatMap((outcome) => (outcome._tag === "Left" ? [outcome.left] : []))
      expect(failures.length).toBeGreaterThan(0)
      for (const failure of failures) {
        expect(failure).toMatchObject({ _tag: "CacheCommandError", code: "COMMAND_FAILED" })
      }
    })
  )
})
