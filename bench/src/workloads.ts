/**
 * The timed workloads. Every peer's loop does the same thing in its own idiom: the sequential ones await one
 * operation at a time (in one `Effect.gen` loop for the Effect peers); the in-flight ones keep 64 operations
 * pending (64 async workers, or 64 fibers, sharing one counter). Every get-hit run checks that it hit.
 */
import type { Cache } from "@cachet/core"
import * as Effect from "effect/Effect"
import { batchOf, keyAt, ORDER_MASK, order, valueAt } from "./data.js"
import type { Peer } from "./measure.js"
import { type Peers, TTL_MS } from "./peers.js"

export const IN_FLIGHT = 64
export const BATCH = 100

const missed = (name: string, misses: number): Promise<void> =>
  misses === 0 ? Promise.resolve() : Promise.reject(new Error(`${name}: ${misses} get-hits missed`))

export const inFlight = async (ops: number, op: (i: number) => Promise<unknown>): Promise<void> => {
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      if (i >= ops) return
      await op(i)
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
}

/**
 * The floor of any cache that stores values encoded and answers with an Effect, as the memory
 * backend does: one `Effect.sync` step around lru-cache plus `JSON.parse` (or `JSON.stringify`), with nothing else.
 */
export const ENCODED_GET_FLOOR = "Effect.sync(JSON.parse(lru.get)) loop"
export const ENCODED_SET_FLOOR = "Effect.sync(lru.set(JSON.stringify)) loop"

export const inFlightEffect = <E>(ops: number, op: (i: number) => Effect.Effect<unknown, E>): Effect.Effect<void, E> =>
  Effect.suspend(() => {
    let next = 0
    const worker = Effect.gen(function* () {
      for (;;) {
        const i = next++
        if (i >= ops) return
        yield* op(i)
      }
    })
    return Effect.all(
      Array.from({ length: IN_FLIGHT }, () => worker),
      { concurrency: "unbounded", discard: true }
    )
  })

const sequentialEffect = <E>(ops: number, op: (i: number) => Effect.Effect<unknown, E>): Effect.Effect<void, E> =>
  Effect.gen(function* () {
    for (let i = 0; i < ops; i++) yield* op(i)
  })

const isHit = (result: { readonly _tag: string }): boolean => result._tag === "CacheHit"

/** Raw ioredis keys in the shared order. */
const rawKeyAt = (p: Peers, i: number): string => p.rawKeys[order[i & ORDER_MASK] ?? 0] ?? ""

const setOptions: Cache.Cache.SetOptions = { timeToLive: TTL_MS }
const taggedOptions: Cache.Cache.SetOptions = { timeToLive: TTL_MS, tags: ["bench"] }

// ---------------------------------------------------------------------------------------------------------------
// In memory

export const memoryGetHit = (p: Peers): ReadonlyArray<Peer> => [
  {
    name: "lru-cache",
    run: async (ops) => {
      let misses = 0
      for (let i = 0; i < ops; i++) if (p.lru.get(keyAt(i)) === undefined) misses++
      return missed("lru-cache", misses)
    }
  },
  {
    name: "Effect.sync(lru.get) loop",
    run: (ops) => {
      let misses = 0
      return Effect.runPromise(
        Effect.gen(function* () {
          for (let i = 0; i < ops; i++) {
            const value = yield* Effect.sync(() => p.lru.get(keyAt(i)))
            if (value === undefined) misses++
          }
        })
      ).then(() => missed("Effect floor", misses))
    }
  },
  {
    name: ENCODED_GET_FLOOR,
    run: (ops) => {
      let misses = 0
      return Effect.runPromise(
        Effect.gen(function* () {
          for (let i = 0; i < ops; i++) {
            const value: unknown = yield* Effect.sync(() => {
              const text = p.lruJson.get(keyAt(i))
              return text === undefined ? undefined : JSON.parse(text)
            })
            if (value === undefined) misses++
          }
        })
      ).then(() => missed("encoded floor", misses))
    }
  },
  {
    name: "effect/Cache",
    run: (ops) => {
      const before = p.effectCacheLookups()
      return Effect.runPromise(sequentialEffect(ops, (i) => p.effectCache.get(keyAt(i)))).then(() =>
        missed("effect/Cache", p.effectCacheLookups() - before)
      )
    }
  },
  {
    name: "bentocache L1",
    run: async (ops) => {
      let misses = 0
      for (let i = 0; i < ops; i++) if ((await p.bentoMemory.get({ key: keyAt(i) })) === undefined) misses++
      return missed("bentocache L1", misses)
    }
  },
  {
    name: "cache-manager memory",
    run: async (ops) => {
      let misses = 0
      for (let i = 0; i < ops; i++) if ((await p.managerMemory.get(keyAt(i))) === undefined) misses++
      return missed("cache-manager memory", misses)
    }
  },
  cachetMemoryGet("Cachet memory", p.cachetMemory),
  cachetMemoryGet("Cachet memory (metrics, spans off)", p.cachetMemoryBare),
  // The same entries written with tags: a read costs nothing for them.
  cachetMemoryGet("Cachet memory, tagged entries", p.cachetMemoryTagged),
  cachetMemoryGet("Cachet local tier", p.cachetLocal),
  cachetMemoryGet("Cachet local tier, schema view", p.cachetLocalTyped)
]

