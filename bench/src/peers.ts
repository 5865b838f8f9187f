/**
 * The peers, each built the way its documentation shows, each with keys and a prefix of its own, and each
 * pre-populated with the 10,000 keys through its own API (so that what is stored is in its own format).
 */
import type { Cache } from "@cachet/core"
import { MemoryCache } from "@cachet/memory"
import { RedisCache } from "@cachet/redis"
import KeyvRedis from "@keyv/redis"
import { BentoCache, bentostore } from "bentocache"
import { memoryDriver } from "bentocache/drivers/memory"
import { redisDriver } from "bentocache/drivers/redis"
import { type Cache as CacheManager, createCache } from "cache-manager"
import * as EffectCache from "effect/Cache"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { Keyv } from "keyv"
import { LRUCache } from "lru-cache"
import { KEY_COUNT, keys, prefixedKeys, type Value, valueFor, values } from "./data.js"

/** Every entry written by the bench lives this long: longer than any run, so that get-hits stay hits. */
export const TTL_MS = 3_600_000

/** The bench's values as a schema, for typed views. */
export const ValueSchema: Schema.Schema<Value> = Schema.Struct({
  id: Schema.Number,
  name: Schema.String,
  email: Schema.String,
  active: Schema.Boolean,
  score: Schema.Number,
  tags: Schema.Array(Schema.String)
})
export const CAPACITY = 100_000

export interface Peers {
  readonly lru: LRUCache<string, Value>
  /** lru-cache of JSON strings: what an ideal store of encoded values, like Cachet's, would do. */
  readonly lruJson: LRUCache<string, string>
  readonly effectCache: EffectCache.Cache<string, Value>
  /** How many times effect/Cache's lookup ran: a get-hit run must not add to it. */
  readonly effectCacheLookups: () => number
  readonly bentoMemory: BentoCache<{ memory: ReturnType<typeof bentostore> }>
  readonly bentoRedis: BentoCache<{ redis: ReturnType<typeof bentostore> }>
  readonly managerMemory: CacheManager
  readonly managerRedis: CacheManager
  readonly cachetMemory: Cache.Cache.Service
  readonly cachetMemoryBare: Cache.Cache.Service
  readonly cachetRedis: Cache.Cache.Service
  /** Cachet on memory and on Redis, every entry written with a tag. */
  readonly cachetMemoryTagged: Cache.Cache.Service
  readonly cachetRedisTagged: Cache.Cache.Service
  /** Cachet with a local tier (holding every key, read once) on memory and on Redis (tracking). */
  readonly cachetLocal: Cache.Cache.Service
  /** The same tier read through a schema view. */
  readonly cachetLocalTyped: Cache.Cache.View<Value>
  readonly cachetRedisLocal: Cache.Cache.Service
  readonly ioredis: Redis
  readonly ioredisAuto: Redis
  /** ioredis's keys, `raw:` + key. */
  readonly rawKeys: ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const populateEffect = (cache: Cache.Cache.Service, tags?: ReadonlyArray<string>) =>
  cache.setMany(
    keys.map((key, i) => [key, values[i]] as const),
    { timeToLive: TTL_MS, tags }
  )

export const makePeers = async (redisUrl: string): Promise<Peers> => {
  const scope = Effect.runSync(Scope.make())
  const inScope = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) => Effect.runPromise(Scope.extend(effect, scope))

  const lru = new LRUCache<string, Value>({ max: CAPACITY })
  for (let i = 0; i < KEY_COUNT; i++) lru.set(keys[i] ?? "", values[i] ?? valueFor(i), { ttl: TTL_MS })
  const lruJson = new LRUCache<string, string>({ max: CAPACITY })
  for (let i = 0; i < KEY_COUNT; i++) lruJson.set(keys[i] ?? "", JSON.stringify(values[i]), { ttl: TTL_MS })

  let lookups = 0
  const effectCache = await Effect.runPromise(
    EffectCache.make({
      capacity: CAPACITY,
      timeToLive: Duration.millis(TTL_MS),
      lookup: (key: string) =>
        Effect.sync(() => {
          lookups++
          return valueFor(Number(key.slice(2)))
        })
    })
  )
  await Effect.runPromise(Effect.forEach(keys, (key) => effectCache.get(key), { discard: true }))

