/**
 * The differential test: the same generated operation sequences run against the memory backend and a real Redis
 * server must give the same answers. Both run in real time (the memory backend reads the live clock here), and
 * after any write with a very short time-to-live both wait until it has surely expired, so that the comparison
 * never depends on which millisecond a command landed in.
 */

import { admin, anyServer, uniquePrefix } from "@cachet/dev"
import { MemoryCache } from "@cachet/memory"
import { RedisCache } from "@cachet/redis"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { answer, getManyAndEachGet, names, sequence, waitsOut } from "./operations.js"

describe("MemoryCache and RedisCache give the same answers", () => {
  it.scopedLive(
    "on generated operation sequences",
    () =>
      Effect.gen(function* () {
        const { url } = yield* anyServer
        const redis = yield* RedisCache.makeBackend({ url })
        const other = yield* admin(url)
        const property = FastCheck.asyncProperty(sequence, (ops) =>
          Effect.runPromise(
            Effect.gen(function* () {
              const memory = yield* MemoryCache.makeBackend()
              const prefix = uniquePrefix("diff")
              const onMemory: Array<unknown> = []
              const onRedis: Array<unknown> = []
              for (const o of ops) {
                onMemory.push(yield* answer(memory, prefix, o))
                onRedis.push(yield* answer(redis, prefix, o))
                if (waitsOut(o)) yield* Effect.sleep("20 millis")
              }
              // Another client writes a list, which only Redis can hold: there `get` of it fails WRONG_TYPE, and so
              // must `getMany` of any keys among which it is (MGET would answer nil); on both, as `get` of each key.
              yield* Effect.promise(() => other.rpush(`${prefix}list`, "x"))
              const keys = [...names, "list", names[0] ?? "a"].map((name) => prefix + name)
              const [manyOnMemory, eachOnMemory] = yield* getManyAndEachGet(memory, keys)
              const [manyOnRedis, eachOnRedis] = yield* getManyAndEachGet(redis, keys)
              const leftovers = yield* Stream.runCollect(redis.scan(`${prefix}*`))
              yield* redis.delete(Chunk.toReadonlyArray(leftovers).flat())
              expect(onMemory).toEqual(onRedis)
              expect(manyOnMemory).toEqual(eachOnMemory)
              expect(manyOnRedis).toEqual(eachOnRedis)
              expect(manyOnRedis).toEqual({ error: "CacheCommandError:WRONG_TYPE" })
            })
          )
        )
        yield* Effect.promise(() => FastCheck.assert(property, { numRuns: 200 }))
      }),
    60_000
  )
})