const cachetMemoryGet = <A>(name: string, cache: Cache.Cache.View<A>): Peer => ({
  name,
  run: (ops) => {
    let misses = 0
    return Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < ops; i++) if (!isHit(yield* cache.get(keyAt(i)))) misses++
      })
    ).then(() => missed(name, misses))
  }
})

export const memorySet = (p: Peers): ReadonlyArray<Peer> => [
  {
    name: "lru-cache",
    run: async (ops) => {
      for (let i = 0; i < ops; i++) p.lru.set(keyAt(i), valueAt(i), { ttl: TTL_MS })
    }
  },
  {
    name: "Effect.sync(lru.set) loop",
    run: (ops) =>
      Effect.runPromise(
        sequentialEffect(ops, (i) => Effect.sync(() => p.lru.set(keyAt(i), valueAt(i), { ttl: TTL_MS })))
      )
  },
  {
    name: ENCODED_SET_FLOOR,
    run: (ops) =>
      Effect.runPromise(
        sequentialEffect(ops, (i) =>
          Effect.sync(() => p.lruJson.set(keyAt(i), JSON.stringify(valueAt(i)), { ttl: TTL_MS }))
        )
      )
  },
  {
    name: "effect/Cache",
    run: (ops) => Effect.runPromise(sequentialEffect(ops, (i) => p.effectCache.set(keyAt(i), valueAt(i))))
  },
  {
    name: "bentocache L1",
    run: async (ops) => {
      for (let i = 0; i < ops; i++) await p.bentoMemory.set({ key: keyAt(i), value: valueAt(i), ttl: TTL_MS })
    }
  },
  {
    name: "cache-manager memory",
    run: async (ops) => {
      for (let i = 0; i < ops; i++) await p.managerMemory.set(keyAt(i), valueAt(i), TTL_MS)
    }
  },
  {
    name: "Cachet memory",
    run: (ops) => Effect.runPromise(sequentialEffect(ops, (i) => p.cachetMemory.set(keyAt(i), valueAt(i), setOptions)))
  },
  {
    name: "Cachet memory (metrics, spans off)",
    run: (ops) =>
      Effect.runPromise(sequentialEffect(ops, (i) => p.cachetMemoryBare.set(keyAt(i), valueAt(i), setOptions)))
  },
  {
    name: "Cachet memory, tagged writes",
    run: (ops) =>
      Effect.runPromise(sequentialEffect(ops, (i) => p.cachetMemoryTagged.set(keyAt(i), valueAt(i), taggedOptions)))
  }
]

export const memoryGetOrSet = (p: Peers): ReadonlyArray<Peer> => {
  const fallback = Effect.sync(() => {
    throw new Error("getOrSet hit path ran its lookup")
  })
  return [
    {
      name: "effect/Cache get",
      run: (ops) => {
        const before = p.effectCacheLookups()
        return Effect.runPromise(sequentialEffect(ops, (i) => p.effectCache.get(keyAt(i)))).then(() =>
          missed("effect/Cache", p.effectCacheLookups() - before)
        )
      }
    },
    {
      name: "bentocache L1 getOrSet",
      run: async (ops) => {
        const factory = () => {
          throw new Error("bentocache getOrSet hit path ran its factory")
        }
        for (let i = 0; i < ops; i++) await p.bentoMemory.getOrSet({ key: keyAt(i), factory, ttl: TTL_MS })
      }
    },
    {
      name: "cache-manager memory wrap",
      run: async (ops) => {
        const factory = () => Promise.reject(new Error("cache-manager wrap hit path ran its function"))
        for (let i = 0; i < ops; i++) await p.managerMemory.wrap(keyAt(i), factory, TTL_MS)
      }
    },
    {
      name: "Cachet memory getOrSet",
      run: (ops) => Effect.runPromise(sequentialEffect(ops, (i) => p.cachetMemory.getOrSet(keyAt(i), fallback)))
    }
  ]
}

// ---------------------------------------------------------------------------------------------------------------
// Redis

const parseOrMiss = (text: string | null): number => {
  if (text === null) return 1
  JSON.parse(text)
  return 0
}