  const bentoMemory = new BentoCache({
    default: "memory",
    stores: { memory: bentostore().useL1Layer(memoryDriver({ maxItems: CAPACITY })) }
  })
  for (let i = 0; i < KEY_COUNT; i++) await bentoMemory.set({ key: keys[i] ?? "", value: values[i], ttl: TTL_MS })

  const bentoConnection = new Redis(redisUrl)
  const bentoRedis = new BentoCache({
    default: "redis",
    stores: { redis: bentostore().useL2Layer(redisDriver({ connection: bentoConnection, prefix: "bento" })) }
  })
  for (let i = 0; i < KEY_COUNT; i++) await bentoRedis.set({ key: keys[i] ?? "", value: values[i], ttl: TTL_MS })

  const managerMemory = createCache()
  await managerMemory.mset(keys.map((key, i) => ({ key, value: values[i], ttl: TTL_MS })))

  const managerRedis = createCache({ stores: [new Keyv({ store: new KeyvRedis(redisUrl), namespace: "cm" })] })
  await managerRedis.mset(keys.map((key, i) => ({ key, value: values[i], ttl: TTL_MS })))

  const cachetMemory = await inScope(MemoryCache.make({ capacity: CAPACITY }))
  const cachetMemoryBare = await inScope(MemoryCache.make({ capacity: CAPACITY, metrics: false, spans: false }))
  const cachetRedis = await inScope(RedisCache.make({ url: redisUrl, prefix: "cachet-bench:" }))
  for (const cache of [cachetMemory, cachetMemoryBare, cachetRedis]) await Effect.runPromise(populateEffect(cache))
  const cachetMemoryTagged = await inScope(MemoryCache.make({ capacity: CAPACITY }))
  const cachetRedisTagged = await inScope(RedisCache.make({ url: redisUrl, prefix: "cachet-bench-tagged:" }))
  for (const cache of [cachetMemoryTagged, cachetRedisTagged]) {
    await Effect.runPromise(populateEffect(cache, ["bench"]))
  }

  const local = { capacity: CAPACITY, timeToLive: TTL_MS } as const
  const cachetLocal = await inScope(MemoryCache.make({ capacity: CAPACITY, local }))
  const cachetLocalTyped = cachetLocal.forSchema(ValueSchema)
  const cachetRedisLocal = await inScope(RedisCache.make({ url: redisUrl, prefix: "cachet-bench-local:", local }))
  for (const cache of [cachetLocal, cachetRedisLocal]) await Effect.runPromise(populateEffect(cache))
  // Each view's tier holds every key decoded once, as after a first read.
  await Effect.runPromise(Effect.forEach(keys, (key) => cachetLocal.get(key), { discard: true }))
  await Effect.runPromise(Effect.forEach(keys, (key) => cachetLocalTyped.get(key), { discard: true }))
  await Effect.runPromise(Effect.forEach(keys, (key) => cachetRedisLocal.get(key), { discard: true }))

  const ioredis = new Redis(redisUrl)
  const ioredisAuto = new Redis(redisUrl, { enableAutoPipelining: true })
  const rawKeys = prefixedKeys("raw:")
  const pipeline = ioredis.pipeline()
  for (let i = 0; i < KEY_COUNT; i++) pipeline.set(rawKeys[i] ?? "", JSON.stringify(values[i]), "PX", TTL_MS)
  await pipeline.exec()

  return {
    lru,
    lruJson,
    effectCache,
    effectCacheLookups: () => lookups,
    bentoMemory,
    bentoRedis,
    managerMemory,
    managerRedis,
    cachetMemory,
    cachetMemoryBare,
    cachetRedis,
    cachetMemoryTagged,
    cachetRedisTagged,
    cachetLocal,
    cachetLocalTyped,
    cachetRedisLocal,
    ioredis,
    ioredisAuto,
    rawKeys,
    close: async () => {
      await bentoMemory.disconnect()
      await bentoRedis.disconnect()
      bentoConnection.disconnect()
      await managerMemory.disconnect()
      await managerRedis.disconnect()
      ioredis.disconnect()
      ioredisAuto.disconnect()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}
