/**
 * Each package's public names, pinned: an export added or removed by accident fails here. A deliberate change
 * updates the list in the same commit (and the README, and the package's changelog when there is one).
 */
import { describe, expect, it } from "vitest"
import { packages, publicNames } from "./publicApi.js"

const expected: Record<(typeof packages)[number], ReadonlyArray<string>> = {
  core: [
    "Backend.Backend",
    "Backend.Entry",
    "Backend.SyncBackend",
    "Backend.ValueWithTimeToLive",
    "Backend.fromSync",
    "Cache.Cache",
    "Cache.CachedFunction",
    "Cache.CachedOptions",
    "Cache.JsonEncoded",
    "Cache.JsonSafe",
    "Cache.Lookup",
    "Cache.MetricRow",
    "Cache.RefreshOptions",
    "Cache.RequireJsonEncoded",
    "Cache.RequireJsonSafe",
    "Cache.add",
    "Cache.cached",
    "Cache.clear",
    "Cache.decrement",
    "Cache.defaultPrefix",
    "Cache.delete",
    "Cache.deleteMany",
    "Cache.deletePattern",
    "Cache.expire",
    "Cache.failOpen",
    "Cache.forSchema",
    "Cache.get",
    "Cache.getMany",
    "Cache.getOrSet",
    "Cache.has",
    "Cache.increment",
    "Cache.keys",
    "Cache.make",
    "Cache.metrics",
    "Cache.metricsSnapshot",
    "Cache.namespace",
    "Cache.parseTimeToLive",
    "Cache.persist",
    "Cache.ping",
    "Cache.refreshEvery",
    "Cache.set",
    "Cache.setMany",
    "Cache.timeToLive",
    "CacheError.CacheCommandError",
    "CacheError.CacheDecodeError",
    "CacheError.CacheEncodeError",
    "CacheError.CacheError",
    "CacheError.CacheInvalidInputError",
    "CacheError.CacheTimeoutError",
    "CacheError.CacheUnavailableError",
    "CacheError.Operation",
    "CacheError.TypeId",
    "CacheError.isCacheError",
    "CacheError.isRetryable",
    "CacheError.operations",
    "CacheKeyValueStore.Options",
    "CacheKeyValueStore.layer",
    "CacheKeyValueStore.make",
    "CacheResult.CacheHit",
    "CacheResult.CacheMiss",
    "CacheResult.CacheResult",
    "CacheResult.getOrElse",
    "CacheResult.hit",
    "CacheResult.isHit",
    "CacheResult.isMiss",
    "CacheResult.map",
    "CacheResult.match",
    "CacheResult.miss",
    "CacheResult.toOption",
    "Codec.Codec",
    "Codec.CodecFailure",
    "Codec.SchemaFailure",
    "Codec.json",
    "Codec.msgPack"
  ],
  memory: ["MemoryCache.MemoryCacheOptions", "MemoryCache.layer", "MemoryCache.make", "MemoryCache.makeBackend"],
  redis: [
    "RedisCache.CircuitBreakerOptions",
    "RedisCache.RedisAddress",
    "RedisCache.RedisCacheClientOptions",
    "RedisCache.RedisCacheOptions",
    "RedisCache.RedisClusterOptions",
    "RedisCache.RedisSentinelOptions",
    "RedisCache.fromEnvironment",
    "RedisCache.layer",
    "RedisCache.layerConfig",
    "RedisCache.layerFromClient",
    "RedisCache.make",
    "RedisCache.makeBackend",
    "RedisCache.makeBackendFromClient"
  ],
  testing: ["CacheSuite.Options", "CacheSuite.run", "KeyValueStoreSuite.run"]
}

describe("public names", () => {
  const actual = publicNames()
  for (const name of packages) {
    it(`@cachet/${name} exports exactly its public names`, () => {
      expect(actual[name]).toEqual(expected[name])
    })
  }
})