export const redisGetSequential = (p: Peers): ReadonlyArray<Peer> => [
  {
    name: "ioredis",
    run: async (ops) => {
      let misses = 0
      for (let i = 0; i < ops; i++) misses += parseOrMiss(await p.ioredis.get(rawKeyAt(p, i)))
      return missed("ioredis", misses)
    }
  },
  {
    name: "ioredis auto-pipelining",
    run: async (ops) => {
      let misses = 0
      for (let i = 0; i < ops; i++) misses += parseOrMiss(await p.ioredisAuto.get(rawKeyAt(p, i)))
      return missed("ioredis auto", misses)
    }
  },
  {
    name: "bentocache L2",
    run: async (ops) => {
      let misses = 0
      for (let i = 0; i < ops; i++) if ((await p.bentoRedis.get({ key: keyAt(i) })) === undefined) misses++
      return missed("bentocache L2", misses)
    }
  },
  {
    name: "cache-manager + @keyv/redis",
    run: async (ops) => {
      let misses = 0
      for (let i = 0; i < ops; i++) if ((await p.managerRedis.get(keyAt(i))) === undefined) misses++
      return missed("cache-manager redis", misses)
    }
  },
  cachetRedisGet("Cachet Redis", p.cachetRedis),
  // The same entries written with tags: a read costs nothing for them.
  cachetRedisGet("Cachet Redis, tagged entries", p.cachetRedisTagged)
]

const cachetRedisGet = (name: string, cache: Cache.Cache.Service): Peer => ({
  name,
  run: (ops) => {
    let misses = 0
    return Effect.runPromise(
      sequentialEffect(ops, (i) =>
        Effect.map(cache.get(keyAt(i)), (result) => {
          if (!isHit(result)) misses++
        })
      )
    ).then(() => missed(name, misses))
  }
})

export const redisGetInFlight = (p: Peers): ReadonlyArray<Peer> => {
  const counted =
    (name: string, get: (i: number) => Promise<unknown>): Peer["run"] =>
    async (ops) => {
      let misses = 0
      await inFlight(ops, (i) =>
        get(i).then((value) => {
          if (value === undefined || value === null) misses++
          else if (typeof value === "string") JSON.parse(value)
        })
      )
      return missed(name, misses)
    }
  return [
    { name: "ioredis", run: counted("ioredis", (i) => p.ioredis.get(rawKeyAt(p, i))) },
    { name: "ioredis auto-pipelining", run: counted("ioredis auto", (i) => p.ioredisAuto.get(rawKeyAt(p, i))) },
    { name: "bentocache L2", run: counted("bentocache L2", (i) => p.bentoRedis.get({ key: keyAt(i) })) },
    { name: "cache-manager + @keyv/redis", run: counted("cache-manager", (i) => p.managerRedis.get(keyAt(i))) },
    {
      name: "Cachet Redis",
      run: (ops) => {
        let misses = 0
        return Effect.runPromise(
          inFlightEffect(ops, (i) =>
            Effect.map(p.cachetRedis.get(keyAt(i)), (result) => {
              if (!isHit(result)) misses++
            })
          )
        ).then(() => missed("Cachet Redis", misses))
      }
    }
  ]
}

export const redisSetInFlight = (p: Peers): ReadonlyArray<Peer> => [
  {
    name: "ioredis",
    run: (ops) => inFlight(ops, (i) => p.ioredis.set(rawKeyAt(p, i), JSON.stringify(valueAt(i)), "PX", TTL_MS))
  },
  {
    name: "ioredis auto-pipelining",
    run: (ops) => inFlight(ops, (i) => p.ioredisAuto.set(rawKeyAt(p, i), JSON.stringify(valueAt(i)), "PX", TTL_MS))
  },
  {
    name: "bentocache L2",
    run: (ops) => inFlight(ops, (i) => p.bentoRedis.set({ key: keyAt(i), value: valueAt(i), ttl: TTL_MS }))
  },
  {
    name: "cache-manager + @keyv/redis",
    run: (ops) => inFlight(ops, (i) => p.managerRedis.set(keyAt(i), valueAt(i), TTL_MS))
  },
  {
    name: "Cachet Redis",
    run: (ops) => Effect.runPromise(inFlightEffect(ops, (i) => p.cachetRedis.set(keyAt(i), valueAt(i), setOptions)))
  },
  {
    name: "Cachet Redis, tagged writes",
    run: (ops) =>
      Effect.runPromise(inFlightEffect(ops, (i) => p.cachetRedisTagged.set(keyAt(i), valueAt(i), taggedOptions)))
  },
  {
    name: "Cachet Redis, local tier",
    run: (ops) =>
      Effect.runPromise(inFlightEffect(ops, (i) => p.cachetRedisLocal.set(keyAt(i), valueAt(i), setOptions)))
  }
]

/** Hot keys: 90% of the gets go to the first 100 keys of the shared order, the rest anywhere. */
const HOT = 100
const hotIndex = (i: number): number => (i % 10 === 9 ? i : i % HOT)

export const redisHotGetInFlight = (p: Peers): ReadonlyArray<Peer> => {
  const cachet = (name: string, cache: Cache.Cache.Service): Peer => ({
    name,
    run: (ops) => {
      let misses = 0
      return Effect.runPromise(
        inFlightEffect(ops, (i) =>
          Effect.map(cache.get(keyAt(hotIndex(i))), (result) => {
            if (!isHit(result)) misses++
          })
        )
      ).then(() => missed(name, misses))
    }
  })
  return [
    {
      name: "ioredis",
      run: async (ops) => {
        let misses = 0
        await inFlight(ops, (i) =>
          p.ioredis.get(rawKeyAt(p, hotIndex(i))).then((value) => {
            if (value === null) misses++
            else JSON.parse(value)
          })
        )
        return missed("ioredis", misses)
      }
    },
    cachet("Cachet Redis", p.cachetRedis),
    cachet("Cachet Redis, local tier", p.cachetRedisLocal)
  ]
}

const checkBatch = (name: string, answers: ReadonlyArray<unknown>): void => {
  if (answers.length !== BATCH) throw new Error(`${name}: getMany answered ${answers.length} of ${BATCH}`)
  for (const answer of answers) {
    if (answer === undefined || answer === null) throw new Error(`${name}: getMany missed`)
  }
}

export const redisGetMany = (p: Peers): ReadonlyArray<Peer> => {
  const rawBatches = Array.from({ length: 256 }, (_, i) => batchOf("raw:", i, BATCH))
  const batches = Array.from({ length: 256 }, (_, i) => batchOf("", i, BATCH))
  const mget = (redis: typeof p.ioredis, name: string) => async (ops: number) => {
    for (let i = 0; i < ops; i++) {
      const texts = await redis.mget(rawBatches[i & 255] ?? [])
      checkBatch(name, texts)
      for (const text of texts) if (text !== null) JSON.parse(text)
    }
  }
  return [
    { name: "ioredis MGET", run: mget(p.ioredis, "ioredis") },
    { name: "ioredis auto-pipelining MGET", run: mget(p.ioredisAuto, "ioredis auto") },
    {
      name: "cache-manager + @keyv/redis mget",
      run: async (ops) => {
        for (let i = 0; i < ops; i++) checkBatch("cache-manager", await p.managerRedis.mget(batches[i & 255] ?? []))
      }
    },
    {
      name: "Cachet Redis getMany",
      run: (ops) =>
        Effect.runPromise(
          sequentialEffect(ops, (i) =>
            Effect.map(p.cachetRedis.getMany(batches[i & 255] ?? []), (results) =>
              checkBatch(
                "Cachet",
                results.map((result) => (isHit(result) ? result : undefined))
              )
            )
          )
        )
    },
    {
      // Every key present: the batch cache-aside's hit path, one read per call (its lookup must never run).
      name: "Cachet Redis getOrSetMany",
      run: (ops) =>
        Effect.runPromise(
          sequentialEffect(ops, (i) =>
            Effect.map(p.cachetRedis.getOrSetMany(batches[i & 255] ?? [], noLookupMany), (values) =>
              checkBatch("Cachet getOrSetMany", values)
            )
          )
        )
    }
  ]
}

const noLookupMany = (): Effect.Effect<ReadonlyArray<unknown>> =>
  Effect.sync(() => {
    throw new Error("getOrSetMany hit path ran its lookup")
  })

export const redisGetOrSet = (p: Peers): ReadonlyArray<Peer> => {
  const fallback = Effect.sync(() => {
    throw new Error("getOrSet hit path ran its lookup")
  })
  return [
    {
      name: "bentocache L2 getOrSet",
      run: async (ops) => {
        const factory = () => {
          throw new Error("bentocache getOrSet hit path ran its factory")
        }
        for (let i = 0; i < ops; i++) await p.bentoRedis.getOrSet({ key: keyAt(i), factory, ttl: TTL_MS })
      }
    },
    {
      name: "cache-manager + @keyv/redis wrap",
      run: async (ops) => {
        const factory = () => Promise.reject(new Error("cache-manager wrap hit path ran its function"))
        for (let i = 0; i < ops; i++) await p.managerRedis.wrap(keyAt(i), factory, TTL_MS)
      }
    },
    {
      name: "Cachet Redis getOrSet",
      run: (ops) => Effect.runPromise(sequentialEffect(ops, (i) => p.cachetRedis.getOrSet(keyAt(i), fallback)))
    }
  ]
}
